#!/usr/bin/env bash
# Runs the helm that `scripts/build-kube.sh tools` builds (pinned HELM_VERSION, cached under
# $ACCEL_CACHE), so tests and people use the same one.
#   scripts/helm.sh ARGS...     exec helm ARGS...
#   scripts/helm.sh --path      print the binary's path
source "$(dirname "$0")/lib.sh"
helm="$ACCEL_CACHE/bin/tools-helm-$HELM_VERSION-kwok-$KWOK_VERSION/helm"
[ -x "$helm" ] || die "helm $HELM_VERSION is not built: run scripts/build-kube.sh tools"
if [ "${1:-}" = "--path" ]; then echo "$helm"; exit 0; fi
exec "$helm" "$@"

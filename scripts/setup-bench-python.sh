#!/usr/bin/env bash
# Creates (once) the Python virtual environment that bench/ compares Accel against: PyTorch
# (torchrun + DistributedDataParallel) and Hugging Face Accelerate, plus numpy and matplotlib for
# the report's plots.
#
# torch is the full PyPI wheel, the same build setup-libtorch.sh takes LibTorch from, so both
# sides run the same kernels. `import torch` loads libtorch_cuda.so, which needs the nvidia-*
# runtime wheels, so those come along (~3 GB) although the benchmarks use the CPU only.
#
# The venv lives at ${ACCEL_CACHE}/venv-bench-<hash of Python version and the pins>: changing a
# pin makes a new one, an unchanged pin reuses it. Idempotent: when the venv exists and its
# completion marker is present, nothing is installed. Prints the venv path on stdout (last line).
source "$(dirname "$0")/lib.sh"

# Pinned versions (Python 3.11). accelerate 1.15.0 is the newest release and supports torch 2.11;
# numpy 2.4.x is the newest line that still ships cp311 wheels.
REQUIREMENTS="torch==$TORCH_VERSION
accelerate==1.15.0
numpy==2.4.6
matplotlib==3.11.2"

if cached_venv bench "$REQUIREMENTS"; then
  log "benchmark Python present in $VENV"
  echo "$VENV"
  exit 0
fi
log "torch $TORCH_VERSION with its CUDA runtime wheels: a ~3 GB download, once"
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
# setup-libtorch.sh may already hold the torch wheel: let pip take it from there.
find_links=()
[ -d "$ACCEL_CACHE/downloads/torch" ] && find_links=(--find-links "$ACCEL_CACHE/downloads/torch")
"$VENV/bin/python" -m pip install --quiet "${find_links[@]}" -r "$VENV/requirements.txt" >&2 \
  || die "pip install of the pinned benchmark packages failed (see above)"
"$VENV/bin/python" - >&2 <<'PY' || die "the benchmark packages do not import"
import torch, torch.distributed as dist, accelerate, numpy, matplotlib  # noqa: F401
assert dist.is_gloo_available(), "torch.distributed has no gloo backend"
print("torch", torch.__version__, "accelerate", accelerate.__version__)
PY
[ -x "$VENV/bin/torchrun" ] || die "torchrun is missing from $VENV"
[ -x "$VENV/bin/accelerate" ] || die "the accelerate CLI is missing from $VENV"
touch "$MARKER"
log "benchmark Python installed in $VENV"
echo "$VENV"

#!/usr/bin/env bash
# The prepared GPU check: runs on a lent GPU machine (one H200 here: 16 cores, Python 3.12 with
# torch 2.11.0+cu130, no Debian dev packages, no network) what the CPU machine built. Fits in
# 8 minutes; prints a summary and writes $OUT/gpu-check.json (build/gpu-check without $OUT).
#
#   here:            bash scripts/gpu-bundle.sh                 # builds and packs build/gpu-bundle
#   on the GPU:      bash scripts/gpu-check.sh                  # carry build/gpu-bundle along
#   rehearsal here:  bash scripts/gpu-check.sh --rehearse       # CPU, the bench venv's torch
#
# ACCEL_GPU_PYTHON picks the Python whose torch serves the binaries (default: python3, or the
# bench venv for --rehearse). What it checks: scripts/gpu_check.py and docs/cuda.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${ACCEL_GPU_PYTHON:-}"
if [ -z "$py" ]; then
  py=python3
  if [ "${1:-}" = --rehearse ]; then
    py="$(bash "$root/scripts/setup-bench-python.sh" | tail -1)/bin/python"
  fi
fi
"$py" -c 'import torch' 2>/dev/null || { echo "gpu-check: $py has no torch" >&2; exit 2; }
[ -x "$root/build/gpu-bundle/bin/accel-train-gpt" ] ||
  { echo "gpu-check: no build/gpu-bundle: run scripts/gpu-bundle.sh on the CPU machine and carry it" >&2; exit 2; }
exec "$py" "$root/scripts/gpu_check.py" "$@"

#!/usr/bin/env bash
# The kohya-style example on the accel Python package vs on Hugging Face Accelerate, 2 ranks on
# this machine, in one run (bench/python/accel_vs_accelerate.py says how it measures).
# BENCH_REPS (3), BENCH_PRECISION (no), BENCH_SAMPLES (8192) change the workload.
# Writes bench/results/python_accel_vs_accelerate.{md,json}.
source "$(dirname "$0")/../scripts/lib.sh"
BUILD="${ACCEL_BENCH_BUILD:-$ACCEL_ROOT/build/release}"
bash "$ACCEL_ROOT/scripts/build.sh" accel_python accel-cli >&2
VENV="$("$ACCEL_ROOT/scripts/setup-bench-python.sh" | tail -1)"
exec "$VENV/bin/python" "$ACCEL_ROOT/bench/python/accel_vs_accelerate.py" --cli "$BUILD/cli/accel" \
  --package-dir "$BUILD/python" --examples "$ACCEL_ROOT/examples/python" \
  --out "$ACCEL_ROOT/bench/results/python_accel_vs_accelerate" --reps "${BENCH_REPS:-3}" \
  --precision "${BENCH_PRECISION:-no}" --samples "${BENCH_SAMPLES:-8192}"

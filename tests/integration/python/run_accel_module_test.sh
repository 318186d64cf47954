#!/usr/bin/env bash
# ctest accel_module_test: accel_module_test.py with the bench venv's Python (the real torch and
# accelerate; $ACCEL_BENCH_VENV overrides) and the trackers venv's TensorBoard reader
# ($ACCEL_TRACKERS_VENV overrides). Both are made once by their scripts, then only found.
set -euo pipefail
root="$ACCEL_SOURCE_DIR"
bench="${ACCEL_BENCH_VENV:-$(bash "$root/scripts/setup-bench-python.sh" | tail -1)}"
trackers="${ACCEL_TRACKERS_VENV:-$(bash "$root/scripts/setup-python.sh" | tail -1)}"
export ACCEL_TRACKERS_PYTHON="$trackers/bin/python"
exec "$bench/bin/python" "$root/tests/integration/python/accel_module_test.py" "$@"

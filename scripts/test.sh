#!/usr/bin/env bash
# Sets up everything, builds, and runs the whole test suite (unit, integration, e2e).
# Exits non-zero on any failure. `.ci/run` runs exactly this.
source "$(dirname "$0")/lib.sh"
t0=$SECONDS
bash "$ACCEL_ROOT/scripts/setup.sh"
t1=$SECONDS
bash "$ACCEL_ROOT/scripts/build.sh"
t2=$SECONDS
cd "$ACCEL_ROOT"
rc=0
ctest --preset "${ACCEL_PRESET:-release}" -j "${ACCEL_TEST_JOBS:-2}" --timeout 900 "$@" || rc=$?
log "setup $((t1 - t0)) s, build $((t2 - t1)) s, tests $((SECONDS - t2)) s"
exit $rc

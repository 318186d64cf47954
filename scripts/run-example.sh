#!/usr/bin/env bash
# README command 1: set up everything, build, and run the main job on this machine.
source "$(dirname "$0")/lib.sh"
bash "$ACCEL_ROOT/scripts/setup.sh"
bash "$ACCEL_ROOT/scripts/build.sh"
bin="$ACCEL_ROOT/build/${ACCEL_PRESET:-release}"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log "2-process Gloo all-reduce through LibTorch's c10d"
"$bin/tests/integration/c10d/c10d_allreduce_rank" 0 2 "$port" &
"$bin/tests/integration/c10d/c10d_allreduce_rank" 1 2 "$port"
wait

#!/usr/bin/env bash
# README command 1: set up everything, build, and run the GPT example AccelJob on this machine
# with `accel run` — the same YAML `kubectl apply` takes: 2 nodes × 1 CPU rank (Gloo on
# loopback), bf16 autocast, gradient accumulation 2, TensorBoard + JSONL trackers, Prometheus
# /metrics on :9400 and :9401, checkpoints every 20 steps (a rerun resumes from the last one).
# Extra arguments go to `accel run` (e.g. --output plain).
source "$(dirname "$0")/lib.sh"
bash "$ACCEL_ROOT/scripts/setup.sh" worker
bash "$ACCEL_ROOT/scripts/build.sh" accel-cli accel-train-gpt
bin="$ACCEL_ROOT/build/${ACCEL_PRESET:-release}"
run_dir="${ACCEL_EXAMPLE_DIR:-$ACCEL_ROOT/build/example-run}"
job="${ACCEL_EXAMPLE_JOB:-$ACCEL_ROOT/examples/gpt-2node-cpu.yaml}"
log "accel run $job (run directory $run_dir)"
# The job's command is `accel-train-gpt`: the example trainers and `accel` come from this build.
export PATH="$bin/worker:$bin/examples:$PATH"
exec accel run "$job" --dir "$run_dir" "$@"

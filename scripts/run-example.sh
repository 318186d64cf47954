#!/usr/bin/env bash
# README command 1: set up everything, build, and train the GPT example on this machine:
# 2 ranks (Gloo on CPU), bf16 autocast, gradient accumulation 2, TensorBoard + JSONL trackers,
# Prometheus /metrics on, checkpoints every 50 steps (a rerun resumes from the last one).
source "$(dirname "$0")/lib.sh"
bash "$ACCEL_ROOT/scripts/setup.sh"
bash "$ACCEL_ROOT/scripts/build.sh" accel-cli accel-train-gpt
bin="$ACCEL_ROOT/build/${ACCEL_PRESET:-release}"
project="${ACCEL_EXAMPLE_DIR:-$ACCEL_ROOT/build/example-run}"
mkdir -p "$project"
log "training the GPT example in $project"
export ACCEL_PROJECT_DIR="$project" ACCEL_LOG_WITH="tensorboard,jsonl" ACCEL_METRICS_PORT="${ACCEL_METRICS_PORT:-9400}"
"$bin/worker/accel" launch --num_processes 2 --main_process_port 0 --mixed_precision bf16 \
  --gradient_accumulation_steps 2 --checkpoint_every_steps 50 --run_name_prefix gpt- -- \
  "$bin/examples/accel-train-gpt" --steps "${ACCEL_EXAMPLE_STEPS:-200}" --log-every 20
log "done. TensorBoard logs and metrics.jsonl: $project/logs/; checkpoints: $project/checkpoints/"
log "metrics were served on :$ACCEL_METRICS_PORT/metrics (rank 0) and :$((ACCEL_METRICS_PORT + 1))/metrics (rank 1)"

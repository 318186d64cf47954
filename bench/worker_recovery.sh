#!/usr/bin/env bash
# Worker failure → training advancing again: Accel vs torchrun, on this machine, in one run.
#
#   A  accel launch (checkpoint every 5 steps), restarted by a supervisor when it fails — what a
#      Kubernetes pod restart (restartPolicy, no back-off) or the operator's gang restart does;
#      the new gang resumes from the newest complete checkpoint by itself (Accelerator::prepare).
#   B  torchrun --max-restarts 3 with bench/python/train_gpt_ddp.py saving a checkpoint every 5
#      steps and resuming from the newest one at start.
#   C  accel run JOB.yaml (an AccelJob: 2 nodes x 1 CPU rank, checkpoint.everySteps 5,
#      runPolicy.backoff.initialSeconds 0): the operator's own reconciler notices the failed pod
#      and restarts the whole gang as the next attempt, which resumes from the newest checkpoint
#      (bench/python/recovery_run.py follows rank 0's pod log and finds the rank by
#      /proc/*/environ ACCEL_JOB_NAME and RANK).
# Same model (the small GPT in float32: dim 128, 2 layers, seq 64, batch 8, accumulation 2), same
# cadence. When rank 0 prints step 13, rank 1 gets SIGKILL; the time from the kill to the next
# "step" line is the recovery time (both resume from the step-10 checkpoint, so both redo the same
# steps). Interleaved A B C A B C ..., BENCH_REPS (3) times; BENCH_RECOVERY_SYSTEMS chooses
# (default "accel torchrun accel-run"). Once training resumed, each run is stopped after
# BENCH_STOP_AFTER (3) more steps (0: run to the end); the recovery is measured by then.
#
# Writes bench/results/worker_recovery.md and .json. Raw JSON (with each run's timestamped
# output) stays in $BENCH_WORK.
source "$(dirname "$0")/../scripts/lib.sh"

REPS="${BENCH_REPS:-3}"
STEPS=25
EVERY=5
KILL_AT=13
SYSTEMS="${BENCH_RECOVERY_SYSTEMS:-accel torchrun accel-run}"
STOP_AFTER="${BENCH_STOP_AFTER:-3}"

BUILD="${ACCEL_BENCH_BUILD:-}"
if [ -z "$BUILD" ]; then
  for b in "$ACCEL_ROOT/build/release" "$ACCEL_ROOT/build/h-bench"; do
    [ -x "$b/examples/accel-train-gpt" ] && { BUILD="$b"; break; }
  done
fi
[ -x "$BUILD/cli/accel" ] && [ -x "$BUILD/examples/accel-train-gpt" ] || die "no accel / \
accel-train-gpt built (looked in build/release and build/h-bench; set ACCEL_BENCH_BUILD)"

VENV="$("$ACCEL_ROOT/scripts/setup-bench-python.sh" | tail -1)"
PY="$VENV/bin/python"
BENCH="$ACCEL_ROOT/bench"
RESULTS="$BENCH/results"
WORK="${BENCH_WORK:-$(mktemp -d /tmp/accel-recovery.XXXXXX)}"
mkdir -p "$RESULTS" "$WORK/raw" "$WORK/bin"
cp "$BUILD/cli/accel" "$BUILD/examples/accel-train-gpt" "$WORK/bin/"
log "binaries from $BUILD; raw results in $WORK/raw"

export ACCEL_CONFIG_FILE="$WORK/no-accel-config.yaml"
export OMP_NUM_THREADS=1
export PYTHONDONTWRITEBYTECODE=1
MODEL=(--dim 128 --layers 2 --heads 4 --seq-len 64 --batch-size 8 --steps "$STEPS" --log-every 1)

# A run whose training did not advance again within the timeout (or that failed otherwise) keeps
# its raw JSON (no recovery_s) and counts as "not recovered" in the report; the others go on.
failed() { log "warning: $1 did not recover (see $WORK/raw/$1.json)"; }
# BENCH_RESUME=1 (default) with the same BENCH_WORK keeps the runs already there.
done_already() { [ "${BENCH_RESUME:-1}" = 1 ] && [ -f "$WORK/raw/$1.json" ] && log "$1: kept"; }

run_accel() {
  local rep=$1 name="accel-r$1"; done_already "$name" && return; rm -rf "$WORK/proj-$name"
  "$PY" "$BENCH/python/recovery.py" --out "$WORK/raw/$name.json" --kill-at-step "$KILL_AT" \
    --supervise 3 --stop-after "$STOP_AFTER" --meta "{\"system\":\"accel\",\"rep\":$rep}" -- \
    "$WORK/bin/accel" launch --num_processes 2 --mixed_precision no \
      --gradient_accumulation_steps 2 --main_process_port 0 --num_cpu_threads_per_process 1 \
      --checkpoint_every_steps "$EVERY" --project_dir "$WORK/proj-$name" \
      -- "$WORK/bin/accel-train-gpt" "${MODEL[@]}" || failed "$name"
}
run_torchrun() {
  local rep=$1 name="torchrun-r$1"; done_already "$name" && return; rm -rf "$WORK/ckpt-$name"
  "$PY" "$BENCH/python/recovery.py" --out "$WORK/raw/$name.json" --kill-at-step "$KILL_AT" \
    --stop-after "$STOP_AFTER" --meta "{\"system\":\"torchrun\",\"rep\":$rep}" -- \
    "$VENV/bin/torchrun" --standalone --nproc_per_node 2 --max-restarts 3 \
      "$BENCH/python/train_gpt_ddp.py" --gradient-accumulation-steps 2 --bf16 0 \
      --checkpoint-dir "$WORK/ckpt-$name" --checkpoint-every "$EVERY" "${MODEL[@]}" \
    || failed "$name"
}
# The AccelJob of `accel run`: the same model, cadence and threads. Job names are unique per
# run (the kill finds the rank by ACCEL_JOB_NAME); the metrics port is a free one.
run_accel_run() {
  local rep=$1 name="accel-run-r$1" job port args
  done_already "$name" && return
  job="recovery-$$-r$rep"; rm -rf "$WORK/run-$name"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  args=$(printf '"%s", ' "${MODEL[@]}"); args="[${args%, }]"
  cat > "$WORK/$name.yaml" <<YAML
apiVersion: accel.dev/v1alpha1
kind: AccelJob
metadata:
  name: $job
spec:
  image: unused-by-accel-run
  command: ["$WORK/bin/accel-train-gpt"]
  args: $args
  env:
    - name: OMP_NUM_THREADS
      value: "1"
  nodes: 2
  gpusPerNode: 0
  precision: "no"
  gradientAccumulationSteps: 2
  checkpoint:
    dir: /workspace/checkpoints
    everySteps: $EVERY
  metrics:
    port: $port
  runPolicy:
    maxRestarts: 3
    backoff:
      initialSeconds: 0
YAML
  "$PY" "$BENCH/python/recovery_run.py" --out "$WORK/raw/$name.json" --kill-at-step "$KILL_AT" \
    --job-name "$job" --log-dir "$WORK/run-$name/logs" --stop-after "$STOP_AFTER" \
    --meta "{\"system\":\"accel-run\",\"rep\":$rep}" -- \
    "$WORK/bin/accel" run "$WORK/$name.yaml" --dir "$WORK/run-$name" --output plain \
    || failed "$name"
}

for rep in $(seq 1 "$REPS"); do
  log "repetition $rep of $REPS"
  for s in $SYSTEMS; do
    case $s in
      accel) run_accel "$rep" ;;
      torchrun) run_torchrun "$rep" ;;
      accel-run) run_accel_run "$rep" ;;
      *) die "unknown system $s in BENCH_RECOVERY_SYSTEMS" ;;
    esac
  done
done

TORCH_VERSION="$TORCH_VERSION" "$PY" - "$WORK/raw" "$RESULTS" "$EVERY" "$KILL_AT" "$STOP_AFTER" <<'PY'
import glob, json, os, statistics, sys
raw, out, every, kill_at, stop_after = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(raw, "*.json")))]
by = {}
for r in runs:
    by.setdefault(r["system"], {})[r["rep"]] = r
def med(x): return statistics.median(x) if x else float("nan")
def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    return f"{cpu}, {os.cpu_count()} cores"
rec = {s: [v["recovery_s"] for _, v in sorted(d.items()) if "recovery_s" in v] for s, d in by.items()}
def paired(a, b):
    return [by[a][k]["recovery_s"] / by[b][k]["recovery_s"]
            for k in sorted(set(by.get(a, {})) & set(by.get(b, {})))
            if "recovery_s" in by[a][k] and "recovery_s" in by[b][k]]
pairs = paired("accel", "torchrun")
pairs_run = paired("accel-run", "torchrun")
load = {s: [round(v["load_before"], 1) for _, v in sorted(d.items()) if "load_before" in v] for s, d in by.items()}
L = ["# Worker failure → steps advancing again: Accel vs torchrun", "",
     "Generated by `bench/worker_recovery.sh`. The small GPT in float32 (dim 128, 2 layers, "
     "seq 64, batch 8, gradient accumulation 2), 2 ranks with gloo on this 2-core machine, a "
     f"checkpoint every {every} steps. When rank 0 prints step {kill_at}, rank 1 gets SIGKILL. "
     "*Recovery* = from the kill to the next `step N` line (all resume from the step-"
     f"{kill_at - kill_at % every} checkpoint, so all then redo the same steps)."
     + (f" Each run is stopped {stop_after} steps after it resumed." if stop_after else ""), "",
     f"Machine: {machine()}. torch / LibTorch {os.environ.get('TORCH_VERSION', '?')}. Shared: "
     "other work ran at the same time (load average before each run in the table).", "",
     "- **accel** (`accel launch`): `accel launch --checkpoint_every_steps 5` notices the dead rank, stops the "
     "other, exits 137; a supervisor (here `bench/python/recovery.py --supervise`, standing in "
     "for a pod restart with no back-off) starts it again, and `prepare()` resumes "
     "from the newest complete checkpoint.",
     "- **accel-run** (`accel run job.yaml`): the AccelJob (2 nodes × 1 CPU rank, "
     "`checkpoint.everySteps: 5`, `runPolicy.backoff.initialSeconds: 0`) run by the operator's "
     "own reconciler on this machine: node 1's `accel launch` exits 137, the reconciler marks "
     "the pod Failed, deletes the gang and creates attempt 1 (no back-off), which resumes from "
     "the newest checkpoint. Step lines are read from rank 0's pod log "
     "(`bench/python/recovery_run.py`).",
     "- **torchrun**: `torchrun --max-restarts 3`; its agent stops the surviving worker and starts "
     "both again; the script loads its newest checkpoint (torch.save of model, optimizer, "
     "scheduler and data position, as a PyTorch user writes it).", "",
     "| system | recovery s (median, min–max) | resumed at step | recovered / runs | load avg before each run |",
     "|---|---|---|---|---|"]
for s in ("accel", "accel-run", "torchrun"):
    if s not in by:
        continue
    v = rec.get(s, [])
    steps = sorted({r.get("resume_step") for r in by.get(s, {}).values() if r.get("resume_step") is not None}, key=str)
    rng = f"{med(v):.2f} ({min(v):.2f}–{max(v):.2f})" if v else "n/a"
    L.append(f"| {s} | {rng} | {', '.join(map(str, steps))} | {len(v)} / {len(by.get(s, {}))} | {', '.join(map(str, load.get(s, [])))} |")
L.append("")
for name, pr in (("`accel launch` + supervisor", pairs), ("`accel run` (gang restart)", pairs_run)):
    if pr:
        L.append(f"**{name} / torchrun recovery time: {med(pr):.2f}×** (median of paired "
                 f"repetitions; range {min(pr):.2f}–{max(pr):.2f}).")
        L.append("")
L += ["Timeline of each run (seconds since start; the kill, the restart, the resumed steps) is "
      "in the raw JSON of the run."]
notes = os.environ.get("BENCH_NOTES")
if notes and os.path.exists(notes):
    L += ["", open(notes).read().strip()]
open(os.path.join(out, "worker_recovery.md"), "w").write("\n".join(L) + "\n")
json.dump({"recovery_s": rec, "accel_over_torchrun": pairs, "accel_run_over_torchrun": pairs_run,
           "load_before": load, "every": every, "kill_at_step": kill_at, "stop_after": stop_after,
           "runs": {f"{r['system']}-r{r['rep']}": {k: r.get(k) for k in
                    ("recovery_s", "resume_step", "killed_at_step", "rc", "rcs", "wall_s", "load_before")} for r in runs}},
          open(os.path.join(out, "worker_recovery.json"), "w"), indent=1)
print("\n".join(L))
PY

#!/usr/bin/env bash
# Accel's worker vs what users would pick instead, on this machine, in one run:
#   A  accel launch --num_processes 2 ... -- accel-train-gpt          (C++, libaccel)
#   B  torchrun --nproc_per_node 2 bench/python/train_gpt_ddp.py      (PyTorch DDP, gloo)
#   C  accelerate launch --multi_gpu --num_processes 2 ... train_gpt_accelerate.py (HF Accelerate
#      on CPU; see run() for why not --cpu)
#   D  torchrun --no-python --nproc_per_node 2 accel-bench-bare-gpt (bench/bare: the limit, the
#      same training as a plain LibTorch loop with one c10d all-reduce of the gradients per
#      step and no libaccel; with 1 rank started directly)
# The same model, data, batch, optimizer, precision and gradient accumulation (2) in all four
# (tests/integration/worker/bare_loop_test.cpp checks that D prints A's losses exactly); runs
# interleaved A B C D A B C D ... so that drifting machine load hits every system alike.
#
# Workloads (all batch 8 per rank per micro-batch, accumulation 2, AdamW, clip 1.0):
#   small       the example's defaults: dim 128, 2 layers, 4 heads, seq 64, bf16 autocast
#   small-fp32  the same in float32 (--mixed_precision no)
#   heavy       dim 256, 4 layers, 4 heads, seq 128 (13x the small model's work per step), float32
# Why float32 besides bf16: on a CPU without bf16 matmul instructions (an AVX2 EPYC without
# AVX512-BF16/AMX) LibTorch's bf16 GEMM runs ~40x slower than float32 (0.6 vs 25 GFLOP/s on one
# thread), so a bf16 step is almost all GEMM whatever the framework. On a CPU with them (lscpu:
# avx512_bf16, amx_bf16) bf16 is as fast; the report says which this machine is.
# BENCH_HEAVY_PRECISION=bf16 and BENCH_HEAVY_ARGS run the heavy model in bf16.
# 1 rank: small-fp32 and heavy (BENCH_ONE_RANK_WORKLOADS) for all four systems, so that every
# system's steps/s can be read as a fraction of the limit's at 1 and at 2 ranks.
# Scaling: small-fp32 (the most communication-sensitive) with 1 rank vs 2 ranks, in samples/s. Every rank gets one CPU thread (OMP_NUM_THREADS=1,
# --num_cpu_threads_per_process 1) in every run: 2 ranks use both cores, 1 rank uses one, and
# the ideal ratio is 2x.
#
# Writes bench/results/worker_vs_python.{md,json} and bench/results/*.png. Raw per-run JSON
# (with each run's output) stays in $BENCH_WORK (a temporary folder unless set).
#
# Knobs (environment): BENCH_REPS (3), BENCH_WORKLOADS ("small small-fp32 heavy"),
# BENCH_SMALL_STEPS (60, of which BENCH_SMALL_WARMUP 10 are warm-up), BENCH_FP32_STEPS (60 /
# BENCH_FP32_WARMUP 10), BENCH_HEAVY_STEPS (12 / BENCH_HEAVY_WARMUP 2), BENCH_SCALING (1: the
# 1-rank runs), BENCH_SYSTEMS ("accel torch-ddp accelerate bare"), BENCH_ACCEL_OWN_SESSION (1: see run()), BENCH_RESUME (1: with the same
# BENCH_WORK, keep the runs an interrupted invocation finished), BENCH_NOTES (a markdown file added to
# the report as the analysis; default bench/results/worker_step_profile.md), ACCEL_BENCH_BUILD (the build
# folder holding cli/accel, examples/accel-train-gpt and bench/bare/accel-bench-bare-gpt; default build/release (scripts/build.sh), then build/h-bench). Accel's runs serve /metrics
# and it is scraped every 2 s for the time breakdown.
source "$(dirname "$0")/../scripts/lib.sh"

REPS="${BENCH_REPS:-3}"
SCALING="${BENCH_SCALING:-1}"
ACCUM=2
# workload -> "precision|steps|warm-up steps|trainer flags"
declare -A WORKLOAD=(
  [small]="bf16|${BENCH_SMALL_STEPS:-60}|${BENCH_SMALL_WARMUP:-10}|--dim 128 --layers 2 --heads 4 --seq-len 64 --batch-size 8"
  [small-fp32]="no|${BENCH_FP32_STEPS:-60}|${BENCH_FP32_WARMUP:-10}|--dim 128 --layers 2 --heads 4 --seq-len 64 --batch-size 8"
  [heavy]="${BENCH_HEAVY_PRECISION:-no}|${BENCH_HEAVY_STEPS:-12}|${BENCH_HEAVY_WARMUP:-2}|${BENCH_HEAVY_ARGS:---dim 256 --layers 4 --heads 4 --seq-len 128 --batch-size 8}"
)
read -r -a ORDER <<< "${BENCH_WORKLOADS:-small small-fp32 heavy}"
read -r -a ONE_RANK <<< "${BENCH_ONE_RANK_WORKLOADS:-small-fp32 heavy}"
read -r -a SYSTEMS <<< "${BENCH_SYSTEMS:-accel torch-ddp accelerate bare}"

BUILD="${ACCEL_BENCH_BUILD:-}"
if [ -z "$BUILD" ]; then
  for b in "$ACCEL_ROOT/build/release" "$ACCEL_ROOT/build/h-bench"; do
    [ -x "$b/examples/accel-train-gpt" ] && { BUILD="$b"; break; }
  done
fi
[ -x "$BUILD/cli/accel" ] && [ -x "$BUILD/examples/accel-train-gpt" ] \
  && [ -x "$BUILD/bench/bare/accel-bench-bare-gpt" ] || die "no accel / accel-train-gpt / \
accel-bench-bare-gpt built (looked in build/release and build/h-bench; set ACCEL_BENCH_BUILD). \
Build: cmake --build <dir> --target accel-cli accel-train-gpt accel-bench-bare-gpt"

VENV="$("$ACCEL_ROOT/scripts/setup-bench-python.sh" | tail -1)"
PY="$VENV/bin/python"
BENCH="$ACCEL_ROOT/bench"
RESULTS="$BENCH/results"
WORK="${BENCH_WORK:-$(mktemp -d /tmp/accel-bench.XXXXXX)}"
mkdir -p "$RESULTS" "$WORK/raw" "$WORK/bin"
# A copy, so that a rebuild during the run cannot swap the binaries between repetitions.
cp "$BUILD/cli/accel" "$BUILD/examples/accel-train-gpt" "$BUILD/bench/bare/accel-bench-bare-gpt" \
  "$WORK/bin/"
ACCEL="$WORK/bin/accel"
GPT="$WORK/bin/accel-train-gpt"
BARE="$WORK/bin/accel-bench-bare-gpt"
log "binaries from $BUILD; Python from $VENV; raw results in $WORK/raw"

# Keep every user-level config out: no ~/.config/accel, no ~/.cache/huggingface/accelerate.
export ACCEL_CONFIG_FILE="$WORK/no-accel-config.yaml"
export HF_HOME="$WORK/hf-home"
export OMP_NUM_THREADS=1
export PYTHONDONTWRITEBYTECODE=1
unset ACCELERATE_CONFIG_FILE ACCEL_MIXED_PRECISION ACCEL_GRADIENT_ACCUMULATION_STEPS || true

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Scheduling: on kernels with sched_autogroup (this one: /proc/sys/kernel/sched_autogroup_enabled
# = 1) CPU time is shared fairly between *sessions*, not processes. torchrun (and so accelerate
# launch) starts every rank with setsid, so each rank is its own session; `accel launch` keeps
# its ranks in its own session, so on a busy machine the whole gang gets the CPU share of ONE
# session. That measured 2.4x slower than torch DDP on the small float32 model under a load
# average of ~15 from other work, and 1.7x faster with one rank. To compare the frameworks and
# not the session layout, each Accel rank runs under `setsid -w` here (BENCH_ACCEL_OWN_SESSION=0
# turns that off). On a quiet machine, and in a container (cgroups, no autogroup), it makes no
# difference.
OWN_SESSION=(setsid -w)
[ "${BENCH_ACCEL_OWN_SESSION:-1}" = 1 ] || OWN_SESSION=()

# run SYSTEM WORKLOAD NPROC REP
run() {
  local system=$1 model=$2 nproc=$3 rep=$4
  local prec steps warm margs
  IFS='|' read -r prec steps warm margs <<< "${WORKLOAD[$model]}"
  local common=(--steps "$steps" --log-every 1 $margs)
  local name="$system-$model-np$nproc-r$rep" cmd extra=()
  if [ "${BENCH_RESUME:-0}" = 1 ] && [ -f "$WORK/raw/$name.json" ]; then
    log "$name: kept from an earlier, interrupted run (BENCH_RESUME=1)"; return 0
  fi
  case "$system" in
    accel)
      rm -rf "$WORK/proj-$name"
      # /metrics on (as in production), scraped every 2 s for the time breakdown.
      local port; port=$(free_port)
      extra+=(--metrics-port "$port")
      cmd=("$ACCEL" launch --num_processes "$nproc" --mixed_precision "$prec"
           --gradient_accumulation_steps "$ACCUM" --main_process_port 0
           --num_cpu_threads_per_process 1 --metrics_port "$port"
           --project_dir "$WORK/proj-$name" -- "${OWN_SESSION[@]}" "$GPT" "${common[@]}") ;;
    torch-ddp)
      cmd=("$VENV/bin/torchrun" --standalone --nproc_per_node "$nproc"
           "$BENCH/python/train_gpt_ddp.py" --gradient-accumulation-steps "$ACCUM"
           --bf16 "$([ "$prec" = bf16 ] && echo 1 || echo 0)" --warmup-steps "$warm"
           "${common[@]}") ;;
    accelerate)
      # Not --cpu: on one machine `accelerate launch --cpu --num_processes 2` starts ONE process
      # (its simple launcher; multi-CPU needs mpirun). --multi_gpu starts the ranks through
      # torchrun, and ACCELERATE_USE_CPU=1 makes Accelerator() pick MULTI_CPU with gloo (without
      # it each rank trains alone, world size 1). --multi_gpu wants >= 2 processes.
      local how=(--multi_gpu); [ "$nproc" = 1 ] && how=(--cpu)
      # Accumulation is passed to the script (Accelerator(gradient_accumulation_steps=...)):
      # `accelerate launch --gradient_accumulation_steps` reaches the ranks only under DeepSpeed.
      cmd=(env ACCELERATE_USE_CPU=1 "$VENV/bin/accelerate" launch "${how[@]}"
           --num_processes "$nproc" --num_machines 1
           --mixed_precision "$prec" --dynamo_backend no
           --num_cpu_threads_per_process 1 --main_process_port 0
           "$BENCH/python/train_gpt_accelerate.py" --gradient-accumulation-steps "$ACCUM"
           --warmup-steps "$warm" "${common[@]}") ;;
    bare)
      # torchrun only starts the ranks (--no-python: each its own session, as for B and C).
      local how=("$VENV/bin/torchrun" --no-python --standalone --nproc_per_node "$nproc")
      [ "$nproc" = 1 ] && how=()
      cmd=("${how[@]}" "$BARE" --gradient-accumulation-steps "$ACCUM" --mixed-precision "$prec"
           --threads 1 "${common[@]}") ;;
  esac
  local meta
  meta=$(printf '{"system":"%s","model":"%s","precision":"%s","model_args":"%s","nproc":%d,"steps":%d,"rep":"%s","accum":%d,"batch":8,"loadavg_before":"%s"}' \
         "$system" "$model" "$prec" "$margs" "$nproc" "$steps" "$rep" "$ACCUM" "$(cut -d' ' -f1-3 /proc/loadavg)")
  log "$name"
  # One retry: the development machines are shared, and a run can be killed from outside.
  "$PY" "$BENCH/python/measure.py" --out "$WORK/raw/$name.json" --warmup "$warm" \
      --meta "$meta" "${extra[@]}" -- "${cmd[@]}" \
    || { log "$name failed once; running it again"; rm -f "$WORK/raw/$name.json";
         "$PY" "$BENCH/python/measure.py" --out "$WORK/raw/$name.json" --warmup "$warm" \
           --meta "$meta" "${extra[@]}" -- "${cmd[@]}"; } \
    || die "$name failed; its output is in $WORK/raw/$name.json (or run: ${cmd[*]})"
  # Each trainer reports what it really ran with: check it is what was asked for.
  "$PY" - "$WORK/raw/$name.json" "$nproc" "$ACCUM" "$prec" <<'CHECK' || die "$name did not run as configured"
import json, sys
r = json.load(open(sys.argv[1])); s = r.get("self_report")
if r["system"] == "accel":  # the main rank prints the resolved configuration table
    table = {l.split("|")[0].strip(): l.split("|")[1].strip() for l in r["log"] if l.count("|") >= 2}
    want = {"gradient_accumulation_steps": sys.argv[3], "mixed_precision": sys.argv[4],
            "num_cpu_threads_per_process": "1"}
    got = {k: table.get(k) for k in want}
    if got != want:
        sys.exit(f"{sys.argv[1]}: ran with {got}, asked for {want}")
elif s is not None:
    want = {"world": int(sys.argv[2]), "accumulation": int(sys.argv[3]), "precision": sys.argv[4],
            "torch_threads": 1}
    got = {k: s.get(k) for k in want}
    if got != want:
        sys.exit(f"{sys.argv[1]}: ran with {got}, asked for {want}")
CHECK
}

start=$(date +%s)
for rep in $(seq 1 "$REPS"); do
  log "repetition $rep of $REPS"
  for model in "${ORDER[@]}"; do
    for system in "${SYSTEMS[@]}"; do run "$system" "$model" 2 "$rep"; done
  done
  if [ "$SCALING" = 1 ]; then
    for model in "${ONE_RANK[@]}"; do
      for system in "${SYSTEMS[@]}"; do run "$system" "$model" 1 "$rep"; done
    done
  fi
done
log "runs took $(( $(date +%s) - start )) s"

# The machine and the versions, for the report.
{
  echo "nproc --all: $(nproc --all)"
  echo "memory: $(free -h | awk '/^Mem:/ {print $2 " total, " $7 " available"}')"
  echo "kernel: $(uname -r)"
  echo "g++: $(g++ --version | head -1)"
  echo "LibTorch: $(cat "$ACCEL_CACHE/libtorch-$TORCH_VERSION/.complete" 2>/dev/null || echo "$TORCH_VERSION") ($ACCEL_CACHE/libtorch-$TORCH_VERSION)"
  "$PY" -c 'import sys, torch, accelerate, numpy; print("python:", sys.version.split()[0]); print("torch:", torch.__version__); print("accelerate:", accelerate.__version__); print("numpy:", numpy.__version__)'
  echo "accel binaries: $BUILD ($(grep -m1 '^CMAKE_BUILD_TYPE' "$BUILD/CMakeCache.txt" 2>/dev/null | cut -d= -f2))"
  echo "lscpu:"; lscpu | head -20 | sed 's/^/  /'
} > "$WORK/machine.txt"

"$PY" "$BENCH/python/report.py" --raw "$WORK/raw" --machine "$WORK/machine.txt" --out "$RESULTS" \
  --accum "$ACCUM" --notes "${BENCH_NOTES:-$RESULTS/worker_step_profile.md}"
log "report: $RESULTS/worker_vs_python.md"

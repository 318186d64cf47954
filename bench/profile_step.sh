#!/usr/bin/env bash
# Where a training step's time goes: accel-train-gpt against the bare LibTorch loop
# (bench/bare), the same workload, sampled with perf (Debian's linux-perf) on the cpu-clock
# software event, so it needs no hardware counters (none in this VM).
#
#   bench/profile_step.sh [RANKS] [WORKLOAD]     RANKS 1 or 2 (1), WORKLOAD small-fp32|heavy
#
# BENCH_PROFILE_MALLOC=default profiles both with glibc's own malloc thresholds
# (ACCEL_HOST_MALLOC_TUNING=false, the bare loop's --malloc default): libaccel before
# host_malloc_tuning; tuned (the default) as they run now.
#
# For each program: the samples of every process and thread it started, grouped into what
# they are (the matmul kernels, other ATen kernels, autograd, the optimizer, the allocator,
# the kernel, libaccel, c10d/Gloo, ...) and the top symbols, each as milliseconds per
# optimizer step (samples / frequency / steps). Steps are the whole run's, start-up included,
# which is the same for both programs within a few tenths of a second; use enough steps
# (BENCH_PROFILE_STEPS, 300) that it does not matter. Writes $OUT (a temporary folder
# unless BENCH_PROFILE_OUT is set): <program>.data, <program>.txt and summary.txt.
source "$(dirname "$0")/../scripts/lib.sh"

RANKS="${1:-1}"
WORKLOAD="${2:-small-fp32}"
STEPS="${BENCH_PROFILE_STEPS:-300}"
MALLOC="${BENCH_PROFILE_MALLOC:-tuned}"
case "$MALLOC" in tuned) TUNING=true ;; default) TUNING=false ;; *) die "BENCH_PROFILE_MALLOC: tuned or default" ;; esac
FREQ=1000
case "$WORKLOAD" in
  small-fp32) MODEL=(--dim 128 --layers 2 --heads 4 --seq-len 64 --batch-size 8) ;;
  heavy) MODEL=(--dim 256 --layers 4 --heads 4 --seq-len 128 --batch-size 8) ;;
  *) die "workload $WORKLOAD: small-fp32 or heavy" ;;
esac
BUILD="${ACCEL_BENCH_BUILD:-$ACCEL_ROOT/build/release}"
for p in cli/accel examples/accel-train-gpt bench/bare/accel-bench-bare-gpt; do
  [ -x "$BUILD/$p" ] || die "$BUILD/$p not built (cmake --build $BUILD --target accel-cli \
accel-train-gpt accel-bench-bare-gpt)"
done
if ! command -v perf >/dev/null; then
  log "installing linux-perf (Debian)"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends linux-perf >/dev/null
fi
OUT="${BENCH_PROFILE_OUT:-$(mktemp -d /tmp/accel-profile.XXXXXX)}"
mkdir -p "$OUT"
export OMP_NUM_THREADS=1 ACCEL_CONFIG_FILE="$OUT/no-config.yaml" ACCEL_HOST_MALLOC_TUNING="$TUNING"
COMMON=(--steps "$STEPS" --log-every 1 "${MODEL[@]}")
# Both under `accel launch`, which only starts the ranks (its own cost is not in the step).
LAUNCH=("$BUILD/cli/accel" launch --num_processes "$RANKS" --main_process_port 0
        --num_cpu_threads_per_process 1)

profile() {  # NAME CMD...
  local name=$1; shift
  log "profiling $name ($RANKS rank(s), $WORKLOAD, $STEPS steps, malloc $MALLOC)"
  # The page faults of everything below (perf record's own few hundred included).
  perf stat -x, -e page-faults -o "$OUT/$name.stat" -- \
    perf record -q -F "$FREQ" -e cpu-clock -g -o "$OUT/$name.data" -- "$@" > "$OUT/$name.log" 2>&1 \
    || die "$name failed: $OUT/$name.log"
  perf report -i "$OUT/$name.data" --no-children --sort comm,dso,sym -g none -q \
    --percent-limit 0 2>/dev/null > "$OUT/$name.txt"
}

profile accel "${LAUNCH[@]}" --mixed_precision no --gradient_accumulation_steps 2 \
  --project_dir "$OUT/proj" -- "$BUILD/examples/accel-train-gpt" "${COMMON[@]}"
profile bare "${LAUNCH[@]}" --project_dir "$OUT/proj-bare" -- \
  "$BUILD/bench/bare/accel-bench-bare-gpt" --gradient-accumulation-steps 2 --mixed-precision no \
  --threads 1 --malloc "$MALLOC" "${COMMON[@]}"

python3 - "$OUT" "$STEPS" "$FREQ" "$RANKS" "$WORKLOAD" "$MALLOC" <<'PY' | tee "$OUT/summary.txt"
import collections, re, subprocess, sys
out, steps, freq, ranks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
workload, malloc = sys.argv[5], sys.argv[6]

# What a symbol is, by the first pattern it matches (dso, symbol).
GROUPS = [
    ("launcher (accel launch)", lambda c, d, s: c == "accel"),
    ("matmul (MKL sgemm)", lambda c, d, s: "mkl_blas" in s or "sgemm" in s or "gemm" in s.lower()),
    ("optimizer (AdamW)", lambda c, d, s: "optim" in s or "adam" in s.lower()),
    ("autograd engine", lambda c, d, s: "autograd::Engine" in s or "autograd::Node" in s
        or "validate_outputs" in s or "InputBuffer" in s or "GraphTask" in s),
    ("c10d / Gloo", lambda c, d, s: "c10d" in s or "gloo" in s.lower() or c.startswith("gloo")),
    ("libaccel", lambda c, d, s: "accel::" in s or "prometheus" in s.lower() or "MHD_" in s
        or "prometheus" in d),
    ("allocator (malloc/free)", lambda c, d, s: d.startswith("libc") and re.search(
        r"malloc|free|_int_|unlink_chunk|tcache|memalign|sysmalloc|arena", s)),
    ("memset/memcpy", lambda c, d, s: re.search(r"mem(set|cpy|move)", s)),
    ("kernel (page faults, scheduling, syscalls)", lambda c, d, s: d == "[kernel.kallsyms]"),
    ("dispatcher / TensorImpl / refcounts", lambda c, d, s: d.startswith("libc10")
        or "Dispatch" in s or "TensorImpl" in s or "intrusive_ptr" in s or "OperatorHandle" in s
        or "c10::impl" in s),
    ("other ATen kernels", lambda c, d, s: d.startswith("libtorch")),
]

def parse(name):
    rows = []
    for line in open(f"{out}/{name}.txt"):
        m = re.match(r"\s*([\d.]+)%\s+(\S+)\s+(\S+)\s+\[(.)\]\s+(.*)", line)
        if m:
            rows.append((float(m.group(1)), m.group(2), m.group(3), m.group(5).strip()))
    return rows

def samples(name):
    r = subprocess.run(["perf", "script", "-i", f"{out}/{name}.data", "-F", "comm"],
                       capture_output=True, text=True)
    return len(r.stdout.splitlines())

per_step = {}
for name in ("accel", "bare"):
    rows, n = parse(name), samples(name)
    ms = 1000.0 * n / freq / steps  # all samples, ms per optimizer step (all ranks' CPU time)
    groups = collections.Counter()
    for pct, comm, dso, sym in rows:
        g = next((g for g, f in GROUPS if f(comm, dso, sym)), "other")
        groups[g] += pct * ms / 100
    per_step[name] = (ms, groups, rows)

names = [g for g, _ in GROUPS] + ["other"]
def faults(name):
    for line in open(f"{out}/{name}.stat"):
        f = line.split(",")
        if len(f) > 2 and f[2].startswith("page-faults"):
            return int(f[0]) / steps
    return float("nan")

print(f"{workload}, {ranks} rank(s), {steps} steps, malloc {malloc}: CPU time per optimizer step, ms "
      f"(all ranks and the launcher; perf cpu-clock, {freq} Hz)")
print(f"{'':44} {'accel':>8} {'bare':>8} {'accel-bare':>10}")
for g in names:
    a, b = per_step["accel"][1][g], per_step["bare"][1][g]
    if a or b:
        print(f"{g:44} {a:8.2f} {b:8.2f} {a - b:+10.2f}")
print(f"{'total':44} {per_step['accel'][0]:8.2f} {per_step['bare'][0]:8.2f} "
      f"{per_step['accel'][0] - per_step['bare'][0]:+10.2f}")
print(f"{'page faults per step':44} {faults('accel'):8.0f} {faults('bare'):8.0f} "
      f"{faults('accel') - faults('bare'):+10.0f}")
for name in ("accel", "bare"):
    ms, _, rows = per_step[name]
    print(f"\ntop symbols, {name} (ms per step; thread, library, symbol)")
    for pct, comm, dso, sym in sorted(rows, reverse=True)[:15]:
        print(f"  {pct * ms / 100:7.2f}  {comm[:16]:16} {dso[:24]:24} {sym[:90]}")
PY
log "profile data and reports in $OUT"

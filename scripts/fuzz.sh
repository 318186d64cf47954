#!/usr/bin/env bash
# Runs the libFuzzer harnesses of tests/fuzz (tests/fuzz/README.md).
#
#   scripts/fuzz.sh [--time S | --runs N] [HARNESS...]   fuzz (default: all harnesses, 60 s each)
#   scripts/fuzz.sh --regression [HARNESS...]           CI: the committed corpus + a fixed number
#                                                       of seeded executions (ctest fuzz_regression)
#   scripts/fuzz.sh --list                              the harness names
#
# A fuzzing run builds build/fuzz first (preset "fuzz", ccache as scripts/build.sh), seeds from
# tests/fuzz/<h>/corpus and keeps what it finds in $ACCEL_CACHE/fuzz-corpus/<h> (outside the
# clone); a crash, leak, timeout or UB input is written to $ACCEL_CACHE/fuzz-artifacts/<h>/.
# --regression builds nothing (ctest must not compile): it fails when a harness is missing, and
# its new inputs go to a temporary folder that is removed. Exits non-zero when any harness found
# a crash, a leak, UB, a timeout or went past the memory limit.
source "$(dirname "$0")/lib.sh"

HARNESSES=(acceljob_yaml acceljob_json watch_stream kubeconfig config_file progress env_contract
           checkpoint_manifest)
BUILD_DIR="${ACCEL_FUZZ_BUILD_DIR:-$ACCEL_ROOT/build/fuzz}"
REGRESSION_RUNS="${ACCEL_FUZZ_REGRESSION_RUNS:-20000}"
# Every input: 10 s at most, 2 GiB at most (the parsers bound their input far below that).
LIMITS=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
# UB aborts (the build has -fno-sanitize-recover=all too); leaks are reported at exit.
# Debian's llvm-symbolizer (14) cannot read clang-19's DWARF 5: binutils' addr2line can.
symbolizer=$(command -v addr2line || true)
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1${symbolizer:+:external_symbolizer_path=$symbolizer}}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1${symbolizer:+:external_symbolizer_path=$symbolizer}}"

mode=fuzz time_s=60 runs="" selected=()
while [ $# -gt 0 ]; do
  case "$1" in
    --regression) mode=regression ;;
    --time) time_s="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    --list) printf '%s\n' "${HARNESSES[@]}"; exit 0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) [[ " ${HARNESSES[*]} " == *" $1 "* ]] || die "no harness '$1' (see --list)"
       selected+=("$1") ;;
  esac
  shift
done
[ ${#selected[@]} -gt 0 ] || selected=("${HARNESSES[@]}")

if [ "$mode" = fuzz ]; then
  ACCEL_PRESET=fuzz bash "$ACCEL_ROOT/scripts/build.sh" accel-fuzzers >&2
fi

failed=()
for h in "${selected[@]}"; do
  bin="$BUILD_DIR/tests/fuzz/${h}_fuzz"
  seeds="$ACCEL_ROOT/tests/fuzz/$h/corpus"
  if [ ! -x "$bin" ]; then
    log "$h: $bin is missing (build it: ACCEL_PRESET=fuzz scripts/build.sh accel-fuzzers)"
    failed+=("$h"); continue
  fi
  if [ "$mode" = regression ]; then
    scratch=$(mktemp -d)
    n="$REGRESSION_RUNS"
    # The watch harness runs cpprestsdk's stream per input (~150 inputs/s under ASan).
    [ "$h" = watch_stream ] && n=$((REGRESSION_RUNS / 10))
    args=(-runs="$n" -seed=1 -artifact_prefix="$scratch/" "$scratch" "$seeds")
  else
    scratch="$ACCEL_CACHE/fuzz-corpus/$h"
    artifacts="$ACCEL_CACHE/fuzz-artifacts/$h"
    mkdir -p "$scratch" "$artifacts"
    if [ -n "$runs" ]; then budget=(-runs="$runs"); else budget=(-max_total_time="$time_s"); fi
    args=("${budget[@]}" -artifact_prefix="$artifacts/" "$scratch" "$seeds")
  fi
  out=$(mktemp)
  t0=$SECONDS
  rc=0
  extra=()
  # cpprestsdk's task scheduler keeps allocations from one input to the next, so libFuzzer's
  # per-input leak check ran LeakSanitizer over the whole heap after every watch_stream input
  # (2.6x the time per input); leaks are still checked once when the run ends. Its inputs wait
  # on cpprestsdk's thread pool, so on a loaded 2-core machine one can take over 10 s without
  # hanging (a run stopped on such a "timeout" whose input then ran 20 times in 1.6 s): 60 s.
  [ "$h" = watch_stream ] && extra=(-detect_leaks=0 -timeout=60)
  "$bin" "${LIMITS[@]}" "${extra[@]}" "${args[@]}" >"$out" 2>&1 || rc=$?
  stats=$(grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' "$out" |
          sed 's/^stat:://' | tr '\n' ' ' || true)
  cov=$(grep -E '^#[0-9]+' "$out" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9a-zA-Z]+' || true)
  if [ $rc -ne 0 ]; then
    cat "$out" >&2
    log "$h: FAILED (exit $rc) after $((SECONDS - t0)) s; the input is under ${artifacts:-$scratch}"
    failed+=("$h")
  else
    log "$h: ok in $((SECONDS - t0)) s: $cov $stats"
  fi
  rm -f "$out"
  [ "$mode" = regression ] && [ $rc -eq 0 ] && rm -rf "$scratch"
done

if [ ${#failed[@]} -gt 0 ]; then
  log "failed: ${failed[*]}"
  exit 1
fi
log "all passed: ${selected[*]}"

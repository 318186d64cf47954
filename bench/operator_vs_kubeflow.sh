#!/usr/bin/env bash
# Accel's operator vs Kubeflow's training-operator (PyTorchJob), on this machine, in one run.
#
# Systems: accel (Accel's operator, --workers 4 as the Helm chart passes), plain (the limit:
# bench/plain/plain_client.cpp makes only the requests the operator must make per job, with the
# same 4 workers), kubeflow (training-operator as it ships) and kubeflow-unthrottled (its
# --kube-api-qps/--kube-api-burst raised out of the way). accel and plain run at every size in
# BENCH_JOBS (1 100 500 2000 5000), the two Kubeflows at the sizes in BENCH_KF_JOBS (1 100 500).
# For every size and repetition (BENCH_REPS, 1) each system in turn (the order rotates by one
# system per repetition and per size) gets a fresh cluster: scripts/controlplane.sh start DIR --with-controllers (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler), KWOK (4 fake nodes; pods scheduled there go
# Running), the operator's CRD and the operator as it ships (Accel: --workers 4 as the Helm
# chart passes; training-operator: its defaults, as its manifests run it, with only the
# PyTorchJob scheme). Then N jobs of 2 pods each (AccelJob nodes 2 gpusPerNode 0; PyTorchJob
# Master 1 + Worker 1) are created and bench/python/operator_bench.py measures the time from
# each job's creation to both pods Running, the operator's CPU seconds and peak RSS, and the
# API requests it made (see that file's header for how).
#
# BENCH_WORKER_SWEEP (default "1 2 8 16") runs Accel once more per worker count at
# BENCH_SWEEP_JOBS (2000) jobs, for the table that sets --workers' default; "" skips it.
#
# Writes bench/results/operator_vs_kubeflow.{md,json,png}. Raw per-run JSON and every
# component's log stay in $BENCH_WORK (a temporary folder by default); with BENCH_RESUME=1 (the
# default) and the same BENCH_WORK, runs that already finished are kept.
source "$(dirname "$0")/../scripts/lib.sh"

REPS="${BENCH_REPS:-1}"
JOBS="${BENCH_JOBS:-1 100 500 2000 5000}"
KF_JOBS="${BENCH_KF_JOBS:-1 100 500}"
TIMEOUT="${BENCH_TIMEOUT:-900}"
RESUME="${BENCH_RESUME:-1}"

"$ACCEL_ROOT/scripts/build-kube.sh" all
KF_DIR="$("$ACCEL_ROOT/bench/build-kubeflow.sh" | tail -1)"
KF_VERSION="$(cat "$KF_DIR/VERSION")"
KWOK_DIR="$ACCEL_CACHE/bin/tools-helm-$HELM_VERSION-kwok-$KWOK_VERSION"

BUILD="${ACCEL_BENCH_BUILD:-}"
if [ -z "$BUILD" ]; then
  for b in "$ACCEL_ROOT/build/release" "$ACCEL_ROOT/build/h-bench"; do
    [ -x "$b/operator/accel-operator" ] && { BUILD="$b"; break; }
  done
fi
[ -x "$BUILD/operator/accel-operator" ] || die "no accel-operator built (looked in build/release \
and build/h-bench; build it with scripts/build.sh accel-operator or set ACCEL_BENCH_BUILD)"

VENV="$("$ACCEL_ROOT/scripts/setup-bench-python.sh" | tail -1)"
PY="$VENV/bin/python"
BENCH="$ACCEL_ROOT/bench"
RESULTS="$BENCH/results"
WORK="${BENCH_WORK:-$(mktemp -d /tmp/accel-opbench.XXXXXX)}"
mkdir -p "$RESULTS" "$WORK/raw" "$WORK/bin"
cp "$BUILD/operator/accel-operator" "$WORK/bin/"
[ -x "$BUILD/bench/plain/accel-bench-plain-client" ] || die "no accel-bench-plain-client in $BUILD \
(cmake --build $BUILD --target accel-bench-plain-client)"
cp "$BUILD/bench/plain/accel-bench-plain-client" "$WORK/bin/"
log "accel-operator from $BUILD; training-operator $KF_VERSION from $KF_DIR; raw results in $WORK/raw"

one() { # one SYSTEM N REP [WORKERS]
  local sys=$1 n=$2 rep=$3 workers=${4:-4} name="$1-n$2-r$3" crd
  [ "$workers" = 4 ] || name="$sys-w$workers-n$n-r$rep"
  if [ "$RESUME" = 1 ] && [ -f "$WORK/raw/$name.json" ]; then log "$name: kept"; return; fi
  case "$sys" in
    accel|plain) crd="$ACCEL_ROOT/crds/acceljob.yaml" ;;
    *) crd="$KF_DIR/crds/kubeflow.org_pytorchjobs.yaml" ;;
  esac
  rm -rf "$WORK/runs/$name"
  log "$name (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$PY" "$BENCH/python/operator_bench.py" --system "$sys" --jobs "$n" --rep "$rep" \
    --out "$WORK/raw/$name.json.tmp" --work "$WORK/runs/$name" --crd "$crd" --kwok-dir "$KWOK_DIR" \
    --accel-operator "$WORK/bin/accel-operator" --kubeflow-operator "$KF_DIR/training-operator" \
    --plain-client "$WORK/bin/accel-bench-plain-client" --accel-workers "$workers" \
    --timeout "$TIMEOUT" || die "$name failed (logs in $WORK/runs/$name)"
  mv "$WORK/raw/$name.json.tmp" "$WORK/raw/$name.json"
}

turn=0
for rep in $(seq 1 "$REPS"); do
  for n in $JOBS; do
    systems=(accel plain)
    case " $KF_JOBS " in *" $n "*) systems+=(kubeflow kubeflow-unthrottled) ;; esac
    k=${#systems[@]}
    for i in $(seq 0 $((k - 1))); do one "${systems[$(((i + turn) % k))]}" "$n" "$rep"; done
    turn=$((turn + 1))
  done
done

for w in ${BENCH_WORKER_SWEEP-1 2 8 16}; do one accel "${BENCH_SWEEP_JOBS:-2000}" 1 "$w"; done

"$PY" "$BENCH/python/operator_report.py" --raw "$WORK/raw" --out "$RESULTS" \
  --kubeflow-version "$KF_VERSION" --k8s-version "$K8S_VERSION" --kwok-version "$KWOK_VERSION" \
  --accel-operator "$WORK/bin/accel-operator" ${BENCH_NOTES:+--notes "$BENCH_NOTES"}

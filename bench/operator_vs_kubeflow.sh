#!/usr/bin/env bash
# Accel's operator vs Kubeflow's training-operator (PyTorchJob), on this machine, in one run.
#
# For every batch size in BENCH_JOBS (1 100 500) and every repetition (BENCH_REPS, 1), each
# operator in turn (accel first on odd repetitions, kubeflow first on even ones) gets a fresh
# cluster: scripts/controlplane.sh start DIR --with-controllers (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler), KWOK (4 fake nodes; pods scheduled there go
# Running), the operator's CRD and the operator as it ships (Accel: --workers 4 as the Helm
# chart passes; training-operator: its defaults, as its manifests run it, with only the
# PyTorchJob scheme). Then N jobs of 2 pods each (AccelJob nodes 2 gpusPerNode 0; PyTorchJob
# Master 1 + Worker 1) are created and bench/python/operator_bench.py measures the time from
# each job's creation to both pods Running, the operator's CPU seconds and peak RSS, and the
# API requests it made (see that file's header for how).
#
# Writes bench/results/operator_vs_kubeflow.{md,json,png}. Raw per-run JSON and every
# component's log stay in $BENCH_WORK (a temporary folder by default); with BENCH_RESUME=1 (the
# default) and the same BENCH_WORK, runs that already finished are kept.
source "$(dirname "$0")/../scripts/lib.sh"

REPS="${BENCH_REPS:-1}"
JOBS="${BENCH_JOBS:-1 100 500}"
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
log "accel-operator from $BUILD; training-operator $KF_VERSION from $KF_DIR; raw results in $WORK/raw"

one() { # one SYSTEM N REP
  local sys=$1 n=$2 rep=$3 name="$1-n$2-r$3" crd
  if [ "$RESUME" = 1 ] && [ -f "$WORK/raw/$name.json" ]; then log "$name: kept"; return; fi
  [ "$sys" = accel ] && crd="$ACCEL_ROOT/crds/acceljob.yaml" || crd="$KF_DIR/crds/kubeflow.org_pytorchjobs.yaml"
  rm -rf "$WORK/runs/$name"
  log "$name (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  "$PY" "$BENCH/python/operator_bench.py" --system "$sys" --jobs "$n" --rep "$rep" \
    --out "$WORK/raw/$name.json.tmp" --work "$WORK/runs/$name" --crd "$crd" --kwok-dir "$KWOK_DIR" \
    --accel-operator "$WORK/bin/accel-operator" --kubeflow-operator "$KF_DIR/training-operator" \
    --timeout "$TIMEOUT" || die "$name failed (logs in $WORK/runs/$name)"
  mv "$WORK/raw/$name.json.tmp" "$WORK/raw/$name.json"
}

for rep in $(seq 1 "$REPS"); do
  for n in $JOBS; do
    if [ $((rep % 2)) = 1 ]; then one accel "$n" "$rep"; one kubeflow "$n" "$rep"
    else one kubeflow "$n" "$rep"; one accel "$n" "$rep"; fi
  done
done

"$PY" "$BENCH/python/operator_report.py" --raw "$WORK/raw" --out "$RESULTS" \
  --kubeflow-version "$KF_VERSION" --k8s-version "$K8S_VERSION" --kwok-version "$KWOK_VERSION" \
  --accel-operator "$WORK/bin/accel-operator" ${BENCH_NOTES:+--notes "$BENCH_NOTES"}

#!/usr/bin/env bash
# Sets up everything Accel needs on this machine, each step cached outside the clone:
# Debian packages, LibTorch from the torch wheel, the CUDA build's headers and libraries from
# the NVIDIA wheels torch pins, the Kubernetes control plane + helm + kwok + Kueue built from
# source, the Python readers used by tests (TensorBoard, MLflow, W&B) and the lint tools the
# chart tests run (hadolint, Grafana's dashboard schema models).
# A rerun with warm caches does nothing. Prints the time each step took.
# `setup.sh worker` stops after LibTorch: all that `accel run` and the CPU trainers need.
# ACCEL_WITH_CUDA=OFF leaves out the CUDA pieces (then build.sh builds the CPU variant only).
source "$(dirname "$0")/lib.sh"

step() {
  local name=$1; shift
  local t0=$SECONDS
  "$@"
  log "$name: $((SECONDS - t0)) s"
}

step "Debian packages" bash "$ACCEL_ROOT/scripts/setup-deps.sh"
step "LibTorch $TORCH_VERSION" bash "$ACCEL_ROOT/scripts/setup-libtorch.sh" >/dev/null
[ "${1:-}" = worker ] && exit 0
if [ "${ACCEL_WITH_CUDA:-ON}" != OFF ]; then
  step "CUDA build (PyPI wheels)" bash "$ACCEL_ROOT/scripts/setup-cuda.sh" >/dev/null
fi
step "etcd, helm, kwok" bash -c "'$ACCEL_ROOT/scripts/build-kube.sh' etcd && '$ACCEL_ROOT/scripts/build-kube.sh' tools"
step "Kubernetes $K8S_VERSION" bash "$ACCEL_ROOT/scripts/build-kube.sh" kube
step "Kueue $KUEUE_VERSION" bash "$ACCEL_ROOT/scripts/build-kube.sh" kueue
if [ -f "$ACCEL_ROOT/scripts/setup-python.sh" ]; then
  step "Python readers" bash "$ACCEL_ROOT/scripts/setup-python.sh" >/dev/null
fi
step "Lint tools (hadolint, Grafana schema)" bash "$ACCEL_ROOT/scripts/setup-lint.sh" >/dev/null

#!/usr/bin/env bash
# Configures and builds Accel (preset "release" unless ACCEL_PRESET says otherwise).
# Arguments, if any, are the targets to build (default: everything).
source "$(dirname "$0")/lib.sh"
preset="${ACCEL_PRESET:-release}"
export CCACHE_DIR="${CCACHE_DIR:-$ACCEL_CACHE/ccache}"
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"
# Paths relative to the clone, so that another clone (CI's) reuses the same cache entries.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ACCEL_ROOT}" CCACHE_NOHASHDIR=true
cd "$ACCEL_ROOT"
# The CUDA variant (docs/cuda.md) is built whenever scripts/setup-cuda.sh has run, unless
# ACCEL_WITH_CUDA says otherwise.
cuda_dir="$ACCEL_CACHE/torch-cuda-$TORCH_VERSION"
with_cuda="${ACCEL_WITH_CUDA:-}"
if [ -z "$with_cuda" ]; then
  if [ -f "$cuda_dir/.complete" ]; then with_cuda=ON; else with_cuda=OFF; fi
fi
cmake --preset "$preset" -DACCEL_LIBTORCH_DIR="$ACCEL_CACHE/libtorch-$TORCH_VERSION" \
  -DACCEL_WITH_CUDA="$with_cuda" -DACCEL_TORCH_CUDA_DIR="$cuda_dir" >/dev/null
# Two cores, and a LibTorch translation unit needs ~1.5 GB: -j2 fits in memory.
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build --preset "$preset" -j "${ACCEL_BUILD_JOBS:-2}" "${targets[@]}"
# Building everything also builds the fuzz harnesses (preset "fuzz", clang-19; tests/fuzz):
# ctest's fuzz_regression runs them. ACCEL_BUILD_FUZZ=OFF leaves them out.
if [ "$preset" = release ] && [ $# -eq 0 ] && [ "${ACCEL_BUILD_FUZZ:-ON}" != OFF ]; then
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "${ACCEL_BUILD_JOBS:-2}" --target accel-fuzzers
fi

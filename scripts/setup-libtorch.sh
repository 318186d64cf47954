#!/usr/bin/env bash
# Installs LibTorch (C++ only) from the torch wheel on PyPI into
# $ACCEL_CACHE/libtorch-$TORCH_VERSION, verified by hash. Prints that folder.
#
# The Linux torch wheel is a CUDA 13 build. We keep its headers, CMake files and the CPU
# libraries (libtorch_cpu, libc10, libgomp) and add the two CUDA runtime libraries that
# libtorch_cpu.so lists as NEEDED (readelf -d): libcupti.so.13 (Kineto) and
# libcudart.so.13. They load without a GPU. CMake targets are defined by
# cmake/LibTorch.cmake, not by the wheel's TorchConfig.cmake (which insists on a CUDA
# toolkit). The wheel ships no gloo headers; those come from Debian's libgloo-dev (see
# docs/libtorch.md for why that is sound).
source "$(dirname "$0")/lib.sh"

# name|sha256 — the wheels for TORCH_VERSION=2.11.0, cp311, manylinux_2_28 x86_64.
WHEELS=(
  "torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl|7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a"
  "nvidia_cuda_cupti-13.0.85-py3-none-manylinux_2_25_x86_64.whl|4eb01c08e859bf924d222250d2e8f8b8ff6d3db4721288cf35d14252a4d933c8"
  "nvidia_cuda_runtime-13.0.96-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548"
)
REQS=("torch==$TORCH_VERSION" "nvidia-cuda-cupti==13.0.85.*" "nvidia-cuda-runtime==13.0.96.*")

dest="$ACCEL_CACHE/libtorch-$TORCH_VERSION"
dl="$ACCEL_CACHE/downloads/torch"

# The accel Python extension (python/) links the wheel's libtorch_python.so too. Kept apart in
# <dest>/python/ so that no C++ program's rpath sees it; added to a LibTorch cache made before it.
add_torch_python() { # add_torch_python DIR
  [ -f "$1/python/libtorch_python.so" ] && return 0
  local w="$dl/${WHEELS[0]%%|*}" t="$1/python.tmp"
  echo "${WHEELS[0]##*|}  $w" | sha256sum -c --status || return 1
  rm -rf "$t" && mkdir -p "$t"
  (cd "$t" && unzip -q -j "$w" torch/lib/libtorch_python.so) && mv "$t" "$1/python"
}

if [ -f "$dest/.complete" ]; then
  add_torch_python "$dest" || log "no torch wheel in $dl: the accel Python package will not be built"
  echo "$dest"; exit 0
fi

mkdir -p "$dl"
verify() { # verify NAME SHA -> 0 when the file is there and matches
  [ -f "$dl/$1" ] && echo "$2  $dl/$1" | sha256sum -c --status
}
need=0
for w in "${WHEELS[@]}"; do verify "${w%%|*}" "${w##*|}" || need=1; done
if [ "$need" = 1 ]; then
  log "downloading torch $TORCH_VERSION and its CUDA runtime wheels from PyPI (~540 MB)"
  # pip matches --platform tags exactly: name every manylinux tag the three wheels carry.
  pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_25_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d "$dl" "${REQS[@]}"
fi
for w in "${WHEELS[@]}"; do
  verify "${w%%|*}" "${w##*|}" || die "hash mismatch or missing wheel: $dl/${w%%|*}"
done

log "unpacking LibTorch into $dest"
tmp="$dest.tmp"; rm -rf "$tmp"; mkdir -p "$tmp/lib"
(cd "$tmp" && unzip -q "$dl/${WHEELS[0]%%|*}" 'torch/include/*' 'torch/share/cmake/*' \
  torch/lib/libtorch_cpu.so torch/lib/libc10.so torch/lib/libgomp.so.1  \
  'torch-*.dist-info/METADATA')
mv "$tmp/torch/include" "$tmp/torch/share" "$tmp/"
mv "$tmp"/torch/lib/* "$tmp/lib/"
for w in "${WHEELS[@]:1}"; do
  (cd "$tmp" && unzip -q -o "$dl/${w%%|*}" 'nvidia/cu13/lib/libcupti.so.13' 'nvidia/cu13/lib/libcudart.so.13' 2>/dev/null || true)
done
mv "$tmp"/nvidia/cu13/lib/* "$tmp/lib/"
rm -rf "$tmp/torch" "$tmp/nvidia"

# The C++ ABI of the wheel must match our compiler's default (new ABI, g++ >= 5).
n=$(nm -DC "$tmp/lib/libc10.so" | grep -c '__cxx11' || true)
[ "$n" -gt 0 ] || die "libc10.so has no __cxx11 symbols: the wheel uses the old C++ ABI"
for lib in "$tmp"/lib/libtorch_cpu.so; do
  missing=$(LD_LIBRARY_PATH="$tmp/lib" ldd "$lib" | grep 'not found' || true)
  [ -z "$missing" ] || die "libtorch_cpu.so still misses: $missing"
done
add_torch_python "$tmp" || die "cannot unpack libtorch_python.so from ${WHEELS[0]%%|*}"
echo "$TORCH_VERSION" > "$tmp/.complete"
rm -rf "$dest" && mv "$tmp" "$dest"
echo "$dest"

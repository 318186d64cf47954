#!/usr/bin/env bash
# Builds the CUDA programs here and packs what a lent GPU machine needs to run them into
# build/gpu-bundle/ (well under the 64 MiB that travels with the working tree):
#   bin/   accel (the CLI), accel-train-gpt and accel-train-mlp (CUDA build),
#          gpu_build_test_cuda (gpu.h's own test)
#   lib/   every shared library they need that is neither glibc nor torch/NVIDIA (those come
#          from the GPU machine's own torch install: scripts/gpu-check.sh points at it)
#   lib/compat/  libstdc++ and libgcc_s, used only where the machine's are older than ours
#   MANIFEST     what was packed, from which build, with sizes
# The GPU machine has torch 2.11.0+cu130 but none of our Debian packages and no network.
#
#   bash scripts/gpu-bundle.sh      # then: run scripts/gpu-check.sh there, carrying build/gpu-bundle
source "$(dirname "$0")/lib.sh"

bash "$ACCEL_ROOT/scripts/setup.sh" worker >/dev/null
bash "$ACCEL_ROOT/scripts/setup-cuda.sh" >/dev/null
ACCEL_WITH_CUDA=ON bash "$ACCEL_ROOT/scripts/build.sh" accel-cli accel-train-gpt-cuda \
  accel-train-mlp-cuda gpu_build_test_cuda
build="$ACCEL_ROOT/build/${ACCEL_PRESET:-release}"
out="$ACCEL_ROOT/build/gpu-bundle"
rm -rf "$out" && mkdir -p "$out/bin" "$out/lib/compat"
cp "$build/cli/accel" "$build/cuda/accel-train-gpt" "$build/cuda/accel-train-mlp" \
   "$build/tests/unit/gpu/gpu_build_test_cuda" "$out/bin/"
strip --strip-unneeded "$out"/bin/*

# Every resolved library of every binary, minus glibc (the machine's own), torch's and NVIDIA's
# (the machine's torch install), and the C++ runtime (kept aside in compat/).
for f in "$out"/bin/*; do ldd "$f"; done | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
  name=$(basename "$lib")
  case "$name" in
    libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|libutil.so*|ld-linux*) ;;
    libstdc++.so*|libgcc_s.so*) cp -L "$lib" "$out/lib/compat/$name" ;;
    *) case "$lib" in
         */torch-cuda-*|*/libtorch-*) ;;  # torch and the NVIDIA wheels: the GPU machine has them
         *) cp -L "$lib" "$out/lib/$name" ;;
       esac ;;
  esac
done
{
  echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ) from $(git -C "$ACCEL_ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  echo "glibc needed: $(for f in "$out"/bin/*; do objdump -T "$f"; done | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1)"
  (cd "$out" && find bin lib -type f -printf '%s %p\n' | sort -k2)
} > "$out/MANIFEST"
size=$(du -sm "$out" | cut -f1)
[ "$size" -lt 60 ] || die "bundle is $size MiB; at most 64 MiB travels to the GPU machine"
log "bundle ready: $out ($size MiB)"
echo "$out"

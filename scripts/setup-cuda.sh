#!/usr/bin/env bash
# Installs what libaccel's CUDA build needs, from PyPI only, into
# $ACCEL_CACHE/torch-cuda-$TORCH_VERSION (prints that folder). No CUDA toolkit installer, no
# NVIDIA download site, no GPU and no driver needed: see docs/cuda.md.
#
# The folder is laid out like a pip site-packages (torch/lib beside nvidia/*/lib), because
# libtorch_cuda.so finds its CUDA libraries through its RUNPATH $ORIGIN/../../nvidia/*/lib:
#   torch/lib/       libtorch_cuda.so, libc10_cuda.so, libtorch_nvshmem.so (torch wheel) and
#                    hard links to the CPU LibTorch's libtorch_cpu.so, libc10.so, libgomp.so.1
#   nvidia/cu13/     include/ (runtime, crt, cccl, cuBLAS, cuSPARSE, cuSOLVER, NVML headers),
#                    lib/ (each library libtorch_cuda.so lists as NEEDED, transitively)
#   nvidia/nccl/     include/nccl.h, lib/libnccl.so.2
#   nvidia/{cudnn,cusparselt,nvshmem}/lib/   the one NEEDED library of each
# Only NEEDED libraries are unpacked: what torch dlopens on first use (cuDNN's engines,
# cuSOLVER, NVRTC) is not needed to link or to load, and a GPU machine brings its own torch.
# `setup-cuda.sh --runtime` adds those too (and downloads the NVRTC wheel they need): what the
# accel-worker:cuda image ships, so that any program's convolutions, linear algebra and
# runtime-compiled kernels find their libraries.
#
# Versions are exactly those torch 2.11.0's METADATA pins (cuda-toolkit[...]==13.0.2,
# nvidia-cudnn-cu13==9.19.0.56, nvidia-cusparselt-cu13==0.8.0, nvidia-nccl-cu13==2.28.9,
# nvidia-nvshmem-cu13==3.4.5), each wheel checked by SHA-256. crt, cccl and nvml-dev are not
# among torch's extras but belong to the same cuda-toolkit 13.0.2; they carry headers only.
source "$(dirname "$0")/lib.sh"

# name|sha256 — py3-none wheels, so independent of the Python version.
WHEELS=(
  "nvidia_cublas-13.1.0.3-py3-none-manylinux_2_27_x86_64.whl|ee8722c1f0145ab246bccb9e452153b5e0515fd094c3678df50b2a0888b8b171"
  "nvidia_cuda_cccl-13.0.85-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|e0da7ad981f3a8aff08241b5bfc1af868742a63e2762f53a5171c492ef242649"
  "nvidia_cuda_crt-13.0.88-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|2c8043c7c9e02492716426e9919fc78d2c5b3b2a7a768a88e952676b08aa55a4"
  "nvidia_cudnn_cu13-9.19.0.56-py3-none-manylinux_2_27_x86_64.whl|d20e1734305e9d68889a96e3f35094d733ff1f83932ebe462753973e53a572bf"
  "nvidia_cufft-12.0.0.61-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|6c44f692dce8fd5ffd3e3df134b6cdb9c2f72d99cf40b62c32dde45eea9ddad3"
  "nvidia_cufile-1.15.1.6-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|08a3ecefae5a01c7f5117351c64f17c7c62efa5fffdbe24fc7d298da19cd0b44"
  "nvidia_curand-10.4.0.35-py3-none-manylinux_2_27_x86_64.whl|1aee33a5da6e1db083fe2b90082def8915f30f3248d5896bcec36a579d941bfc"
  "nvidia_cusolver-12.0.4.66-py3-none-manylinux_2_27_x86_64.whl|0a759da5dea5c0ea10fd307de75cdeb59e7ea4fcb8add0924859b944babf1112"
  "nvidia_cusparse-12.6.3.3-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|2b3c89c88d01ee0e477cb7f82ef60a11a4bcd57b6b87c33f789350b59759360b"
  "nvidia_cusparselt_cu13-0.8.0-py3-none-manylinux2014_x86_64.whl|25e30a8a7323935d4ad0340b95a0b69926eee755767e8e0b1cf8dd85b197d3fd"
  "nvidia_nccl_cu13-2.28.9-py3-none-manylinux_2_18_x86_64.whl|e4553a30f34195f3fa1da02a6da3d6337d28f2003943aa0a3d247bbc25fefc42"
  "nvidia_nvjitlink-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl|13a74f429e23b921c1109976abefacc69835f2f433ebd323d3946e11d804e47b"
  "nvidia_nvml_dev-13.0.87-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|082871368275cf6620fc900f55d8eaf2563b263a38a00a5168e9650bce963ba1"
  "nvidia_nvshmem_cu13-3.4.5-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|290f0a2ee94c9f3687a02502f3b9299a9f9fe826e6d0287ee18482e78d495b80"
)
REQS=("nvidia-cublas==13.1.0.3.*" "nvidia-cuda-cccl==13.0.85.*" "nvidia-cuda-crt==13.0.88.*"
      "nvidia-cudnn-cu13==9.19.0.56" "nvidia-cufft==12.0.0.61.*" "nvidia-cufile==1.15.1.6.*"
      "nvidia-curand==10.4.0.35.*" "nvidia-cusolver==12.0.4.66.*" "nvidia-cusparse==12.6.3.3.*"
      "nvidia-cusparselt-cu13==0.8.0" "nvidia-nccl-cu13==2.28.9" "nvidia-nvjitlink==13.0.88.*"
      "nvidia-nvml-dev==13.0.87.*" "nvidia-nvshmem-cu13==3.4.5")

# Only with --runtime: what torch loads lazily at run time.
RUNTIME_WHEELS=(
  "nvidia_cuda_nvrtc-13.0.88-py3-none-manylinux2010_x86_64.manylinux_2_12_x86_64.whl|ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575"
)
runtime=0; [ "${1:-}" = --runtime ] && runtime=1

dest="$ACCEL_CACHE/torch-cuda-$TORCH_VERSION"
dl="$ACCEL_CACHE/downloads/cuda"
torch_dl="$ACCEL_CACHE/downloads/torch"

if [ -f "$dest/.complete" ] && { [ "$runtime" = 0 ] || [ -f "$dest/.complete-runtime" ]; }; then
  echo "$dest"; exit 0
fi

# The CPU LibTorch first: its wheel (torch, cupti, cudart) and unpacked libraries are shared.
cpu=$(bash "$ACCEL_ROOT/scripts/setup-libtorch.sh")

mkdir -p "$dl"
verify() { [ -f "$dl/$1" ] && echo "$2  $dl/$1" | sha256sum -c --status; }
need=0
for w in "${WHEELS[@]}"; do verify "${w%%|*}" "${w##*|}" || need=1; done
if [ "$need" = 1 ]; then
  log "downloading the CUDA 13 wheels torch $TORCH_VERSION pins from PyPI (~1.8 GB)"
  # pip matches --platform tags exactly: name every manylinux tag these wheels carry.
  pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
    --platform manylinux_2_25_x86_64 --platform manylinux_2_18_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 -d "$dl" "${REQS[@]}"
fi
for w in "${WHEELS[@]}"; do
  verify "${w%%|*}" "${w##*|}" || die "hash mismatch or missing wheel: $dl/${w%%|*}"
done

torch_whl=$(ls "$torch_dl"/torch-"$TORCH_VERSION"-*.whl)
whl() { for w in "${WHEELS[@]}"; do case "${w%%|*}" in "$1"-*) echo "$dl/${w%%|*}"; return;; esac; done; die "no wheel $1"; }
take() { # take WHEEL PATTERN... : unzip members into the site folder
  local w=$1; shift
  (cd "$tmp" && unzip -q -o "$w" "$@")
}

if [ ! -f "$dest/.complete" ]; then
log "unpacking the CUDA build's headers and libraries into $dest"
tmp="$dest.tmp"; rm -rf "$tmp"; mkdir -p "$tmp/torch/lib"
take "$torch_whl" torch/lib/libtorch_cuda.so torch/lib/libc10_cuda.so torch/lib/libtorch_nvshmem.so
for f in libtorch_cpu.so libc10.so libgomp.so.1; do
  ln "$cpu/lib/$f" "$tmp/torch/lib/$f" 2>/dev/null || cp "$cpu/lib/$f" "$tmp/torch/lib/$f"
done
take "$(ls "$torch_dl"/nvidia_cuda_runtime-*.whl)" 'nvidia/cu13/include/*' nvidia/cu13/lib/libcudart.so.13
take "$(ls "$torch_dl"/nvidia_cuda_cupti-*.whl)" nvidia/cu13/lib/libcupti.so.13
take "$(whl nvidia_cuda_crt)" 'nvidia/cu13/include/*'
take "$(whl nvidia_cuda_cccl)" 'nvidia/cu13/include/*'
take "$(whl nvidia_nvml_dev)" 'nvidia/cu13/include/*'
take "$(whl nvidia_cusolver)" 'nvidia/cu13/include/*'
take "$(whl nvidia_cublas)" 'nvidia/cu13/include/*' nvidia/cu13/lib/libcublas.so.13 nvidia/cu13/lib/libcublasLt.so.13
take "$(whl nvidia_cusparse)" 'nvidia/cu13/include/*' nvidia/cu13/lib/libcusparse.so.12
take "$(whl nvidia_cufft)" nvidia/cu13/lib/libcufft.so.12
take "$(whl nvidia_cufile)" nvidia/cu13/lib/libcufile.so.0
take "$(whl nvidia_curand)" nvidia/cu13/lib/libcurand.so.10
take "$(whl nvidia_nvjitlink)" nvidia/cu13/lib/libnvJitLink.so.13
take "$(whl nvidia_nccl_cu13)" 'nvidia/nccl/include/*' nvidia/nccl/lib/libnccl.so.2
take "$(whl nvidia_cudnn_cu13)" nvidia/cudnn/lib/libcudnn.so.9
take "$(whl nvidia_cusparselt_cu13)" nvidia/cusparselt/lib/libcusparseLt.so.0
take "$(whl nvidia_nvshmem_cu13)" nvidia/nvshmem/lib/libnvshmem_host.so.3

# Everything libtorch_cuda.so needs must resolve inside the folder (RUNPATH), no driver needed.
for lib in "$tmp"/torch/lib/libtorch_cuda.so "$tmp"/torch/lib/libc10_cuda.so; do
  missing=$(env -u LD_LIBRARY_PATH ldd "$lib" | grep 'not found' || true)
  [ -z "$missing" ] || die "$(basename "$lib") still misses: $missing"
done
[ -f "$tmp/nvidia/nccl/include/nccl.h" ] && [ -f "$tmp/nvidia/cu13/include/cuda_runtime.h" ] &&
  [ -f "$tmp/nvidia/cu13/include/nvml.h" ] || die "CUDA headers missing in $tmp"
echo "$TORCH_VERSION" > "$tmp/.complete"
rm -rf "$dest" && mv "$tmp" "$dest"
fi

if [ "$runtime" = 1 ] && [ ! -f "$dest/.complete-runtime" ]; then
  rw="${RUNTIME_WHEELS[0]%%|*}" rsha="${RUNTIME_WHEELS[0]##*|}"
  if ! verify "$rw" "$rsha"; then
    log "downloading NVRTC for the runtime set"
    pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
      --platform manylinux_2_12_x86_64 --platform manylinux2010_x86_64 -d "$dl" "nvidia-cuda-nvrtc==13.0.88.*"
  fi
  verify "$rw" "$rsha" || die "hash mismatch or missing wheel: $dl/$rw"
  log "adding the libraries torch loads at run time (cuDNN engines, cuSOLVER, NVRTC)"
  tmp="$dest"
  take "$torch_whl" torch/lib/libtorch_cuda_linalg.so torch/lib/libcaffe2_nvrtc.so
  take "$(whl nvidia_cudnn_cu13)" 'nvidia/cudnn/lib/*'
  take "$(whl nvidia_cusolver)" nvidia/cu13/lib/libcusolver.so.12
  take "$dl/$rw" 'nvidia/cu13/lib/libnvrtc*'
  touch "$dest/.complete-runtime"
fi
echo "$dest"

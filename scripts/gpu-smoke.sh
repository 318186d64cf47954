#!/usr/bin/env bash
# GPU check (run on a machine with an NVIDIA GPU and a CUDA build of torch installed for
# python3, as the GPU machines have): builds the CUDA/NCCL path of libaccel with the `gpu`
# preset against that torch, then runs a 1-GPU bf16 NCCL training of the GPT example and, when
# there are 2+ GPUs, a 2-GPU one. Prints what it saw; exits non-zero on any failure.
# Never part of the test suite: CI machines have no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "nccl", torch.cuda.nccl.version(), "gpus", torch.cuda.device_count())'
cmake --preset gpu -DCMAKE_PREFIX_PATH="$prefix" -DACCEL_BUILD_OPERATOR=OFF -DACCEL_BUILD_TESTS=OFF \
  -DCMAKE_CUDA_ARCHITECTURES=90 >/dev/null
cmake --build --preset gpu -j "$(nproc)" --target accel-cli accel-train-gpt
bin=build/gpu
run() {
  local n=$1
  echo "== $n GPU(s), bf16, NCCL"
  ACCEL_PROJECT_DIR=$(mktemp -d) "$bin/worker/accel" launch --num_processes "$n" \
    --main_process_port 0 --mixed_precision bf16 --backend nccl -- \
    "$bin/examples/accel-train-gpt" --steps 60 --batch-size 32 --seq-len 128 --dim 256 \
    --layers 4 --log-every 10
}
run 1
if [ "$(python3 -c 'import torch; print(torch.cuda.device_count())')" -ge 2 ]; then run 2; fi
echo "gpu smoke: OK"

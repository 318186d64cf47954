// gpu.h — the few things libaccel does differently in its CPU and CUDA builds.
//
// libaccel is built twice from one set of objects: `accel` with gpu_cpu.cpp (links
// libtorch_cpu only) and `accel_cuda` with gpu_cuda.cpp (links libtorch_cuda, NCCL). Every
// other file has one code path for both: device-generic ATen (autocast, generators, TF32
// flags) works the same way in both, and the decisions that need no GPU live in
// device_plan.h as pure functions. docs/cuda.md explains the split.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace accel::gpu {

// True in the CUDA build.
bool built_with_cuda();
// "CPU only" or "CUDA 13.0, NCCL 2.28.9" (the versions this build was compiled against).
std::string build_description();

// The CUDA devices this process can use. count == 0 comes with why_none, in words: the CPU
// build, a missing driver (libcuda.so.1), an empty CUDA_VISIBLE_DEVICES, or the CUDA
// runtime's own error. Never throws; cheap after the first call.
struct DeviceProbe {
  int count = 0;
  std::string why_none;
};
DeviceProbe probe_devices();

// Makes `device` the current CUDA device of this thread (NCCL communicators and the caching
// allocator follow it). No-op in the CPU build.
void set_current_device(int device);

// A ProcessGroupNCCL backend for `device`, with the process-group timeout. The NCCL settings
// of nccl_environment() must be in the environment before this is called. Throws
// std::runtime_error in the CPU build.
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store,
                                                    int rank, int world_size,
                                                    std::chrono::milliseconds timeout, int device);

// The CUDA caching allocator's view of `device`: bytes allocated now, reserved (allocated plus
// cached), and the peak allocated since start. nullopt in the CPU build.
struct MemoryStats {
  int64_t allocated = 0;
  int64_t reserved = 0;
  int64_t peak_allocated = 0;
};
std::optional<MemoryStats> memory_stats(int device);

// GPU utilisation of `device` (0..1, the fraction of the last sample period a kernel ran),
// read through NVML loaded at run time (dlopen of libnvidia-ml.so.1: no build dependency on
// the driver). nullopt when NVML is absent or fails, and in the CPU build; never throws.
std::optional<double> utilization(int device);

// TF32 tensor cores for float32 matmuls and cuDNN convolutions. No-op in the CPU build.
void set_tf32(bool enabled);

}  // namespace accel::gpu

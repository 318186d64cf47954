// gpu_cuda.cpp — gpu.h for the CUDA build of libaccel (target `accel_cuda`): CUDA runtime,
// c10's CUDA caching allocator, ProcessGroupNCCL, and NVML through dlopen. Compiled only with
// ACCEL_WITH_CUDA=ON, against the headers of the NVIDIA wheels torch pins (docs/cuda.md).
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <nccl.h>
#include <nvml.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>

#include <ATen/Context.h>

#include <chrono>
#include <cstdlib>
#include <mutex>

#include "device_plan.h"
#include "gpu.h"

namespace accel::gpu {

bool built_with_cuda() { return true; }

std::string build_description() {
  return "CUDA " + std::to_string(CUDART_VERSION / 1000) + "." +
         std::to_string(CUDART_VERSION % 1000 / 10) + ", NCCL " + std::to_string(NCCL_MAJOR) + "." +
         std::to_string(NCCL_MINOR) + "." + std::to_string(NCCL_PATCH);
}

namespace {

DeviceEnv device_env() {
  std::map<std::string, std::string> env;
  for (const char* k : {"CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES"})
    if (const char* v = std::getenv(k)) env[k] = v;
  return DeviceEnv::from(env);
}

bool driver_library_found() {
  void* h = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!h) return false;
  ::dlclose(h);
  return true;
}

}  // namespace

DeviceProbe probe_devices() {
  static const DeviceProbe probe = [] {
    DeviceProbe p;
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err == cudaSuccess && n > 0) {
      p.count = static_cast<int>(c10::cuda::device_count());
      if (p.count > 0) return p;
    }
    (void)cudaGetLastError();  // clear the sticky error cudaGetDeviceCount may leave
    const std::string runtime =
        err == cudaSuccess ? std::string()
                           : std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err);
    p.count = 0;
    p.why_none = explain_no_device(device_env(), driver_library_found(), runtime);
    return p;
  }();
  return probe;
}

void set_current_device(int device) {
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(device));
}

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store,
                                                    int rank, int world_size,
                                                    std::chrono::milliseconds timeout, int device) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world_size, options);
  // Bound to this rank's GPU and connected now, as init_process_group(device_id=...) does: an
  // NCCL set-up error (no NVLink/IB path, a bad NCCL_* variable) shows at start-up, not at the
  // first all-reduce, and the communicator needs no extra barrier to agree on the device.
  const at::Device d(at::kCUDA, static_cast<c10::DeviceIndex>(device));
  nccl->setBoundDeviceId(d);
  nccl->eagerConnectSingleDevice(d);
  return nccl;
}

std::optional<MemoryStats> memory_stats(int device) {
  if (device < 0) return std::nullopt;
  const auto stats =
      c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
  constexpr auto all = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
  MemoryStats m;
  m.allocated = stats.allocated_bytes[all].current;
  m.reserved = stats.reserved_bytes[all].current;
  m.peak_allocated = stats.allocated_bytes[all].peak;
  return m;
}

namespace {

// NVML, resolved once. The driver installs libnvidia-ml.so.1 (the container toolkit mounts it
// with the "utility" capability); without it every call answers nullopt.
struct Nvml {
  decltype(&nvmlInit_v2) init = nullptr;
  decltype(&nvmlDeviceGetHandleByPciBusId_v2) by_pci = nullptr;
  decltype(&nvmlDeviceGetUtilizationRates) utilization = nullptr;
  bool ok = false;

  Nvml() {
    void* h = ::dlopen("libnvidia-ml.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!h) return;
    init = reinterpret_cast<decltype(init)>(::dlsym(h, "nvmlInit_v2"));
    by_pci = reinterpret_cast<decltype(by_pci)>(::dlsym(h, "nvmlDeviceGetHandleByPciBusId_v2"));
    utilization =
        reinterpret_cast<decltype(utilization)>(::dlsym(h, "nvmlDeviceGetUtilizationRates"));
    ok = init && by_pci && utilization && init() == NVML_SUCCESS;
  }
};

}  // namespace

std::optional<double> utilization(int device) {
  static Nvml nvml;
  if (!nvml.ok || device < 0) return std::nullopt;
  // NVML numbers GPUs physically; CUDA after CUDA_VISIBLE_DEVICES. The PCI bus id is shared.
  char bus[32] = {0};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, device) != cudaSuccess) return std::nullopt;
  nvmlDevice_t handle;
  if (nvml.by_pci(bus, &handle) != NVML_SUCCESS) return std::nullopt;
  nvmlUtilization_t u;
  if (nvml.utilization(handle, &u) != NVML_SUCCESS) return std::nullopt;
  return u.gpu / 100.0;
}

void set_tf32(bool enabled) {
  const auto p = enabled ? at::Float32Precision::TF32 : at::Float32Precision::IEEE;
  at::globalContext().setFloat32Precision(at::Float32Backend::CUDA, at::Float32Op::MATMUL, p);
  at::globalContext().setFloat32Precision(at::Float32Backend::CUDA, at::Float32Op::CONV, p);
}

}  // namespace accel::gpu

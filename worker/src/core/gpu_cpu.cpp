// gpu_cpu.cpp — gpu.h for the CPU build of libaccel (target `accel`).
#include <stdexcept>

#include "gpu.h"

namespace accel::gpu {

bool built_with_cuda() { return false; }
std::string build_description() { return "CPU only"; }

DeviceProbe probe_devices() {
  return {0,
          "this program is linked with the CPU build of libaccel (libaccel without CUDA; "
          "use the CUDA build, e.g. the accel-worker:cuda image)"};
}

void set_current_device(int) {}

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>&, int,
                                                    int, std::chrono::milliseconds, int) {
  throw std::runtime_error("backend nccl needs the CUDA build of libaccel");
}

std::optional<MemoryStats> memory_stats(int) { return std::nullopt; }
std::optional<double> utilization(int) { return std::nullopt; }
void set_tf32(bool) {}

}  // namespace accel::gpu

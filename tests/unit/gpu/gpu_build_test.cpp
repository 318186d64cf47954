// gpu.h in each build of libaccel: what the build says it is, and what it sees on this machine.
// Built twice: gpu_build_test (CPU build) and gpu_build_test_cuda (CUDA build), each told which
// it must be (ACCEL_EXPECT_CUDA_BUILD). Where a result depends on the machine (a driver being
// installed), the test checks the machine itself and asserts the matching outcome.
#include "gpu.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace accel {
namespace {

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

[[maybe_unused]] bool library_loads(const char* name) {
  void* h = ::dlopen(name, RTLD_LAZY | RTLD_LOCAL);
  if (h) ::dlclose(h);
  return h != nullptr;
}

TEST(GpuBuild, SaysWhichBuildItIs) {
  EXPECT_EQ(gpu::built_with_cuda(), ACCEL_EXPECT_CUDA_BUILD == 1);
  const std::string d = gpu::build_description();
#if ACCEL_EXPECT_CUDA_BUILD
  // The versions of the wheels torch 2.11.0 pins (scripts/setup-cuda.sh).
  EXPECT_TRUE(has(d, "CUDA 13.0")) << d;
  EXPECT_TRUE(has(d, "NCCL 2.28.9")) << d;
#else
  EXPECT_EQ(d, "CPU only");
#endif
}

#if ACCEL_EXPECT_CUDA_BUILD

TEST(GpuBuild, CudaBuildLoadsAndExplainsAMissingDriver) {
  const gpu::DeviceProbe p = gpu::probe_devices();
  if (library_loads("libcuda.so.1")) {
    // A machine with a driver: the probe must not invent a reason (count may be 0 in a
    // container without devices, but then the reason is not the driver).
    EXPECT_FALSE(has(p.why_none, "libcuda.so.1")) << p.why_none;
  } else {
    EXPECT_EQ(p.count, 0);
    EXPECT_TRUE(has(p.why_none, "no NVIDIA driver: libcuda.so.1 cannot be loaded")) << p.why_none;
  }
}

TEST(GpuBuild, UtilizationIsAbsentWithoutNvmlNeverAnError) {
  EXPECT_FALSE(gpu::utilization(-1).has_value());
  if (!library_loads("libnvidia-ml.so.1")) EXPECT_FALSE(gpu::utilization(0).has_value());
}

#else

TEST(GpuBuild, CpuBuildSeesNoDeviceAndSaysWhy) {
  const gpu::DeviceProbe p = gpu::probe_devices();
  EXPECT_EQ(p.count, 0);
  EXPECT_TRUE(has(p.why_none, "CPU build of libaccel")) << p.why_none;
}

TEST(GpuBuild, CpuBuildHasNoNcclAndNoGpuMetrics) {
  EXPECT_THROW(gpu::make_nccl_backend({}, 0, 1, std::chrono::seconds(1), 0), std::runtime_error);
  EXPECT_FALSE(gpu::memory_stats(0).has_value());
  EXPECT_FALSE(gpu::utilization(0).has_value());
}

#endif

}  // namespace
}  // namespace accel

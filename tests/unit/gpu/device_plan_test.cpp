// device_plan.h: which device and backend a rank gets, the errors when a GPU is asked for and
// absent, the reasons given, and the NCCL settings — all without a GPU.
#include "device_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "accel/config/config_error.h"

namespace accel {
namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

DeviceRequest request(const std::string& backend = "auto", const std::string& gpus = "0",
                      int local_rank = 0, int local_world = 1) {
  DeviceRequest r;
  r.cpu = {"false", "default"};
  r.backend = {backend, backend == "auto" ? "default" : "environment variable ACCEL_BACKEND"};
  r.mixed_precision = {"bf16", "environment variable ACCEL_MIXED_PRECISION"};
  r.gpus_per_node = {gpus, gpus == "0" ? "default" : "environment variable ACCEL_GPUS_PER_NODE"};
  r.local_rank = local_rank;
  r.local_world_size = local_world;
  return r;
}

// Runs plan_device and returns the ConfigError's message ("" when it did not throw).
std::string error_of(const DeviceRequest& r, int visible,
                     const std::string& why = "no NVIDIA driver", const DeviceEnv& env = {}) {
  try {
    plan_device(r, visible, why, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(DevicePlan, LocalRankTakesTheCudaDeviceOfTheSameNumber) {
  for (int rank = 0; rank < 8; ++rank) {
    DevicePlan p = plan_device(request("auto", "8", rank, 8), 8, "", {});
    EXPECT_TRUE(p.cuda);
    EXPECT_EQ(p.device_index, rank);
    EXPECT_EQ(p.backend, "nccl");
    EXPECT_EQ(p.note, "");
  }
}

TEST(DevicePlan, AutoFallsBackToGlooOnCpuAndSaysWhy) {
  DevicePlan p =
      plan_device(request("auto"), 0, "no NVIDIA driver: libcuda.so.1 cannot be loaded", {});
  EXPECT_FALSE(p.cuda);
  EXPECT_EQ(p.device_index, -1);
  EXPECT_EQ(p.backend, "gloo");
  EXPECT_TRUE(contains(p.note, "backend auto")) << p.note;
  EXPECT_TRUE(contains(p.note, "libcuda.so.1")) << p.note;
  EXPECT_TRUE(contains(p.note, "using gloo on CPU")) << p.note;
}

TEST(DevicePlan, CpuTrueTrainsOnCpuEvenWithGpusAndSaysNothing) {
  DeviceRequest r = request("auto");
  r.cpu = {"true", "launch flag --cpu"};
  DevicePlan p = plan_device(r, 4, "", {});
  EXPECT_FALSE(p.cuda);
  EXPECT_EQ(p.backend, "gloo");
  EXPECT_EQ(p.note, "");
}

TEST(DevicePlan, GpusPerNodeWithoutADeviceNamesTheKeyItsSourceAndTheMissingDevice) {
  const std::string m =
      error_of(request("auto", "2"), 0, "no NVIDIA driver: libcuda.so.1 cannot be loaded");
  EXPECT_TRUE(contains(m, "gpus_per_node: '2' from environment variable ACCEL_GPUS_PER_NODE")) << m;
  EXPECT_TRUE(contains(m, "spec.gpusPerNode")) << m;
  EXPECT_TRUE(contains(m, "sees no CUDA device")) << m;
  EXPECT_TRUE(contains(m, "libcuda.so.1")) << m;
}

TEST(DevicePlan, GpusPerNodeAboveWhatIsVisibleIsAnError) {
  const std::string m =
      error_of(request("auto", "8", 0, 8), 4, "", DeviceEnv{std::string("0,1,2,3"), {}});
  EXPECT_TRUE(contains(m, "asks for 8 CUDA devices per node, but this process sees only 4")) << m;
  EXPECT_TRUE(contains(m, "CUDA_VISIBLE_DEVICES=0,1,2,3")) << m;
}

TEST(DevicePlan, NcclWithoutADeviceNamesTheBackendKeyAndTheReason) {
  const std::string m = error_of(request("nccl"), 0, "CUDA_VISIBLE_DEVICES is empty");
  EXPECT_TRUE(
      contains(m, "backend: 'nccl' from environment variable ACCEL_BACKEND needs a CUDA device"))
      << m;
  EXPECT_TRUE(contains(m, "CUDA_VISIBLE_DEVICES is empty")) << m;
  EXPECT_TRUE(contains(m, "use backend gloo or auto")) << m;
}

TEST(DevicePlan, NcclWithCpuTrueBlamesTheCpuKey) {
  DeviceRequest r = request("nccl");
  r.cpu = {"true", "config file /c.yaml"};
  const std::string m = error_of(r, 2);
  EXPECT_TRUE(contains(m, "cpu is true (config file /c.yaml)")) << m;
}

TEST(DevicePlan, Fp16WithoutADeviceIsAConfigError) {
  DeviceRequest r = request("auto");
  r.mixed_precision = {"fp16", "code (AcceleratorOptions::mixed_precision)"};
  const std::string m = error_of(r, 0, "no NVIDIA driver");
  EXPECT_TRUE(
      contains(m, "mixed_precision: 'fp16' from code (AcceleratorOptions::mixed_precision)"))
      << m;
  EXPECT_TRUE(contains(m, "on CPU use bf16")) << m;
}

TEST(DevicePlan, CpuTrueContradictsGpusPerNode) {
  DeviceRequest r = request("auto", "1");
  r.cpu = {"true", "launch flag --cpu"};
  const std::string m = error_of(r, 1);
  EXPECT_TRUE(contains(m, "cpu: 'true' from launch flag --cpu contradicts gpus_per_node: '1'"))
      << m;
}

TEST(DevicePlan, ARankWithoutADeviceOfItsOwnIsRefused) {
  const std::string m =
      error_of(request("auto", "0", 2, 4), 2, "", DeviceEnv{std::string("0,1"), {}});
  EXPECT_TRUE(contains(m, "LOCAL_RANK 2 (of 4 processes on this node) needs cuda:2")) << m;
  EXPECT_TRUE(contains(m, "sees only 2 CUDA device(s) (CUDA_VISIBLE_DEVICES=0,1)")) << m;
}

TEST(DevicePlan, OneDevicePerRankChosenByTheLauncherIsCudaZero) {
  // A launcher that gives each process CUDA_VISIBLE_DEVICES=<its GPU>: rank 3 sees one device.
  DevicePlan p = plan_device(request("auto", "0", 3, 4), 1, "", DeviceEnv{std::string("3"), {}});
  EXPECT_TRUE(p.cuda);
  EXPECT_EQ(p.device_index, 0);
}

TEST(DevicePlan, GlooOnGpuStaysGloo) {
  DevicePlan p = plan_device(request("gloo"), 2, "", {});
  EXPECT_TRUE(p.cuda);
  EXPECT_EQ(p.backend, "gloo");
}

TEST(NoDeviceReason, ContainerRuntimeThatExposedNoGpu) {
  for (const char* v : {"void", "none", "", "NONE"}) {
    const std::string m = explain_no_device(DeviceEnv{{}, std::string(v)}, true, "");
    EXPECT_TRUE(contains(m, "container runtime exposed no GPU")) << v << ": " << m;
    EXPECT_TRUE(contains(m, "nvidia.com/gpu")) << m;
  }
}

TEST(NoDeviceReason, EmptyOrNegativeCudaVisibleDevices) {
  EXPECT_EQ(explain_no_device(DeviceEnv{std::string(""), {}}, true, ""),
            "CUDA_VISIBLE_DEVICES is empty");
  EXPECT_TRUE(
      contains(explain_no_device(DeviceEnv{std::string("-1"), {}}, true, ""), "hides every GPU"));
}

TEST(NoDeviceReason, MissingDriverThenTheRuntimesOwnError) {
  EXPECT_TRUE(
      contains(explain_no_device({}, false, "cudaErrorInsufficientDriver"), "libcuda.so.1"));
  EXPECT_EQ(explain_no_device({}, true, "cudaErrorNoDevice: no CUDA-capable device is detected"),
            "the CUDA runtime reports: cudaErrorNoDevice: no CUDA-capable device is detected");
  // A real device list from the device plugin is not a reason by itself.
  EXPECT_TRUE(contains(explain_no_device(DeviceEnv{{}, std::string("GPU-1234")}, false, ""),
                       "libcuda.so.1"));
}

TEST(DeviceEnvFrom, ReadsOnlyTheTwoVariables) {
  DeviceEnv e = DeviceEnv::from({{"CUDA_VISIBLE_DEVICES", "1,0"}, {"PATH", "/bin"}});
  ASSERT_TRUE(e.cuda_visible_devices.has_value());
  EXPECT_EQ(*e.cuda_visible_devices, "1,0");
  EXPECT_FALSE(e.nvidia_visible_devices.has_value());
}

std::map<std::string, std::string> as_map(
    const std::vector<std::pair<std::string, std::string>>& v) {
  return {v.begin(), v.end()};
}

TEST(NcclEnvironment, TearsDownOnErrorsAndRecordsCollectivesPerRank) {
  NcclSettings s;
  s.trace_entries = 500;
  s.trace_dir = "/workspace/flight_recorder/attempt_2";
  auto env = as_map(nccl_environment(s));
  EXPECT_EQ(env["TORCH_NCCL_ASYNC_ERROR_HANDLING"], "1");
  EXPECT_EQ(env["TORCH_NCCL_ENABLE_MONITORING"], "1");
  EXPECT_EQ(env["TORCH_NCCL_DUMP_ON_TIMEOUT"], "1");
  EXPECT_EQ(env["TORCH_FR_BUFFER_SIZE"], "500");
  EXPECT_EQ(env["TORCH_NCCL_TRACE_BUFFER_SIZE"], "500");
  EXPECT_EQ(env["TORCH_FR_DUMP_TEMP_FILE"], "/workspace/flight_recorder/attempt_2/rank_");
  EXPECT_EQ(env["TORCH_NCCL_DEBUG_INFO_TEMP_FILE"], "/workspace/flight_recorder/attempt_2/rank_");
}

TEST(NcclEnvironment, ZeroEntriesTurnsTheRecorderOff) {
  NcclSettings s;
  s.trace_entries = 0;
  s.trace_dir = "/x";
  auto env = as_map(nccl_environment(s));
  EXPECT_EQ(env["TORCH_FR_BUFFER_SIZE"], "0");
  EXPECT_EQ(env["TORCH_NCCL_DUMP_ON_TIMEOUT"], "0");
  EXPECT_EQ(env.count("TORCH_FR_DUMP_TEMP_FILE"), 0u);
  EXPECT_EQ(env["TORCH_NCCL_ASYNC_ERROR_HANDLING"], "1");  // error handling stays on
}

TEST(NcclEnvironment, EachAttemptHasItsOwnFolder) {
  EXPECT_EQ(flight_recorder_attempt_dir("/w/fr", 0), "/w/fr/attempt_0");
  EXPECT_EQ(flight_recorder_attempt_dir("/w/fr", 3), "/w/fr/attempt_3");
}

}  // namespace
}  // namespace accel

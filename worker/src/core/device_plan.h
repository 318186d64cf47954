// device_plan.h — the GPU decisions that need no GPU, as pure functions over plain structs:
// which device a rank takes, which backend it uses, why there is no device, and what NCCL is
// told. Accelerator applies them; tests/unit/worker/device_plan_test.cpp checks them on any
// machine. No LibTorch here.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace accel {

// A setting and where it came from, in words ("environment variable ACCEL_BACKEND").
struct Sourced {
  std::string value;
  std::string origin;
};

// What the configuration asks for.
struct DeviceRequest {
  Sourced cpu;              // "true": train on CPU even with GPUs present
  Sourced backend;          // auto, nccl or gloo
  Sourced mixed_precision;  // no, fp16, bf16
  Sourced gpus_per_node;    // "0" = no GPU asked for; the operator sets it from spec.gpusPerNode
  int local_rank = 0;
  int local_world_size = 1;
};

// The device environment a container runtime or launcher sets (absent = not set).
struct DeviceEnv {
  std::optional<std::string> cuda_visible_devices;
  std::optional<std::string> nvidia_visible_devices;
  static DeviceEnv from(const std::map<std::string, std::string>& env);
};

struct DevicePlan {
  bool cuda = false;
  int device_index = -1;  // cuda:N when cuda
  std::string backend;    // nccl or gloo (auto resolved)
  // One line for the main process to print when auto chose Gloo because no GPU is visible.
  std::string note;
};

// Decides the device and backend of one rank, given how many CUDA devices the process sees
// (after CUDA_VISIBLE_DEVICES) and, when none, why. Throws ConfigError (exit code 78) naming
// the key, its source and the missing device when the configuration asks for a GPU that is
// not there: gpus_per_node > 0, backend nccl, fp16; and when this rank's LOCAL_RANK has no
// device of its own. Rules:
//   - cpu=true trains on CPU (and contradicts gpus_per_node > 0 or backend nccl);
//   - otherwise a visible device is used: rank takes cuda:LOCAL_RANK; with one device visible
//     and CUDA_VISIBLE_DEVICES naming exactly one (a launcher that isolates each rank), cuda:0;
//   - backend auto is nccl on CUDA and gloo on CPU.
DevicePlan plan_device(const DeviceRequest& request, int visible_devices,
                       const std::string& why_none, const DeviceEnv& env);

// Why a process sees no CUDA device, in words, from what the environment says and what was
// found: the container runtime exposing none (NVIDIA_VISIBLE_DEVICES void/none/empty), an
// empty or -1 CUDA_VISIBLE_DEVICES, no driver library, or the CUDA runtime's error.
std::string explain_no_device(const DeviceEnv& env, bool driver_found,
                              const std::string& runtime_error);

// The settings handed to ProcessGroupNCCL through its environment variables.
// The process-group timeout itself goes to ProcessGroupNCCL's Options (gpu::make_nccl_backend).
struct NcclSettings {
  int trace_entries = 2000;  // flight-recorder ring buffer entries; 0 = no recorder
  std::string trace_dir;     // per-attempt folder of the per-rank flight-recorder dumps
};
// Variables in the order they are set, e.g. TORCH_NCCL_ASYNC_ERROR_HANDLING=1 (a failed or
// timed-out collective tears the process down: libaccel turns that into exit code 80),
// TORCH_NCCL_DUMP_ON_TIMEOUT=1 with TORCH_FR_BUFFER_SIZE and TORCH_FR_DUMP_TEMP_FILE
// (<trace_dir>/rank_, c10d appends the rank). Set without overwriting what the user exported.
std::vector<std::pair<std::string, std::string>> nccl_environment(const NcclSettings& s);

// <flight_recorder_dir>/attempt_<N>: each attempt of a job keeps its own record.
std::string flight_recorder_attempt_dir(const std::string& flight_recorder_dir, int attempt);

}  // namespace accel

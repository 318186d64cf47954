#include "device_plan.h"

#include <algorithm>
#include <cctype>

#include "accel/config/config_error.h"

namespace accel {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

int to_int(const std::string& s) {
  try {
    return std::stoi(s);
  } catch (...) {
    return 0;
  }
}

// The entries of a comma-separated device list ("0,1", "GPU-uuid,...").
std::vector<std::string> entries(const std::string& list) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : list + ",") {
    if (c == ',') {
      if (!trim(cur).empty()) out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

// "gpus_per_node: '2' from environment variable ACCEL_GPUS_PER_NODE"
std::string named(const char* key, const Sourced& s) {
  return std::string(key) + ": '" + s.value + "' from " + s.origin;
}

// What the device variables say, for messages: " (CUDA_VISIBLE_DEVICES=0,1)".
std::string visible_env(const DeviceEnv& env) {
  std::string out;
  if (env.cuda_visible_devices) out += "CUDA_VISIBLE_DEVICES=" + *env.cuda_visible_devices;
  if (env.nvidia_visible_devices)
    out += (out.empty() ? "" : ", ") + std::string("NVIDIA_VISIBLE_DEVICES=") +
           *env.nvidia_visible_devices;
  return out.empty() ? "" : " (" + out + ")";
}

}  // namespace

DeviceEnv DeviceEnv::from(const std::map<std::string, std::string>& env) {
  DeviceEnv d;
  if (auto it = env.find("CUDA_VISIBLE_DEVICES"); it != env.end())
    d.cuda_visible_devices = it->second;
  if (auto it = env.find("NVIDIA_VISIBLE_DEVICES"); it != env.end())
    d.nvidia_visible_devices = it->second;
  return d;
}

std::string explain_no_device(const DeviceEnv& env, bool driver_found,
                              const std::string& runtime_error) {
  if (env.nvidia_visible_devices) {
    const std::string v = lower(trim(*env.nvidia_visible_devices));
    if (v.empty() || v == "void" || v == "none")
      return "the container runtime exposed no GPU (NVIDIA_VISIBLE_DEVICES=" +
             *env.nvidia_visible_devices + "); request nvidia.com/gpu for the pod";
  }
  if (env.cuda_visible_devices) {
    const std::string v = trim(*env.cuda_visible_devices);
    if (v.empty()) return "CUDA_VISIBLE_DEVICES is empty";
    if (v == "-1" || v.rfind("-1,", 0) == 0)
      return "CUDA_VISIBLE_DEVICES=" + v + " hides every GPU";
  }
  if (!driver_found)
    return "no NVIDIA driver: libcuda.so.1 cannot be loaded (on Kubernetes the NVIDIA container "
           "toolkit mounts it into pods that request nvidia.com/gpu)";
  if (!runtime_error.empty()) return "the CUDA runtime reports: " + runtime_error;
  return "the CUDA runtime reports no device";
}

DevicePlan plan_device(const DeviceRequest& r, int visible, const std::string& why_none,
                       const DeviceEnv& env) {
  const bool force_cpu = r.cpu.value == "true";
  const int gpus = to_int(r.gpus_per_node.value);
  const std::string none = "this process sees no CUDA device: " + why_none;

  if (force_cpu && gpus > 0)
    throw ConfigError(named("cpu", r.cpu) + " contradicts " +
                      named("gpus_per_node", r.gpus_per_node) + "; unset one of them");
  if (!force_cpu && gpus > 0 && visible == 0)
    throw ConfigError(named("gpus_per_node", r.gpus_per_node) +
                      " (the AccelJob's spec.gpusPerNode) " + "asks for " + std::to_string(gpus) +
                      " CUDA device(s) per node, but " + none);
  if (!force_cpu && gpus > visible)
    throw ConfigError(named("gpus_per_node", r.gpus_per_node) + " asks for " +
                      std::to_string(gpus) + " CUDA devices per node, but this process sees only " +
                      std::to_string(visible) + visible_env(env));

  const bool cuda = !force_cpu && visible > 0;
  DevicePlan plan;
  plan.cuda = cuda;
  if (r.backend.value == "nccl" && !cuda)
    throw ConfigError(named("backend", r.backend) + " needs a CUDA device, but " +
                      (force_cpu ? "cpu is true (" + r.cpu.origin + ")" : none) +
                      "; use backend gloo or auto");
  if (r.mixed_precision.value == "fp16" && !cuda)
    throw ConfigError(named("mixed_precision", r.mixed_precision) +
                      " needs a CUDA device (dynamic loss scaling), but " +
                      (force_cpu ? "cpu is true (" + r.cpu.origin + ")" : none) +
                      "; on CPU use bf16");
  if (r.backend.value == "auto") {
    plan.backend = cuda ? "nccl" : "gloo";
    if (!cuda && !force_cpu) plan.note = "backend auto: " + none + "; using gloo on CPU";
  } else {
    plan.backend = r.backend.value;
  }
  if (!cuda) return plan;

  if (r.local_rank < visible) {
    plan.device_index = r.local_rank;
  } else if (visible == 1 && env.cuda_visible_devices &&
             entries(*env.cuda_visible_devices).size() == 1) {
    plan.device_index = 0;  // one device per rank, chosen by whoever started this process
  } else {
    throw ConfigError("LOCAL_RANK " + std::to_string(r.local_rank) + " (of " +
                      std::to_string(r.local_world_size) + " processes on this node) needs cuda:" +
                      std::to_string(r.local_rank) + ", but this process sees only " +
                      std::to_string(visible) + " CUDA device(s)" + visible_env(env) +
                      "; start at most one process per GPU (num_processes, spec.gpusPerNode)");
  }
  return plan;
}

std::vector<std::pair<std::string, std::string>> nccl_environment(const NcclSettings& s) {
  std::vector<std::pair<std::string, std::string>> env = {
      // 1 = tear down: a timed-out or failed collective ends the process from c10d's watchdog
      // thread, whatever the training thread is blocked in; libaccel's terminate handler turns
      // that into exit code 80. (2 would only abort the communicator and rely on the training
      // thread reaching another collective.)
      {"TORCH_NCCL_ASYNC_ERROR_HANDLING", "1"},
      // The watchdog's own watchdog: ends a process whose NCCL watchdog is itself stuck.
      {"TORCH_NCCL_ENABLE_MONITORING", "1"},
  };
  if (s.trace_entries > 0 && !s.trace_dir.empty()) {
    const std::string n = std::to_string(s.trace_entries);
    const std::string prefix = s.trace_dir + "/rank_";
    // Both spellings: torch 2.11 reads the TORCH_FR_* names and still honours the old ones.
    env.insert(env.end(), {{"TORCH_FR_BUFFER_SIZE", n},
                           {"TORCH_NCCL_TRACE_BUFFER_SIZE", n},
                           {"TORCH_NCCL_DUMP_ON_TIMEOUT", "1"},
                           {"TORCH_FR_DUMP_TEMP_FILE", prefix},
                           {"TORCH_NCCL_DEBUG_INFO_TEMP_FILE", prefix}});
  } else {
    env.insert(env.end(), {{"TORCH_FR_BUFFER_SIZE", "0"},
                           {"TORCH_NCCL_TRACE_BUFFER_SIZE", "0"},
                           {"TORCH_NCCL_DUMP_ON_TIMEOUT", "0"}});
  }
  return env;
}

std::string flight_recorder_attempt_dir(const std::string& dir, int attempt) {
  return dir + "/attempt_" + std::to_string(std::max(0, attempt));
}

}  // namespace accel

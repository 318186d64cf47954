// program_env.cpp — program_settings() and decide_program_env(); see accel/program_env.h.
#include "accel/program_env.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include "accel/config.h"

namespace accel {

std::vector<ProgramSetting> program_settings(const ResolvedConfig& c, int nproc) {
  std::vector<ProgramSetting> out;
  auto from_key = [&](const std::string& name, const std::string& key, const std::string& value) {
    ProgramSetting s;
    s.name = name;
    s.value = value;
    s.origin = c.origin_of(key);
    s.from_launch_flag = c.source_of(key) == ConfigSource::LaunchFlag;
    s.from_default = c.source_of(key) == ConfigSource::Default;
    return s;
  };
  // torchrun sets OMP_NUM_THREADS=1 for more than one process unless the environment has it;
  // Accel's default shares the cores instead (the key's help says so).
  int threads = c.num_cpu_threads_per_process();
  if (threads <= 0) {
    const int cores = static_cast<int>(std::thread::hardware_concurrency());
    threads = std::max(1, cores / std::max(1, nproc));
  }
  out.push_back(
      from_key("OMP_NUM_THREADS", "num_cpu_threads_per_process", std::to_string(threads)));
  // Accelerate: state.py AcceleratorState.__init__ reads ACCELERATE_MIXED_PRECISION when the
  // constructor's mixed_precision is None; accelerator.py Accelerator.__init__ reads
  // ACCELERATE_GRADIENT_ACCUMULATION_STEPS over the constructor's value (Accelerate's rule, not
  // ours: a script that hard-codes another value gets the job's).
  if (c.source_of("mixed_precision") != ConfigSource::Default)
    out.push_back(from_key("ACCELERATE_MIXED_PRECISION", "mixed_precision", c.mixed_precision()));
  if (c.source_of("gradient_accumulation_steps") != ConfigSource::Default)
    out.push_back(from_key("ACCELERATE_GRADIENT_ACCUMULATION_STEPS", "gradient_accumulation_steps",
                           std::to_string(c.gradient_accumulation_steps())));
  // state.py AcceleratorState.__init__: ACCELERATE_USE_CPU true forces cpu=True; false forces
  // nothing, so it is only exported when true.
  if (c.cpu()) out.push_back(from_key("ACCELERATE_USE_CPU", "cpu", "true"));
  // utils/dataclasses.py TorchDynamoPlugin.__post_init__ reads these when the script passes no
  // plugin: the backend upper-cased (DynamoBackend's values), the booleans as "true"/"false".
  if (c.source_of("dynamo_backend") != ConfigSource::Default) {
    std::string backend = c.dynamo_backend();
    std::transform(backend.begin(), backend.end(), backend.begin(),
                   [](unsigned char ch) { return std::toupper(ch); });
    out.push_back(from_key("ACCELERATE_DYNAMO_BACKEND", "dynamo_backend", backend));
  }
  if (c.source_of("dynamo_mode") != ConfigSource::Default)
    out.push_back(from_key("ACCELERATE_DYNAMO_MODE", "dynamo_mode", c.dynamo_mode()));
  if (c.source_of("dynamo_fullgraph") != ConfigSource::Default)
    out.push_back(from_key("ACCELERATE_DYNAMO_USE_FULLGRAPH", "dynamo_fullgraph",
                           c.dynamo_fullgraph() ? "true" : "false"));
  if (c.source_of("dynamo_dynamic") != ConfigSource::Default)
    out.push_back(from_key("ACCELERATE_DYNAMO_USE_DYNAMIC", "dynamo_dynamic",
                           c.dynamo_dynamic() ? "true" : "false"));
  ProgramSetting nccl;
  nccl.name = "TORCH_NCCL_ASYNC_ERROR_HANDLING";
  nccl.value = "1";
  nccl.origin = "torchrun's default";
  nccl.from_default = true;
  out.push_back(nccl);
  return out;
}

ProgramEnv decide_program_env(const std::vector<ProgramSetting>& settings,
                              const std::map<std::string, std::string>& environment) {
  ProgramEnv out;
  for (const auto& s : settings) {
    auto it = environment.find(s.name);
    if (it == environment.end() || it->second == s.value) {
      out.env[s.name] = s.value;
      continue;
    }
    if (s.from_launch_flag) {
      out.env[s.name] = s.value;
      out.notes.push_back(s.name + "=" + s.value + " from " + s.origin +
                          " replaces the environment's " + s.name + "=" + it->second);
    } else if (!s.from_default) {
      out.notes.push_back(s.name + "=" + it->second + " from the environment is kept; the job's " +
                          s.value + " (" + s.origin +
                          ") is not applied (a launch flag would replace it)");
    }
  }
  return out;
}

}  // namespace accel

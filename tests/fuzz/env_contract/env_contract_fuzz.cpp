// The env contract as a rank reads it: ConfigInputs::from_environment(env) -> resolve_config,
// then every typed accessor the accelerator calls. The input is the environment, one NAME=VALUE
// a line (the first '=' splits). HOME, XDG_CONFIG_HOME, ACCEL_CONFIG_FILE and
// ACCEL_LAUNCH_CONFIG_FILE are dropped so that no config file is read from the machine (the
// config_file harness covers the file). The contract: ConfigError for anything refused,
// nothing else escapes, and a resolved config answers every accessor.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "accel/config.h"
#include "accel/config/config_error.h"
#include "accel/config/key_table.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> env;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    const size_t eq = line.find('=');
    if (eq != std::string::npos && eq > 0) env[line.substr(0, eq)] = line.substr(eq + 1);
    start = end + 1;
  }
  for (const char* name : {"HOME", "XDG_CONFIG_HOME", "ACCEL_CONFIG_FILE", "ACCEL_LAUNCH_CONFIG_FILE"})
    env.erase(name);
  accel::ResolvedConfig config;
  try {
    config = accel::resolve_config(accel::ConfigInputs::from_environment(env));
  } catch (const accel::ConfigError&) {
    return 0;
  }
  for (const accel::KeySpec& k : accel::config_keys()) {
    FUZZ_CHECK(config.values.count(k.name) == 1, "every key is resolved");
    switch (k.type) {
      case accel::KeyType::Int: (void)config.get_int(k.name); break;
      case accel::KeyType::Bool: (void)config.get_bool(k.name); break;
      case accel::KeyType::List:
      case accel::KeyType::GpuIds: (void)config.get_list(k.name); break;
      default: (void)config.get_string(k.name); break;
    }
  }
  (void)config.gpu_id_list();
  const auto& id = config.identity;
  FUZZ_CHECK(id.world_size >= 1 && id.rank >= 0 && id.rank < id.world_size, "rank in the world");
  (void)accel::explain_table(config);
  return 0;
}

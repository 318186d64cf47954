// environment.cpp — reading the process environment and the ACCEL_LAUNCH_* hand-over.
#include <unistd.h>

#include "accel/config.h"

extern char** environ;

namespace accel {

namespace {
const std::string kLaunchPrefix = "ACCEL_LAUNCH_";
const std::string kLaunchConfigFile = "ACCEL_LAUNCH_CONFIG_FILE";
}  // namespace

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    env.emplace(entry.substr(0, eq), entry.substr(eq + 1));
  }
  return env;
}

std::map<std::string, std::string> launch_flags_to_env(
    const std::map<std::string, std::string>& flags) {
  std::map<std::string, std::string> env;
  for (const auto& [key, value] : flags) {
    require_config_key(key, "the launch flags");
    env[launch_env_var_for_key(key)] = value;
  }
  return env;
}

std::map<std::string, std::string> LaunchFlags::to_env() const {
  auto env = launch_flags_to_env(values);
  if (!config_file.empty()) env[kLaunchConfigFile] = config_file;
  return env;
}

LaunchFlags launch_flags_from_env(const std::map<std::string, std::string>& env) {
  LaunchFlags flags;
  // The map is sorted, so every ACCEL_LAUNCH_* sits in one range.
  for (auto it = env.lower_bound(kLaunchPrefix);
       it != env.end() && it->first.compare(0, kLaunchPrefix.size(), kLaunchPrefix) == 0; ++it) {
    if (it->first == kLaunchConfigFile) {
      flags.config_file = it->second;
      continue;
    }
    bool known = false;
    for (const auto& k : config_keys()) {
      if (launch_env_var_for_key(k.name) == it->first) {
        flags.values[k.name] = it->second;
        known = true;
        break;
      }
    }
    if (!known)
      throw ConfigError(it->first + ": '" + it->second +
                        "' from the environment names no `accel launch` flag; was this rank "
                        "started by a different accel version?");
  }
  return flags;
}

ConfigInputs ConfigInputs::from_process(const AcceleratorOptions& options) {
  return from_environment(process_environment(), options);
}

ConfigInputs ConfigInputs::from_environment(std::map<std::string, std::string> env,
                                            const AcceleratorOptions& options) {
  ConfigInputs in;
  in.env = std::move(env);
  LaunchFlags flags = launch_flags_from_env(in.env);
  in.launch_flags = flags.values;
  in.code = options.to_map();
  in.python_program = options.python_program();
  if (!options.config_file().empty()) {
    in.config_file = options.config_file();
    in.config_file_origin = "code (AcceleratorOptions::config_file)";
  } else if (!flags.config_file.empty()) {
    in.config_file = flags.config_file;
    in.config_file_origin = "launch flag --config_file";
  }
  return in;
}

}  // namespace accel

// launch_flags.cpp — `accel launch --<key>` for every key, from the key table.
#include <CLI/CLI.hpp>

#include "accel/config.h"

namespace accel {

void add_launch_flags(CLI::App& app, LaunchFlags& flags) {
  const std::string group = "Configuration (override the config file and ACCEL_* env)";
  for (const KeySpec& k : config_keys()) {
    const std::string name = k.name;
    std::string help = k.help + " [" +
                       (k.derived_default.empty()
                            ? "default: " + (k.default_value.empty() ? "\"\"" : k.default_value)
                            : "default: " + k.derived_default) +
                       "; env " + env_var_for_key(name) + "]";
    CLI::Option* opt = nullptr;
    if (k.type == KeyType::Bool) {
      // A flag, so that `--cpu PROGRAM` never takes PROGRAM as the value; --cpu=false works.
      // (No help argument here: add_flag(name, std::string&) would take it as storage.)
      opt = app.add_flag(flag_for_key(name));
      opt->description(help);
      opt->disable_flag_override(false);
      opt->each([&flags, name](const std::string& v) { flags.values[name] = v; });
    } else {
      opt = app.add_option_function<std::string>(
          flag_for_key(name), [&flags, name](const std::string& v) { flags.values[name] = v; },
          help);
      opt->type_name(k.type == KeyType::Int ? "INT" : "TEXT");
    }
    opt->group(group);
  }
  app.add_option("--config_file", flags.config_file,
                 "YAML config file (must exist); default: ACCEL_CONFIG_FILE, else "
                 "$XDG_CONFIG_HOME/accel/default_config.yaml")
      ->group(group);
}

}  // namespace accel

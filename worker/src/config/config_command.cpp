#include "accel/config/config_command.h"

#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <memory>

#include "accel/config.h"
#include "accel/config/questionnaire.h"
#include "cross_checks.h"

namespace accel {

namespace {

struct ConfigCommandState {
  ConfigCommandIO io;
  std::string config_file;
  std::string key, value;

  std::map<std::string, std::string> env() const {
    return io.environment ? io.environment() : process_environment();
  }
  // The file a training program would read: --config_file, ACCEL_CONFIG_FILE, default path.
  std::string target(std::string* how = nullptr) const {
    if (!config_file.empty()) {
      if (how) *how = "--config_file";
      return config_file;
    }
    const auto e = env();
    auto it = e.find("ACCEL_CONFIG_FILE");
    if (it != e.end() && !it->second.empty()) {
      if (how) *how = "ACCEL_CONFIG_FILE";
      return it->second;
    }
    const std::string def = default_config_path(e);
    if (def.empty())
      throw ConfigError(
          "no config file path: set --config_file, ACCEL_CONFIG_FILE, "
          "XDG_CONFIG_HOME or HOME");
    if (how) *how = "the default path";
    return def;
  }
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::map<std::string, std::string> existing(const std::string& path) {
  return exists(path) ? read_config_file(path) : std::map<std::string, std::string>{};
}

// The whole file must still make sense after a change: every value, then the cross-key rules
// with defaults for the keys the file leaves out.
void check_file_values(const std::string& path, const std::map<std::string, std::string>& values) {
  std::map<std::string, ResolvedValue> resolved;
  for (const auto& k : config_keys())
    resolved[k.name] = ResolvedValue{k.default_value, ConfigSource::Default, ""};
  for (const auto& [key, raw] : values) {
    const KeySpec& spec = require_config_key(key, "config file " + path);
    resolved[key] = ResolvedValue{normalize_value(spec, raw, "config file " + path),
                                  ConfigSource::ConfigFile, path};
  }
  config_detail::check_cross_key(resolved);
}

void run_questions(ConfigCommandState& s) {
  std::string how;
  const std::string path = s.target(&how);
  auto answers = run_questionnaire(*s.io.in, *s.io.out, existing(path), path);
  write_config_file(path, answers);
  *s.io.out << "accel config: wrote " << path << " (" << how << ")\n";
}

void run_set(ConfigCommandState& s) {
  const std::string path = s.target();
  const KeySpec& spec = require_config_key(s.key, "`accel config set`");
  const std::string value = normalize_value(spec, s.value, "the command line");
  auto values = existing(path);
  values[spec.name] = value;
  check_file_values(path, values);
  write_config_file(path, values);
  *s.io.out << "accel config: " << spec.name << " = " << value << " in " << path << "\n";
}

void run_show(ConfigCommandState& s) {
  std::string how;
  const std::string path = s.target(&how);
  auto& out = *s.io.out;
  if (!exists(path)) {
    out << "no config file at " << path << " (" << how
        << "); `accel config` creates it, `accel config set KEY VALUE` adds one key\n";
    return;
  }
  const auto values = read_config_file(path);
  out << "# " << path << " (" << how << ")\n";
  for (const auto& k : config_keys()) {
    auto it = values.find(k.name);
    if (it != values.end()) out << k.name << ": " << it->second << "\n";
  }
}

void run_explain(ConfigCommandState& s) {
  ConfigInputs in = ConfigInputs::from_environment(s.env());  // no code layer here
  if (!s.config_file.empty()) {
    in.config_file = s.config_file;
    in.config_file_origin = "--config_file";
  }
  const ResolvedConfig cfg = resolve_config(in);
  auto& out = *s.io.out;
  if (cfg.config_file.empty())
    out << "config file: " << cfg.config_file_reason << "\n";
  else
    out << "config file: " << cfg.config_file << " (" << cfg.config_file_reason << ")\n";
  out << "precedence (lowest to highest): default < config file < environment variable < "
         "launch flag < code\n\n"
      << explain_table(cfg);
}

}  // namespace

void add_config_command(CLI::App& app) { add_config_command(app, ConfigCommandIO{}); }

void add_config_command(CLI::App& app, ConfigCommandIO io) {
  auto state = std::make_shared<ConfigCommandState>();
  state->io = std::move(io);
  const std::string file_help =
      "Config file (default: ACCEL_CONFIG_FILE, else $XDG_CONFIG_HOME/accel/default_config.yaml)";

  auto* cfg = app.add_subcommand(
      "config", "Write the configuration file by answering questions, or inspect it");
  cfg->add_option("--config_file", state->config_file, file_help);

  auto* set = cfg->add_subcommand("set", "Set one key in the config file (validated)");
  set->add_option("key", state->key, "Configuration key")->required();
  set->add_option("value", state->value, "Its value")->required();
  set->add_option("--config_file", state->config_file, file_help);
  set->callback([state] { run_set(*state); });

  auto* show = cfg->add_subcommand("show", "Print the settings in the config file");
  show->add_option("--config_file", state->config_file, file_help);
  show->callback([state] { run_show(*state); });

  auto* explain = cfg->add_subcommand(
      "explain",
      "Resolve the configuration here (file < environment) and print each value's source");
  explain->add_option("--config_file", state->config_file, file_help);
  explain->callback([state] { run_explain(*state); });

  cfg->callback([state, cfg] {
    if (cfg->get_subcommands().empty()) run_questions(*state);
  });
}

}  // namespace accel

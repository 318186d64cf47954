// resolve.cpp — the five-layer precedence, cross-key rules and the explain table.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "accel/config.h"
#include "cross_checks.h"

namespace accel {

namespace {

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string quoted(const std::string& v) { return "'" + v + "'"; }

// The file to read, or "" (with the reason in `reason`).
std::string choose_config_file(const ConfigInputs& in, std::string& reason) {
  if (!in.config_file.empty()) {
    const std::string who =
        in.config_file_origin.empty() ? "given explicitly" : "from " + in.config_file_origin;
    if (!file_exists(in.config_file))
      throw ConfigError("config file '" + in.config_file + "' (" + who +
                        ") does not exist; create it with `accel config --config_file " +
                        in.config_file + "` or fix the path");
    reason = who;
    return in.config_file;
  }
  auto env_file = in.env.find("ACCEL_CONFIG_FILE");
  if (env_file != in.env.end() && !env_file->second.empty()) {
    if (!file_exists(env_file->second)) {
      reason =
          "none read: ACCEL_CONFIG_FILE names '" + env_file->second + "', which does not exist";
      return "";
    }
    reason = "from environment variable ACCEL_CONFIG_FILE";
    return env_file->second;
  }
  const std::string def = default_config_path(in.env);
  if (def.empty()) {
    reason = "none read: neither XDG_CONFIG_HOME nor HOME is set";
    return "";
  }
  if (!file_exists(def)) {
    reason = "none read: no file at the default path " + def;
    return "";
  }
  reason = "the default path";
  return def;
}

struct Layer {
  ConfigSource source;
  const std::map<std::string, std::string>* values;
};

}  // namespace

std::string to_string(ConfigSource source) {
  switch (source) {
    case ConfigSource::Default:
      return "default";
    case ConfigSource::ConfigFile:
      return "config file";
    case ConfigSource::Environment:
      return "environment variable";
    case ConfigSource::LaunchFlag:
      return "launch flag";
    case ConfigSource::Code:
      return "code";
  }
  return "?";
}

std::string ResolvedValue::describe() const {
  switch (source) {
    case ConfigSource::Default:
      return origin.empty() ? "default" : "default (" + origin + ")";
    case ConfigSource::Code:
      return "code (" + origin + ")";
    default:
      return to_string(source) + " " + origin;
  }
}

// --- ResolvedConfig --------------------------------------------------------------------------

const ResolvedValue& ResolvedConfig::at(const std::string& key) const {
  auto it = values.find(key);
  if (it == values.end()) throw std::out_of_range("no configuration key '" + key + "'");
  return it->second;
}

namespace {
const KeySpec& typed(const std::string& key, std::initializer_list<KeyType> types,
                     const char* what) {
  const KeySpec* k = find_config_key(key);
  if (!k) throw std::out_of_range("no configuration key '" + key + "'");
  if (std::find(types.begin(), types.end(), k->type) == types.end())
    throw std::logic_error("configuration key '" + key + "' is not " + what);
  return *k;
}
}  // namespace

std::string ResolvedConfig::get_string(const std::string& key) const { return at(key).value; }
int ResolvedConfig::get_int(const std::string& key) const {
  typed(key, {KeyType::Int}, "an integer");
  return std::stoi(at(key).value);
}
bool ResolvedConfig::get_bool(const std::string& key) const {
  typed(key, {KeyType::Bool}, "a boolean");
  return at(key).value == "true";
}
std::vector<std::string> ResolvedConfig::get_list(const std::string& key) const {
  typed(key, {KeyType::List, KeyType::GpuIds}, "a list");
  return split_list(at(key).value);
}
ConfigSource ResolvedConfig::source_of(const std::string& key) const { return at(key).source; }
std::string ResolvedConfig::origin_of(const std::string& key) const { return at(key).describe(); }

#define ACCEL_CONFIG_GET_Int get_int
#define ACCEL_CONFIG_GET_Bool get_bool
#define ACCEL_CONFIG_GET_Text get_string
#define ACCEL_CONFIG_GET_Choice get_string
#define ACCEL_CONFIG_GET_GpuIds get_string
#define ACCEL_CONFIG_GET_List get_list
#define ACCEL_KEY(key, kind, ...) \
  ACCEL_CONFIG_RESULT_##kind ResolvedConfig::key() const { return ACCEL_CONFIG_GET_##kind(#key); }
#include "accel/config/keys.def"
#undef ACCEL_KEY

std::vector<int> ResolvedConfig::gpu_id_list() const {
  std::vector<int> ids;
  if (gpu_ids() == "all") return ids;
  for (const auto& s : get_list("gpu_ids")) ids.push_back(std::stoi(s));
  return ids;
}

const std::vector<std::pair<std::string, std::string>>& honoured_environment_variables() {
  static const std::vector<std::pair<std::string, std::string>> vars = {
      {"CUDA_VISIBLE_DEVICES", "which GPUs CUDA shows this process (rank r takes cuda:LOCAL_RANK)"},
      {"NVIDIA_VISIBLE_DEVICES", "which GPUs the container runtime exposed; void/none: none"},
      {"GLOO_SOCKET_IFNAME", "the network interface Gloo uses"},
      {"GLIBC_TUNABLES", "glibc.malloc.* settings there win over host_malloc_tuning"},
      {"MLFLOW_TRACKING_URI", "MLflow server, when the tracker has no tracking_uri setting"},
      {"MLFLOW_TRACKING_TOKEN", "MLflow bearer token"},
      {"MLFLOW_TRACKING_USERNAME", "MLflow basic-auth user"},
      {"MLFLOW_TRACKING_PASSWORD", "MLflow basic-auth password"},
      {"MLFLOW_TRACKING_INSECURE_TLS", "true: do not verify the MLflow server's certificate"},
  };
  return vars;
}

// --- cross-key rules and derived defaults ----------------------------------------------------

namespace config_detail {

void check_cross_key(const std::map<std::string, ResolvedValue>& v) {
  auto has = [&](const char* k) { return v.count(k) > 0; };
  auto val = [&](const char* k) { return v.at(k).value; };
  auto src = [&](const char* k) { return v.at(k).describe(); };
  if (has("machine_rank") && has("num_machines") &&
      std::stoll(val("machine_rank")) >= std::stoll(val("num_machines"))) {
    throw ConfigError("machine_rank: " + quoted(val("machine_rank")) + " from " +
                      src("machine_rank") + " must be less than num_machines (" +
                      quoted(val("num_machines")) + " from " + src("num_machines") + ")");
  }
  if (has("backend") && has("cpu") && val("backend") == "nccl" && val("cpu") == "true") {
    throw ConfigError("backend: 'nccl' from " + src("backend") +
                      " needs a GPU, but cpu is 'true' from " + src("cpu") +
                      "; use backend gloo or auto, or set cpu to false");
  }
  if (has("main_process_port") && has("num_machines") && val("main_process_port") == "0" &&
      val("num_machines") != "1") {
    throw ConfigError("main_process_port: '0' from " + src("main_process_port") +
                      " (pick a free port) works on one machine only, but num_machines is " +
                      quoted(val("num_machines")) + " from " + src("num_machines") +
                      "; give a fixed port");
  }
}

RankIdentity resolve_identity(const std::map<std::string, std::string>& env,
                              const std::string& main_ip, int main_port) {
  auto number = [&](const char* name, int fallback) {
    auto it = env.find(name);
    if (it == env.end() || it->second.empty()) return fallback;
    std::size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(it->second, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != it->second.size() || v < 0)
      throw ConfigError(std::string(name) + ": '" + it->second +
                        "' from the environment is not a non-negative integer");
    return v;
  };
  RankIdentity id;
  id.world_size = std::max(1, number("WORLD_SIZE", 1));
  id.rank = number("RANK", 0);
  id.local_rank = number("LOCAL_RANK", id.rank);
  id.local_world_size = number("LOCAL_WORLD_SIZE", id.world_size);
  id.node_rank = number("NODE_RANK", 0);
  auto addr = env.find("MASTER_ADDR");
  id.master_addr = addr != env.end() && !addr->second.empty() ? addr->second : main_ip;
  id.master_port = number("MASTER_PORT", main_port);
  if (id.rank >= id.world_size)
    throw ConfigError("RANK " + std::to_string(id.rank) +
                      " from the environment is outside WORLD_SIZE " +
                      std::to_string(id.world_size));
  if (id.local_rank >= id.local_world_size)
    throw ConfigError("LOCAL_RANK " + std::to_string(id.local_rank) +
                      " from the environment is outside LOCAL_WORLD_SIZE " +
                      std::to_string(id.local_world_size));
  return id;
}

std::map<std::string, std::map<std::string, std::string>> tracker_settings_from(
    const std::map<std::string, std::string>& env) {
  // ACCEL_TRACKER_<TYPE>_<SETTING>=value (env contract v1) -> settings[type][setting].
  std::map<std::string, std::map<std::string, std::string>> out;
  for (const auto& name : find_config_key("log_with")->choices) {
    std::string prefix = "ACCEL_TRACKER_";
    for (char c : name) prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    prefix += "_";
    for (auto it = env.lower_bound(prefix); it != env.end() && it->first.rfind(prefix, 0) == 0;
         ++it) {
      std::string setting = it->first.substr(prefix.size());
      for (auto& c : setting) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out[name][setting] = it->second;
    }
  }
  return out;
}

void apply_derived_defaults(std::map<std::string, ResolvedValue>& values, std::time_t now) {
  for (const auto& k : config_keys()) {
    if (k.derived_default.empty()) continue;
    auto it = values.find(k.name);
    if (it == values.end()) continue;
    if (k.name == "run_name") {  // empty from any layer also means "derive it"
      if (!it->second.value.empty()) continue;
      it->second = {
          derive_run_name(values.count("run_name_prefix") ? values.at("run_name_prefix").value : "",
                          now),
          ConfigSource::Default, k.derived_default};
      continue;
    }
    if (it->second.source != ConfigSource::Default) continue;
    // "<other_key>/rest": the other key's value joined with rest.
    const auto close = k.derived_default.find('>');
    const std::string other = k.derived_default.substr(1, close - 1);
    std::string rest = k.derived_default.substr(close + 1);
    std::string base = values.count(other) ? values.at(other).value : "";
    if (!base.empty() && base.back() == '/' && !rest.empty() && rest.front() == '/')
      rest.erase(0, 1);
    it->second.value = base + rest;
    it->second.origin = k.derived_default;
  }
}

}  // namespace config_detail

// --- resolve_config ----------------------------------------------------------------------------

ResolvedConfig resolve_config(const ConfigInputs& in) {
  ResolvedConfig out;
  out.python_program = in.python_program;
  out.config_file = choose_config_file(in, out.config_file_reason);
  std::map<std::string, std::string> file_values;
  if (!out.config_file.empty()) file_values = read_config_file(out.config_file);

  for (const auto& [key, _] : in.launch_flags) require_config_key(key, "the launch flags");
  for (const auto& [key, _] : in.code) require_config_key(key, "code (AcceleratorOptions::set)");

  for (const KeySpec& k : config_keys()) {
    ResolvedValue winner{k.default_value, ConfigSource::Default, ""};
    auto consider = [&](ConfigSource source, const std::map<std::string, std::string>& layer,
                        const std::string& lookup, const std::string& origin) {
      auto it = layer.find(lookup);
      if (it == layer.end()) return;
      ResolvedValue candidate{"", source, origin};
      // Every layer is checked, also one that a higher layer overrides: a broken source is
      // reported rather than silently hidden.
      candidate.value = normalize_value(k, it->second, candidate.describe());
      winner = candidate;
    };
    consider(ConfigSource::ConfigFile, file_values, k.name, out.config_file);
    const std::string env_var = env_var_for_key(k.name);
    consider(ConfigSource::Environment, in.env, env_var, env_var);
    consider(ConfigSource::LaunchFlag, in.launch_flags, k.name, flag_for_key(k.name));
    consider(
        ConfigSource::Code, in.code, k.name,
        in.python_program ? "Accelerator(" + k.name + "=...)" : "AcceleratorOptions::" + k.name);
    out.values[k.name] = winner;
  }
  config_detail::apply_derived_defaults(out.values, in.now);
  config_detail::check_cross_key(out.values);
  out.identity =
      config_detail::resolve_identity(in.env, out.main_process_ip(), out.main_process_port());
  out.tracker_settings = config_detail::tracker_settings_from(in.env);
  for (const auto& [name, what] : honoured_environment_variables())
    if (auto it = in.env.find(name); it != in.env.end()) out.environment[name] = it->second;
  return out;
}

// --- explain -----------------------------------------------------------------------------------

std::string explain_table(const ResolvedConfig& config) {
  struct Row {
    std::string key, value, source;
  };
  std::vector<Row> rows{{"key", "value", "source"}};
  for (const auto& k : config_keys()) {
    auto it = config.values.find(k.name);
    if (it == config.values.end()) continue;
    rows.push_back(
        {k.name, it->second.value.empty() ? "\"\"" : it->second.value, it->second.describe()});
  }
  size_t wk = 0, wv = 0;
  for (const auto& r : rows) wk = std::max(wk, r.key.size()), wv = std::max(wv, r.value.size());
  std::string out;
  auto line = [&](const Row& r) {
    out += r.key + std::string(wk - r.key.size(), ' ') + " | " + r.value +
           std::string(wv - r.value.size(), ' ') + " | " + r.source + "\n";
  };
  line(rows[0]);
  out += std::string(wk, '-') + "-+-" + std::string(wv, '-') + "-+-" + std::string(20, '-') + "\n";
  for (size_t i = 1; i < rows.size(); ++i) line(rows[i]);
  return out;
}

std::string derive_run_name(const std::string& prefix, std::time_t now) {
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return prefix + buf;
}

}  // namespace accel

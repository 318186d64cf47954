// env_contract.cpp — node_env(); see env_contract.h and api/ENV_CONTRACT.md.
#include "accel/api/env_contract.h"

#include <cctype>
#include <functional>
#include <stdexcept>

namespace accel::api {
namespace {
std::string upper_env(const std::string& s) {
  std::string out;
  for (unsigned char c : s) out += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
  return out;
}
std::string b(const std::optional<bool>& v) { return v.value_or(false) ? "true" : "false"; }
std::string i(const std::optional<std::int64_t>& v) { return std::to_string(v.value_or(0)); }

// The job settings of the contract, one row per worker config key, in the order they are set:
// the key and how its value comes from the (defaulted) job. nullopt: the variable is left out.
struct Setting {
  const char* key;
  std::function<std::optional<std::string>(const AccelJobSpec&, int node_rank, const std::string& master_addr,
                                           int master_port)>
      value;
};

std::optional<std::string> opt(const std::optional<std::string>& v) {
  if (v && !v->empty()) return *v;
  return std::nullopt;
}

const std::vector<Setting>& settings() {
  using S = const AccelJobSpec&;
  static const std::vector<Setting> rows = {
      {"mixed_precision", [](S s, int, auto&, int) { return to_string(*s.precision); }},
      {"gradient_accumulation_steps", [](S s, int, auto&, int) { return i(s.gradientAccumulationSteps); }},
      {"num_processes", [](S s, int, auto&, int) { return std::to_string(*s.procsPerNode); }},
      {"num_machines", [](S s, int, auto&, int) { return std::to_string(*s.nodes); }},
      {"machine_rank", [](S, int node, auto&, int) { return std::to_string(node); }},
      {"main_process_ip", [](S, int, const std::string& addr, int) { return addr; }},
      {"main_process_port", [](S, int, auto&, int port) { return std::to_string(port); }},
      {"cpu", [](S s, int, auto&, int) { return std::string(*s.gpusPerNode == 0 ? "true" : "false"); }},
      {"gpus_per_node", [](S s, int, auto&, int) { return i(s.gpusPerNode); }},
      {"backend", [](S s, int, auto&, int) { return to_string(*s.processGroup.backend); }},
      {"pg_timeout_seconds", [](S s, int, auto&, int) { return i(s.processGroup.timeoutSeconds); }},
      {"rendezvous_timeout_seconds", [](S s, int, auto&, int) { return i(s.processGroup.rendezvousTimeoutSeconds); }},
      {"ddp_bucket_cap_mb", [](S s, int, auto&, int) { return i(s.ddp.bucketCapMB); }},
      {"ddp_gradient_as_bucket_view", [](S s, int, auto&, int) { return b(s.ddp.gradientAsBucketView); }},
      {"ddp_static_graph", [](S s, int, auto&, int) { return b(s.ddp.staticGraph); }},
      {"ddp_find_unused_parameters", [](S s, int, auto&, int) { return b(s.ddp.findUnusedParameters); }},
      {"log_with",
       [](S s, int, auto&, int) -> std::optional<std::string> {
         std::string log_with;
         for (const auto& t : s.trackers) log_with += (log_with.empty() ? "" : ",") + to_string(t.type);
         if (log_with.empty()) return std::nullopt;
         return log_with;
       }},
      {"project_dir", [](S s, int, auto&, int) { return opt(s.logging.projectDir); }},
      {"logging_dir", [](S s, int, auto&, int) { return opt(s.logging.loggingDir); }},
      {"run_name_prefix", [](S s, int, auto&, int) { return opt(s.logging.runNamePrefix); }},
      {"checkpoint_dir", [](S s, int, auto&, int) { return opt(s.checkpoint.dir); }},
      {"checkpoint_every_steps", [](S s, int, auto&, int) { return i(s.checkpoint.everySteps); }},
      {"checkpoint_keep", [](S s, int, auto&, int) { return i(s.checkpoint.keep); }},
      {"stall_timeout_seconds",
       [](S s, int, auto&, int) -> std::optional<std::string> {
         if (!s.runPolicy.stallTimeoutSeconds) return std::nullopt;
         return i(s.runPolicy.stallTimeoutSeconds);
       }},
      {"metrics_port", [](S s, int, auto&, int) { return i(s.metrics.port); }},
      {"termination_grace_seconds",
       [](S s, int, auto&, int) { return i(s.template_.terminationGracePeriodSeconds); }},
  };
  return rows;
}

}  // namespace

const std::vector<std::string>& contract_config_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (const auto& row : settings()) k.push_back(row.key);
    return k;
  }();
  return keys;
}

std::string env_name_for_key(const std::string& key) { return "ACCEL_" + upper_env(key); }

std::string tracker_setting_env_name(TrackerType type, const std::string& setting) {
  return "ACCEL_TRACKER_" + upper_env(to_string(type)) + "_" + upper_env(setting);
}

EnvList node_env(const AccelJob& job, int node_rank, int attempt, const std::string& master_addr,
                 int master_port) {
  require_defaulted(job, "node_env");
  const AccelJobSpec& s = job.spec;
  const std::int64_t nodes = *s.nodes;
  const std::int64_t procs = *s.procsPerNode;
  if (node_rank < 0 || node_rank >= nodes)
    throw std::invalid_argument("node_env: node_rank " + std::to_string(node_rank) + " is outside [0, " +
                                std::to_string(nodes) + ") for job " + job.metadata.name);
  if (master_port < 1 || master_port > 65535)
    throw std::invalid_argument("node_env: master_port " + std::to_string(master_port) +
                                " is not a TCP port (1..65535)");

  EnvList env = {
      {"MASTER_ADDR", master_addr},
      {"MASTER_PORT", std::to_string(master_port)},
      {"NNODES", std::to_string(nodes)},
      {"NODE_RANK", std::to_string(node_rank)},
      {"WORLD_SIZE", std::to_string(nodes * procs)},
      {"LOCAL_WORLD_SIZE", std::to_string(procs)},
      {"ACCEL_CONTRACT_VERSION", std::to_string(kEnvContractVersion)},
      {"ACCEL_JOB_NAME", job.metadata.name},
      {"ACCEL_JOB_NAMESPACE", job.metadata.namespace_},
      {"ACCEL_RESTART_COUNT", std::to_string(attempt)},
  };
  for (const auto& row : settings())
    if (auto v = row.value(s, node_rank, master_addr, master_port)) env.emplace_back(env_name_for_key(row.key), *v);
  for (const auto& t : s.trackers)
    for (const auto& [k, v] : t.settings) env.emplace_back(tracker_setting_env_name(t.type, k), v);
  return env;
}

}  // namespace accel::api

// env_contract.cpp — node_env(); see env_contract.h and api/ENV_CONTRACT.md.
#include "accel/api/env_contract.h"

#include <cctype>
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
}  // namespace

const std::vector<std::string>& contract_config_keys() {
  static const std::vector<std::string> keys = {
      "mixed_precision",  "gradient_accumulation_steps", "num_processes",
      "num_machines",     "machine_rank",                "main_process_ip",
      "main_process_port", "cpu",                        "gpus_per_node",
      "backend",
      "pg_timeout_seconds", "rendezvous_timeout_seconds", "ddp_bucket_cap_mb",
      "ddp_gradient_as_bucket_view", "ddp_static_graph", "ddp_find_unused_parameters",
      "log_with",         "project_dir",                 "logging_dir",
      "run_name_prefix",  "checkpoint_dir",              "checkpoint_every_steps",
      "checkpoint_keep",  "stall_timeout_seconds",       "metrics_port"};
  return keys;
}

std::string env_name_for_key(const std::string& key) { return "ACCEL_" + upper_env(key); }

std::string tracker_setting_env_name(TrackerType type, const std::string& setting) {
  return "ACCEL_TRACKER_" + upper_env(to_string(type)) + "_" + upper_env(setting);
}

EnvList node_env(const AccelJob& original, int node_rank, int attempt, const std::string& master_addr,
                 int master_port) {
  AccelJob job = original;
  apply_defaults(job);
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
  auto add = [&](const char* key, const std::string& value) { env.emplace_back(env_name_for_key(key), value); };
  auto add_opt = [&](const char* key, const std::optional<std::string>& value) {
    if (value && !value->empty()) add(key, *value);
  };
  add("mixed_precision", to_string(*s.precision));
  add("gradient_accumulation_steps", i(s.gradientAccumulationSteps));
  add("num_processes", std::to_string(procs));
  add("num_machines", std::to_string(nodes));
  add("machine_rank", std::to_string(node_rank));
  add("main_process_ip", master_addr);
  add("main_process_port", std::to_string(master_port));
  add("cpu", *s.gpusPerNode == 0 ? "true" : "false");
  add("gpus_per_node", i(s.gpusPerNode));
  add("backend", to_string(*s.processGroup.backend));
  add("pg_timeout_seconds", i(s.processGroup.timeoutSeconds));
  add("rendezvous_timeout_seconds", i(s.processGroup.rendezvousTimeoutSeconds));
  add("ddp_bucket_cap_mb", i(s.ddp.bucketCapMB));
  add("ddp_gradient_as_bucket_view", b(s.ddp.gradientAsBucketView));
  add("ddp_static_graph", b(s.ddp.staticGraph));
  add("ddp_find_unused_parameters", b(s.ddp.findUnusedParameters));
  std::string log_with;
  for (const auto& t : s.trackers) log_with += (log_with.empty() ? "" : ",") + to_string(t.type);
  if (!log_with.empty()) add("log_with", log_with);
  add_opt("project_dir", s.logging.projectDir);
  add_opt("logging_dir", s.logging.loggingDir);
  add_opt("run_name_prefix", s.logging.runNamePrefix);
  add_opt("checkpoint_dir", s.checkpoint.dir);
  add("checkpoint_every_steps", i(s.checkpoint.everySteps));
  add("checkpoint_keep", i(s.checkpoint.keep));
  if (s.runPolicy.stallTimeoutSeconds) add("stall_timeout_seconds", i(s.runPolicy.stallTimeoutSeconds));
  add("metrics_port", i(s.metrics.port));
  for (const auto& t : s.trackers)
    for (const auto& [k, v] : t.settings) env.emplace_back(tracker_setting_env_name(t.type, k), v);
  return env;
}

}  // namespace accel::api

#include "settings.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>

namespace accel {

namespace {

// ACCEL_TRACKER_<TYPE>_<SETTING>=value (env contract v1) → settings[type][setting].
std::map<std::string, std::map<std::string, std::string>> tracker_settings_from_env(
    const std::vector<std::string>& trackers) {
  std::map<std::string, std::map<std::string, std::string>> out;
  auto env = process_environment();
  for (const auto& t : trackers) {
    std::string prefix = "ACCEL_TRACKER_";
    for (char c : t) prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    prefix += "_";
    for (const auto& [k, v] : env) {
      if (k.rfind(prefix, 0) != 0) continue;
      std::string setting = k.substr(prefix.size());
      std::transform(setting.begin(), setting.end(), setting.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      out[t][setting] = v;
    }
  }
  return out;
}

}  // namespace

Settings settings_from(const ResolvedConfig& c) {
  Settings s;
  s.mixed_precision = c.mixed_precision();
  s.gradient_accumulation_steps = c.gradient_accumulation_steps();
  s.cpu = c.cpu();
  s.gpu_ids = c.gpu_ids();
  s.num_cpu_threads_per_process = c.num_cpu_threads_per_process();
  s.backend = c.backend();
  s.pg_timeout_seconds = c.pg_timeout_seconds();
  s.rendezvous_timeout_seconds = c.rendezvous_timeout_seconds();
  s.main_process_ip = c.main_process_ip();
  s.main_process_port = c.main_process_port();
  s.ddp_bucket_cap_mb = c.ddp_bucket_cap_mb();
  s.ddp_gradient_as_bucket_view = c.ddp_gradient_as_bucket_view();
  s.ddp_static_graph = c.ddp_static_graph();
  s.ddp_find_unused_parameters = c.ddp_find_unused_parameters();
  s.log_with = c.log_with();
  s.project_dir = c.project_dir();
  s.logging_dir = c.logging_dir();
  s.run_name_prefix = c.run_name_prefix();
  s.run_name = c.run_name();
  if (s.run_name.empty()) s.run_name = derive_run_name(s.run_name_prefix, std::time(nullptr));
  s.checkpoint_dir = c.checkpoint_dir();
  s.checkpoint_every_steps = c.checkpoint_every_steps();
  s.checkpoint_keep = c.checkpoint_keep();
  s.stall_timeout_seconds = c.stall_timeout_seconds();
  s.seed = c.seed();
  s.metrics_port = c.metrics_port();
  s.metrics_host = c.metrics_host();
  s.print_scope = c.print_scope();
  s.job_name = c.job_name();
  s.job_namespace = c.job_namespace();
  s.restart_count = c.restart_count();
  s.tracker_settings = tracker_settings_from_env(s.log_with);
  return s;
}

}  // namespace accel

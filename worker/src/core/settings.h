// settings.h — the typed view of a ResolvedConfig that the core uses internally.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "accel/config.h"

namespace accel {

struct Settings {
  std::string mixed_precision = "no";
  int gradient_accumulation_steps = 1;
  bool cpu = false;
  std::string gpu_ids = "all";
  int num_cpu_threads_per_process = 0;
  std::string backend = "auto";
  int pg_timeout_seconds = 1800;
  int rendezvous_timeout_seconds = 300;
  std::string main_process_ip = "127.0.0.1";
  int main_process_port = 29500;
  int ddp_bucket_cap_mb = 25;
  bool ddp_gradient_as_bucket_view = false;
  bool ddp_static_graph = false;
  bool ddp_find_unused_parameters = false;
  std::vector<std::string> log_with;
  std::string project_dir = ".";
  std::string logging_dir;
  std::string run_name_prefix;
  std::string run_name;
  std::string checkpoint_dir;
  int checkpoint_every_steps = 0;
  int checkpoint_keep = 3;
  int stall_timeout_seconds = 0;
  int seed = 42;
  int metrics_port = 0;
  std::string metrics_host;  // bind address of /metrics; "" = every interface
  std::string print_scope = "global";
  std::string job_name;
  std::string job_namespace;
  std::map<std::string, std::map<std::string, std::string>> tracker_settings;  // type -> k -> v
  int restart_count = 0;
};

Settings settings_from(const ResolvedConfig& config);

}  // namespace accel

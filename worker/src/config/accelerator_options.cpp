// accelerator_options.cpp — the code layer (layer 5).
#include "accel/config.h"

namespace accel {

namespace {
std::string b(bool v) { return v ? "true" : "false"; }
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out;
}
}  // namespace

#define ACCEL_STRING_SETTER(name) \
  AcceleratorOptions& AcceleratorOptions::name(const std::string& v) { return set(#name, v); }
#define ACCEL_INT_SETTER(name) \
  AcceleratorOptions& AcceleratorOptions::name(int v) { return set(#name, std::to_string(v)); }
#define ACCEL_BOOL_SETTER(name) \
  AcceleratorOptions& AcceleratorOptions::name(bool v) { return set(#name, b(v)); }

ACCEL_STRING_SETTER(mixed_precision)
ACCEL_INT_SETTER(gradient_accumulation_steps)
ACCEL_INT_SETTER(num_processes)
ACCEL_INT_SETTER(num_machines)
ACCEL_INT_SETTER(machine_rank)
ACCEL_STRING_SETTER(main_process_ip)
ACCEL_INT_SETTER(main_process_port)
ACCEL_STRING_SETTER(gpu_ids)
ACCEL_BOOL_SETTER(cpu)
ACCEL_INT_SETTER(gpus_per_node)
ACCEL_BOOL_SETTER(allow_tf32)
ACCEL_INT_SETTER(num_cpu_threads_per_process)
ACCEL_STRING_SETTER(backend)
ACCEL_INT_SETTER(pg_timeout_seconds)
ACCEL_INT_SETTER(rendezvous_timeout_seconds)
ACCEL_INT_SETTER(flight_recorder_entries)
ACCEL_STRING_SETTER(flight_recorder_dir)
ACCEL_INT_SETTER(ddp_bucket_cap_mb)
ACCEL_BOOL_SETTER(ddp_gradient_as_bucket_view)
ACCEL_BOOL_SETTER(ddp_static_graph)
ACCEL_BOOL_SETTER(ddp_find_unused_parameters)
ACCEL_STRING_SETTER(project_dir)
ACCEL_STRING_SETTER(logging_dir)
ACCEL_STRING_SETTER(run_name_prefix)
ACCEL_STRING_SETTER(run_name)
ACCEL_STRING_SETTER(checkpoint_dir)
ACCEL_INT_SETTER(checkpoint_every_steps)
ACCEL_INT_SETTER(checkpoint_keep)
ACCEL_INT_SETTER(stall_timeout_seconds)
ACCEL_INT_SETTER(seed)
ACCEL_INT_SETTER(metrics_port)
ACCEL_STRING_SETTER(metrics_host)
ACCEL_STRING_SETTER(print_scope)
ACCEL_STRING_SETTER(job_name)
ACCEL_STRING_SETTER(job_namespace)
ACCEL_INT_SETTER(restart_count)

#undef ACCEL_STRING_SETTER
#undef ACCEL_INT_SETTER
#undef ACCEL_BOOL_SETTER

AcceleratorOptions& AcceleratorOptions::log_with(const std::vector<std::string>& trackers) {
  return set("log_with", joined(trackers));
}

AcceleratorOptions& AcceleratorOptions::set(const std::string& key, const std::string& value) {
  require_config_key(key, "code (AcceleratorOptions::set)");
  values_[key] = value;  // recorded even when equal to the default: setting is what counts
  return *this;
}

AcceleratorOptions& AcceleratorOptions::config_file(const std::string& path) {
  config_file_ = path;
  return *this;
}

}  // namespace accel

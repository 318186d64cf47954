// cross_checks.h — rules that involve more than one key (internal to accel_config).
#pragma once

#include <ctime>
#include <map>
#include <string>

#include "accel/config.h"

namespace accel::config_detail {

// Throws ConfigError when resolved values contradict each other, naming both keys, their
// values and their sources:
//  - machine_rank must be below num_machines;
//  - backend nccl needs a GPU, so it cannot go with cpu=true;
//  - main_process_port 0 (pick a free port) works on one machine only.
// Keys absent from `values` are not checked.
void check_cross_key(const std::map<std::string, ResolvedValue>& values);

// WORLD_SIZE, RANK, LOCAL_RANK, LOCAL_WORLD_SIZE, NODE_RANK, MASTER_ADDR, MASTER_PORT; throws
// ConfigError naming the variable when one is not a number or a rank is out of range.
RankIdentity resolve_identity(const std::map<std::string, std::string>& env, const std::string& main_ip,
                              int main_port);
// The ACCEL_TRACKER_<TYPE>_<SETTING> variables, for every tracker type.
std::map<std::string, std::map<std::string, std::string>> tracker_settings_from(
    const std::map<std::string, std::string>& env);

// Fills derived defaults ("<project_dir>/logs") for keys whose source is Default, and the run
// name (run_name_prefix + `now` in UTC) when run_name is empty, whatever set it.
void apply_derived_defaults(std::map<std::string, ResolvedValue>& values, std::time_t now);

}  // namespace accel::config_detail

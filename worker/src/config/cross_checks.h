// cross_checks.h — rules that involve more than one key (internal to accel_config).
#pragma once

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

// Fills derived defaults ("<project_dir>/logs") for keys whose source is Default.
void apply_derived_defaults(std::map<std::string, ResolvedValue>& values);

}  // namespace accel::config_detail

// env_contract.h — the environment the operator (or `accel run`) gives each node's pod.
//
// node_env() is the whole contract, versioned by ACCEL_CONTRACT_VERSION; api/ENV_CONTRACT.md
// is the table for humans. The torch-style variables (MASTER_ADDR, MASTER_PORT, NNODES,
// NODE_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE) come first, then ACCEL_* in a fixed order.
// RANK and LOCAL_RANK are per process: `accel launch` sets them, not this function.
// Each job setting is ACCEL_ + upper(worker config key), e.g. mixed_precision ->
// ACCEL_MIXED_PRECISION, so the worker's config resolution reads them like any other source.
// Secrets never appear here: secretKeyRef env vars are put into the pod spec by the operator.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "accel/api/acceljob.h"

namespace accel::api {

inline constexpr int kEnvContractVersion = 1;

using EnvList = std::vector<std::pair<std::string, std::string>>;

// The worker config keys carried as ACCEL_<KEY>, in the order node_env() emits them.
const std::vector<std::string>& contract_config_keys();
// "ACCEL_" + key upper-cased ("mixed_precision" -> "ACCEL_MIXED_PRECISION").
std::string env_name_for_key(const std::string& key);
// ACCEL_TRACKER_<TYPE>_<SETTING>, upper-cased, every non-alphanumeric character -> '_'.
std::string tracker_setting_env_name(TrackerType type, const std::string& setting);

// Env for the pod of node `node_rank` (0-based) of attempt `attempt` (0 on the first run,
// = status.attempt). The job must be defaulted (api::apply_defaults). Optional settings that
// are unset are left out: ACCEL_LOGGING_DIR,
// ACCEL_RUN_NAME_PREFIX, ACCEL_STALL_TIMEOUT_SECONDS, ACCEL_LOG_WITH (no trackers).
// Throws std::invalid_argument when node_rank is outside [0, nodes) or master_port is not a port.
EnvList node_env(const AccelJob& job, int node_rank, int attempt, const std::string& master_addr,
                 int master_port);

}  // namespace accel::api

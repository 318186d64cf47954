// The operator's env contract (api/) and the worker's key table agree: every ACCEL_<KEY> the
// operator sets is a configuration key, and a pod's env resolves without error.
#include <gtest/gtest.h>

#include "accel/api/acceljob.h"
#include "accel/api/env_contract.h"
#include "accel/config.h"

namespace accel {
namespace {

TEST(EnvContractCompat, EveryContractKeyIsAConfigurationKeyWithTheSameEnvName) {
  for (const auto& key : api::contract_config_keys()) {
    EXPECT_NE(find_config_key(key), nullptr) << key;
    EXPECT_EQ(api::env_name_for_key(key), env_var_for_key(key)) << key;
  }
}

TEST(EnvContractCompat, APodsEnvironmentResolvesAndIsAttributedToTheEnvironment) {
  api::AccelJob job = api::parse_acceljob_yaml(
      "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata:\n  name: demo\n"
      "  namespace: team\nspec:\n  image: img\n  nodes: 2\n  precision: bf16\n"
      "  trackers:\n  - type: tensorboard\n");
  api::apply_defaults(job);
  std::map<std::string, std::string> env;
  for (const auto& [name, value] : api::node_env(job, 1, 3, "10.0.0.1", 29500)) env[name] = value;

  const ResolvedConfig cfg = resolve_config(ConfigInputs::from_environment(env));
  EXPECT_EQ(cfg.mixed_precision(), "bf16");
  EXPECT_EQ(cfg.num_machines(), 2);
  EXPECT_EQ(cfg.machine_rank(), 1);
  EXPECT_EQ(cfg.restart_count(), 3);
  EXPECT_EQ(cfg.job_name(), "demo");
  EXPECT_EQ(cfg.job_namespace(), "team");
  EXPECT_EQ(cfg.log_with(), std::vector<std::string>{"tensorboard"});
  for (const auto& [name, value] : env) {
    if (name.rfind("ACCEL_", 0) != 0 || name == "ACCEL_CONTRACT_VERSION" ||
        name.rfind("ACCEL_TRACKER_", 0) == 0)
      continue;
    bool is_key = false;
    for (const auto& k : config_keys())
      if (env_var_for_key(k.name) == name) {
        is_key = true;
        EXPECT_EQ(cfg.source_of(k.name), ConfigSource::Environment) << name;
      }
    EXPECT_TRUE(is_key) << name << " is set by the operator but is no configuration key";
  }
}

}  // namespace
}  // namespace accel

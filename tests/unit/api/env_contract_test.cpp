// The env contract: exactly what each node's pod receives.
#include <gtest/gtest.h>

#include <set>

#include "accel/api/env_contract.h"
#include "test_jobs.h"

namespace accel::api {
namespace {

AccelJob two_node_job() {
  AccelJob job = load_acceljob_file(testing::example_path("gpt-2node-cpu.yaml"));
  apply_defaults(job);
  job.metadata.namespace_ = "research";
  job.spec.trackers[0].settings["flush-secs"] = "30";
  return job;
}

TEST(EnvContract, TwoNodeCpuJobGolden) {
  EnvList want = {
      {"MASTER_ADDR", "gpt-tiny-node-0.gpt-tiny"},
      {"MASTER_PORT", "29500"},
      {"NNODES", "2"},
      {"NODE_RANK", "1"},
      {"WORLD_SIZE", "2"},
      {"LOCAL_WORLD_SIZE", "1"},
      {"ACCEL_CONTRACT_VERSION", "1"},
      {"ACCEL_JOB_NAME", "gpt-tiny"},
      {"ACCEL_JOB_NAMESPACE", "research"},
      {"ACCEL_RESTART_COUNT", "2"},
      {"ACCEL_MIXED_PRECISION", "bf16"},
      {"ACCEL_GRADIENT_ACCUMULATION_STEPS", "2"},
      {"ACCEL_NUM_PROCESSES", "1"},
      {"ACCEL_NUM_MACHINES", "2"},
      {"ACCEL_MACHINE_RANK", "1"},
      {"ACCEL_MAIN_PROCESS_IP", "gpt-tiny-node-0.gpt-tiny"},
      {"ACCEL_MAIN_PROCESS_PORT", "29500"},
      {"ACCEL_CPU", "true"},
      {"ACCEL_GPUS_PER_NODE", "0"},
      {"ACCEL_BACKEND", "auto"},
      {"ACCEL_PG_TIMEOUT_SECONDS", "1800"},
      {"ACCEL_RENDEZVOUS_TIMEOUT_SECONDS", "300"},
      {"ACCEL_DDP_BUCKET_CAP_MB", "25"},
      {"ACCEL_DDP_GRADIENT_AS_BUCKET_VIEW", "false"},
      {"ACCEL_DDP_STATIC_GRAPH", "false"},
      {"ACCEL_DDP_FIND_UNUSED_PARAMETERS", "false"},
      {"ACCEL_LOG_WITH", "tensorboard,jsonl"},
      {"ACCEL_PROJECT_DIR", "/workspace"},
      {"ACCEL_CHECKPOINT_DIR", "/workspace/checkpoints"},
      {"ACCEL_CHECKPOINT_EVERY_STEPS", "20"},
      {"ACCEL_CHECKPOINT_KEEP", "3"},
      {"ACCEL_METRICS_PORT", "9400"},
      {"ACCEL_TERMINATION_GRACE_SECONDS", "30"},
      {"ACCEL_TRACKER_TENSORBOARD_FLUSH_SECS", "30"},
  };
  EnvList got = node_env(two_node_job(), 1, 2, "gpt-tiny-node-0.gpt-tiny", 29500);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(got[i], want[i]) << "entry " << i;
}

TEST(EnvContract, NodeRankZeroDiffersOnlyInRank) {
  EnvList n0 = node_env(two_node_job(), 0, 0, "m", 29500);
  EnvList n1 = node_env(two_node_job(), 1, 0, "m", 29500);
  std::set<std::string> differing;
  for (std::size_t i = 0; i < n0.size(); ++i)
    if (n0[i].second != n1[i].second) differing.insert(n0[i].first);
  EXPECT_EQ(differing, (std::set<std::string>{"NODE_RANK", "ACCEL_MACHINE_RANK"}));
}

TEST(EnvContract, EveryConfigKeyOnceWhenAllSettingsAreSet) {
  AccelJob job = two_node_job();
  job.spec.logging.loggingDir = "/logs";
  job.spec.logging.runNamePrefix = "exp";
  job.spec.runPolicy.stallTimeoutSeconds = 600;
  EnvList env = node_env(job, 0, 0, "m", 29500);
  std::map<std::string, int> count;
  for (const auto& [k, v] : env) ++count[k];
  for (const auto& key : contract_config_keys()) EXPECT_EQ(count[env_name_for_key(key)], 1) << key;
  EXPECT_EQ(count["ACCEL_STALL_TIMEOUT_SECONDS"], 1);
  for (const auto& [k, n] : count) EXPECT_EQ(n, 1) << k << " appears twice";
}

TEST(EnvContract, GpuJobUsesGpusAsProcesses) {
  AccelJob job = load_acceljob_file(testing::example_path("mlp-gpu.yaml"));
  apply_defaults(job);
  std::map<std::string, std::string> env;
  for (const auto& [k, v] : node_env(job, 0, 0, "m", 29500)) env[k] = v;
  EXPECT_EQ(env["WORLD_SIZE"], "8");
  EXPECT_EQ(env["LOCAL_WORLD_SIZE"], "8");
  EXPECT_EQ(env["ACCEL_NUM_PROCESSES"], "8");
  EXPECT_EQ(env["ACCEL_CPU"], "false");
  EXPECT_EQ(env["ACCEL_GPUS_PER_NODE"], "8");  // a rank that sees fewer GPUs exits 78
  EXPECT_EQ(env["ACCEL_BACKEND"], "nccl");
  EXPECT_EQ(env.count("ACCEL_LOG_WITH"), 0u);  // no trackers
  EXPECT_EQ(env.count("RANK"), 0u);            // per process: accel launch sets it
  EXPECT_EQ(env.count("LOCAL_RANK"), 0u);
}

TEST(EnvContract, NeverCarriesSecretsOrUserEnv) {
  AccelJob job = two_node_job();
  job.spec.env.push_back({"WANDB_API_KEY", std::nullopt, EnvVarSource{SecretKeySelector{"wandb", "api-key"}}});
  job.spec.env.push_back({"HF_TOKEN", std::string("hf_secret"), std::nullopt});
  job.spec.trackers.push_back({TrackerType::WandB, {{"project", "p"}}, SecretKeySelector{"wandb", "api-key"}});
  for (const auto& [k, v] : node_env(job, 0, 0, "m", 29500)) {
    EXPECT_NE(k, "WANDB_API_KEY");
    EXPECT_NE(k, "HF_TOKEN");
    EXPECT_NE(v, "hf_secret");
    EXPECT_EQ(v.find("api-key"), std::string::npos) << k;
  }
}

TEST(EnvContract, TrackerSettingNames) {
  EXPECT_EQ(tracker_setting_env_name(TrackerType::MLflow, "tracking-uri"), "ACCEL_TRACKER_MLFLOW_TRACKING_URI");
  EXPECT_EQ(tracker_setting_env_name(TrackerType::WandB, "project.name"), "ACCEL_TRACKER_WANDB_PROJECT_NAME");
  EXPECT_EQ(env_name_for_key("ddp_bucket_cap_mb"), "ACCEL_DDP_BUCKET_CAP_MB");
}

TEST(EnvContract, RejectsNodeRankOutsideTheJob) {
  EXPECT_THROW(node_env(two_node_job(), 2, 0, "m", 29500), std::invalid_argument);
  EXPECT_THROW(node_env(two_node_job(), -1, 0, "m", 29500), std::invalid_argument);
  EXPECT_THROW(node_env(two_node_job(), 0, 0, "m", 0), std::invalid_argument);
}

}  // namespace
}  // namespace accel::api

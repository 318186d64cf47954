// rank_env(): what one rank of `accel launch` finds in its environment besides the launcher's
// own — torchrun's variables and the job's settings under the names Accelerate reads.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "accel/config.h"
#include "accel/launcher.h"
#include "accel/program_env.h"

namespace accel {
namespace {

ResolvedConfig resolve(std::map<std::string, std::string> env,
                       std::map<std::string, std::string> flags = {}) {
  env["HOME"] = "/nonexistent";  // no default config file
  ConfigInputs in = ConfigInputs::from_environment(env);
  in.launch_flags = std::move(flags);
  return resolve_config(in);
}

// Node 1 of 2, two processes per node, as the operator's env contract describes it.
LaunchPlan two_node_plan(const ResolvedConfig& cfg,
                         std::map<std::string, std::string> environment = {}) {
  LaunchPlan p;
  p.program = {"python", "train.py"};
  p.nproc = 2;
  p.nnodes = 2;
  p.node_rank = 1;
  p.master_addr = "job-n0.job";
  p.settings = program_settings(cfg, p.nproc);
  p.environment = std::move(environment);
  p.restart_count = cfg.restart_count();
  p.run_id = cfg.job_name();
  return p;
}

TEST(RankEnv, GivesEveryVariableTorchrunGivesAWorker) {
  const auto cfg = resolve({{"ACCEL_RESTART_COUNT", "3"}, {"ACCEL_JOB_NAME", "sd-lora"}});
  const auto env = rank_env(two_node_plan(cfg), /*local_rank=*/1, 29500);
  const std::map<std::string, std::string> expected = {{"RANK", "3"},
                                                       {"LOCAL_RANK", "1"},
                                                       {"WORLD_SIZE", "4"},
                                                       {"LOCAL_WORLD_SIZE", "2"},
                                                       {"GROUP_RANK", "1"},
                                                       {"GROUP_WORLD_SIZE", "2"},
                                                       {"ROLE_NAME", "default"},
                                                       {"ROLE_RANK", "3"},
                                                       {"ROLE_WORLD_SIZE", "4"},
                                                       {"MASTER_ADDR", "job-n0.job"},
                                                       {"MASTER_PORT", "29500"},
                                                       {"NODE_RANK", "1"},
                                                       {"NNODES", "2"},
                                                       {"TORCHELASTIC_RESTART_COUNT", "3"},
                                                       {"TORCHELASTIC_RUN_ID", "sd-lora"},
                                                       {"TORCHELASTIC_USE_AGENT_STORE", "False"},
                                                       {"TORCH_NCCL_ASYNC_ERROR_HANDLING", "1"}};
  for (const auto& [k, v] : expected) {
    ASSERT_TRUE(env.count(k)) << k << " missing";
    EXPECT_EQ(env.at(k), v) << k;
  }
}

TEST(RankEnv, HandsTheJobsPrecisionAccumulationAndCpuToAccelerateUnderItsOwnNames) {
  const auto cfg = resolve({{"ACCEL_MIXED_PRECISION", "bf16"},
                            {"ACCEL_GRADIENT_ACCUMULATION_STEPS", "4"},
                            {"ACCEL_CPU", "true"}});
  const auto env = rank_env(two_node_plan(cfg), 0, 29500);
  EXPECT_EQ(env.at("ACCELERATE_MIXED_PRECISION"), "bf16");
  EXPECT_EQ(env.at("ACCELERATE_GRADIENT_ACCUMULATION_STEPS"), "4");
  EXPECT_EQ(env.at("ACCELERATE_USE_CPU"), "true");
}

TEST(RankEnv, HandsTheDynamoKeysToAccelerateUnderItsOwnNames) {
  const auto cfg = resolve({{"ACCEL_DYNAMO_BACKEND", "inductor"},
                            {"ACCEL_DYNAMO_MODE", "max-autotune"},
                            {"ACCEL_DYNAMO_FULLGRAPH", "true"}});
  const auto env = rank_env(two_node_plan(cfg), 0, 29500);
  EXPECT_EQ(env.at("ACCELERATE_DYNAMO_BACKEND"), "INDUCTOR");  // DynamoBackend's value
  EXPECT_EQ(env.at("ACCELERATE_DYNAMO_MODE"), "max-autotune");
  EXPECT_EQ(env.at("ACCELERATE_DYNAMO_USE_FULLGRAPH"), "true");
  EXPECT_EQ(env.count("ACCELERATE_DYNAMO_USE_DYNAMIC"), 0u);  // no layer set it
  EXPECT_EQ(rank_env(two_node_plan(resolve({})), 0, 29500).count("ACCELERATE_DYNAMO_BACKEND"), 0u);
}

TEST(RankEnv, ExportsNoAccelerateSettingThatNoLayerSet) {
  // Accelerate reads ACCELERATE_GRADIENT_ACCUMULATION_STEPS over the constructor's value:
  // exporting Accel's default 1 would undo a script's own
  // Accelerator(gradient_accumulation_steps=4).
  const auto env = rank_env(two_node_plan(resolve({})), 0, 29500);
  EXPECT_EQ(env.count("ACCELERATE_GRADIENT_ACCUMULATION_STEPS"), 0u);
  EXPECT_EQ(env.count("ACCELERATE_MIXED_PRECISION"), 0u);
  EXPECT_EQ(env.count("ACCELERATE_USE_CPU"), 0u);
  EXPECT_EQ(env.at("TORCHELASTIC_RUN_ID"), "");  // no job name: the plan's (the CLI puts "none")
}

TEST(RankEnv, KeepsAVariableTheEnvironmentAlreadySetAndSaysSo) {
  const auto cfg = resolve({{"ACCEL_MIXED_PRECISION", "bf16"}});
  const std::map<std::string, std::string> environment = {{"ACCELERATE_MIXED_PRECISION", "fp16"}};
  const auto plan = two_node_plan(cfg, environment);
  // Not in the rank's additions: the rank inherits the launcher's fp16.
  EXPECT_EQ(rank_env(plan, 0, 29500).count("ACCELERATE_MIXED_PRECISION"), 0u);
  const auto decided = decide_program_env(plan.settings, plan.environment);
  ASSERT_EQ(decided.notes.size(), 1u);
  EXPECT_NE(decided.notes[0].find("ACCELERATE_MIXED_PRECISION=fp16 from the environment is kept"),
            std::string::npos)
      << decided.notes[0];
  EXPECT_NE(decided.notes[0].find("environment variable ACCEL_MIXED_PRECISION"), std::string::npos)
      << decided.notes[0];
}

TEST(RankEnv, ALaunchFlagReplacesTheEnvironmentsValueAndSaysSo) {
  const auto cfg = resolve({}, {{"mixed_precision", "bf16"}});
  const auto plan = two_node_plan(cfg, {{"ACCELERATE_MIXED_PRECISION", "fp16"}});
  EXPECT_EQ(rank_env(plan, 0, 29500).at("ACCELERATE_MIXED_PRECISION"), "bf16");
  const auto notes = decide_program_env(plan.settings, plan.environment).notes;
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("launch flag --mixed_precision replaces the environment's "
                          "ACCELERATE_MIXED_PRECISION=fp16"),
            std::string::npos)
      << notes[0];
}

TEST(RankEnv, OmpNumThreadsFromTheEnvironmentWinsOverTheDefaultSilentlyAsUnderTorchrun) {
  const auto plan = two_node_plan(resolve({}), {{"OMP_NUM_THREADS", "3"}});
  EXPECT_EQ(rank_env(plan, 0, 29500).count("OMP_NUM_THREADS"), 0u);  // inherited: 3
  EXPECT_TRUE(decide_program_env(plan.settings, plan.environment).notes.empty());
  // Without one: the cores shared by the processes, at least 1.
  EXPECT_GE(std::stoi(rank_env(two_node_plan(resolve({})), 0, 29500).at("OMP_NUM_THREADS")), 1);
  // An explicit key: its value.
  EXPECT_EQ(rank_env(two_node_plan(resolve({{"ACCEL_NUM_CPU_THREADS_PER_PROCESS", "5"}})), 0, 29500)
                .at("OMP_NUM_THREADS"),
            "5");
}

TEST(RankEnv, IdentityVariablesReplaceStaleOnesFromTheEnvironment) {
  // A restart count or rank left in the environment describes another gang.
  const auto cfg = resolve({{"ACCEL_RESTART_COUNT", "1"}});
  const auto env =
      rank_env(two_node_plan(cfg, {{"TORCHELASTIC_RESTART_COUNT", "0"}, {"RANK", "9"}}), 0, 1);
  EXPECT_EQ(env.at("TORCHELASTIC_RESTART_COUNT"), "1");
  EXPECT_EQ(env.at("RANK"), "2");
}

}  // namespace
}  // namespace accel

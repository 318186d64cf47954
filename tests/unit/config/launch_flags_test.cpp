// `accel launch` flags: registered from the key table, handed to ranks as ACCEL_LAUNCH_*, and
// read back there as layer 4 (distinct from the operator's ACCEL_<KEY>, layer 3).
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "accel/config.h"
#include "config_test_support.h"

namespace accel {
namespace {

using testing::error_of;

TEST(LaunchFlags, EveryKeyIsAFlagOfTheLaunchCommand) {
  CLI::App app;
  LaunchFlags flags;
  add_launch_flags(app, flags);
  for (const auto& key : config_key_names())
    EXPECT_NE(app.get_option_no_throw("--" + key), nullptr) << key;
  EXPECT_NE(app.get_option_no_throw("--config_file"), nullptr);
}

TEST(LaunchFlags, ParsedFlagsHoldOnlyWhatWasGiven) {
  CLI::App app;
  LaunchFlags flags;
  add_launch_flags(app, flags);
  std::vector<std::string> program;
  app.add_option("program", program);
  app.prefix_command();  // as `accel launch` does: the program's own flags are not ours
  app.parse(
      "--mixed_precision bf16 --cpu --ddp_static_graph=false --seed 7 "
      "--config_file /etc/accel.yaml train --steps 3",
      false);
  EXPECT_EQ(flags.values, (std::map<std::string, std::string>{{"mixed_precision", "bf16"},
                                                              {"cpu", "true"},
                                                              {"ddp_static_graph", "false"},
                                                              {"seed", "7"}}));
  EXPECT_EQ(flags.config_file, "/etc/accel.yaml");
}

TEST(LaunchFlags, BooleanFlagNeverSwallowsTheProgram) {
  CLI::App app;
  LaunchFlags flags;
  add_launch_flags(app, flags);
  std::vector<std::string> program;
  app.add_option("program", program);
  app.prefix_command();  // as `accel launch` does: the program's own flags are not ours
  app.parse("--cpu ./train", false);
  EXPECT_EQ(flags.values.at("cpu"), "true");
  EXPECT_EQ(program, std::vector<std::string>{"./train"});
}

TEST(LaunchFlags, ToEnvUsesTheLaunchPrefix) {
  EXPECT_EQ(launch_flags_to_env({{"mixed_precision", "bf16"}, {"seed", "7"}}),
            (std::map<std::string, std::string>{{"ACCEL_LAUNCH_MIXED_PRECISION", "bf16"},
                                                {"ACCEL_LAUNCH_SEED", "7"}}));
  LaunchFlags f;
  f.config_file = "/c.yaml";
  EXPECT_EQ(f.to_env().at("ACCEL_LAUNCH_CONFIG_FILE"), "/c.yaml");
  EXPECT_THROW(launch_flags_to_env({{"gpus", "2"}}), ConfigError);
}

TEST(LaunchFlags, RoundTripThroughTheRankEnvironmentIsAttributedToTheFlag) {
  // The launcher parses flags, exports them, and the rank resolves them as layer 4: above the
  // operator's ACCEL_MIXED_PRECISION (layer 3) and below code (layer 5).
  CLI::App app;
  LaunchFlags flags;
  add_launch_flags(app, flags);
  app.parse("--mixed_precision bf16 --gradient_accumulation_steps 4 --log_with tensorboard,jsonl",
            false);

  std::map<std::string, std::string> rank_env = flags.to_env();
  rank_env["ACCEL_MIXED_PRECISION"] = "fp16";  // from the operator
  rank_env["ACCEL_SEED"] = "5";

  auto in =
      ConfigInputs::from_environment(rank_env, AcceleratorOptions().gradient_accumulation_steps(2));
  EXPECT_EQ(in.launch_flags, flags.values);
  const ResolvedConfig cfg = resolve_config(in);
  EXPECT_EQ(cfg.mixed_precision(), "bf16");
  EXPECT_EQ(cfg.origin_of("mixed_precision"), "launch flag --mixed_precision");
  EXPECT_EQ(cfg.log_with(), (std::vector<std::string>{"tensorboard", "jsonl"}));
  EXPECT_EQ(cfg.gradient_accumulation_steps(), 2);
  EXPECT_EQ(cfg.source_of("gradient_accumulation_steps"), ConfigSource::Code);
  EXPECT_EQ(cfg.seed(), 5);
  EXPECT_EQ(cfg.origin_of("seed"), "environment variable ACCEL_SEED");
}

TEST(LaunchFlags, BadFlagValueReachingARankStillNamesTheFlag) {
  const std::string msg = error_of<ConfigError>([] {
    resolve_config(ConfigInputs::from_environment({{"ACCEL_LAUNCH_CHECKPOINT_KEEP", "0"}}));
  });
  EXPECT_NE(msg.find("checkpoint_keep: '0' from launch flag --checkpoint_keep"), std::string::npos)
      << msg;
}

TEST(LaunchFlags, UnknownLaunchVariableIsAnError) {
  const std::string msg = error_of<ConfigError>([] {
    launch_flags_from_env({{"ACCEL_LAUNCH_NUM_GPUS", "2"}});
  });
  EXPECT_NE(msg.find("ACCEL_LAUNCH_NUM_GPUS"), std::string::npos) << msg;
}

TEST(LaunchFlags, OtherVariablesAreNotLaunchFlags) {
  const LaunchFlags f = launch_flags_from_env(
      {{"ACCEL_LAUNCHER", "x"}, {"ACCEL_SEED", "3"}, {"ACCEL_LAUNCH_SEED", "4"}, {"PATH", "/bin"}});
  EXPECT_EQ(f.values, (std::map<std::string, std::string>{{"seed", "4"}}));
}

}  // namespace
}  // namespace accel

// Invalid values name the key, the value and the source, in every layer; bad combinations
// name both keys and their sources.
#include <gtest/gtest.h>

#include "accel/config.h"
#include "config_test_support.h"

namespace accel {
namespace {

using testing::error_of;
using testing::ScratchDir;
using testing::write_text;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(ConfigErrors, BadValueFromTheEnvironmentNamesKeyValueAndVariable) {
  const std::string msg = error_of<ConfigError>([] {
    resolve_config(ConfigInputs::from_environment({{"ACCEL_MIXED_PRECISION", "bf17"}}));
  });
  EXPECT_EQ(msg,
            "mixed_precision: 'bf17' from environment variable ACCEL_MIXED_PRECISION is not one "
            "of: no, fp16, bf16");
}

TEST(ConfigErrors, BadValueFromTheConfigFileNamesThePath) {
  ScratchDir dir;
  const std::string path = dir.file("c.yaml");
  write_text(path, "gradient_accumulation_steps: 0\n");
  ConfigInputs in;
  in.config_file = path;
  const std::string msg = error_of<ConfigError>([&] { resolve_config(in); });
  EXPECT_TRUE(contains(msg, "gradient_accumulation_steps: '0' from config file " + path)) << msg;
  EXPECT_TRUE(contains(msg, ">= 1")) << msg;
}

TEST(ConfigErrors, BadValueFromALaunchFlagNamesTheFlag) {
  ConfigInputs in;
  in.launch_flags["main_process_port"] = "70000";
  const std::string msg = error_of<ConfigError>([&] { resolve_config(in); });
  EXPECT_TRUE(contains(msg, "main_process_port: '70000' from launch flag --main_process_port"))
      << msg;
  EXPECT_TRUE(contains(msg, "0 to 65535")) << msg;
}

TEST(ConfigErrors, BadValueFromCodeNamesTheSetter) {
  const std::string msg = error_of<ConfigError>([] {
    resolve_config(ConfigInputs::from_environment({}, AcceleratorOptions().backend("mpi")));
  });
  EXPECT_EQ(
      msg,
      "backend: 'mpi' from code (AcceleratorOptions::backend) is not one of: auto, nccl, gloo");
}

TEST(ConfigErrors, BadValueInALowerLayerIsReportedEvenWhenAHigherLayerOverridesIt) {
  // A broken ACCEL_SEED would bite the next run that does not set the seed in code.
  const std::string msg = error_of<ConfigError>([] {
    resolve_config(ConfigInputs::from_environment({{"ACCEL_SEED", "forty-two"}},
                                                  AcceleratorOptions().seed(1)));
  });
  EXPECT_TRUE(
      contains(msg, "seed: 'forty-two' from environment variable ACCEL_SEED is not an integer"))
      << msg;
}

TEST(ConfigErrors, BooleansAcceptTheDocumentedSpellingsInAnyCase) {
  for (const char* t : {"true", "TRUE", "1", "yes", "Yes"}) {
    EXPECT_TRUE(resolve_config(ConfigInputs::from_environment({{"ACCEL_CPU", t}})).cpu()) << t;
  }
  for (const char* f : {"false", "False", "0", "no", "NO"}) {
    EXPECT_FALSE(resolve_config(ConfigInputs::from_environment({{"ACCEL_CPU", f}})).cpu()) << f;
  }
}

TEST(ConfigErrors, AnythingElseIsNotABoolean) {
  for (const char* bad : {"on", "maybe", "", "2"}) {
    const std::string msg = error_of<ConfigError>([&] {
      resolve_config(ConfigInputs::from_environment({{"ACCEL_DDP_STATIC_GRAPH", bad}}));
    });
    EXPECT_TRUE(
        contains(msg, std::string("ddp_static_graph: '") + bad +
                          "' from environment variable ACCEL_DDP_STATIC_GRAPH is not a boolean"))
        << msg;
  }
}

TEST(ConfigErrors, IntegersRejectTextFractionsAndOverflow) {
  for (const char* bad : {"4.0", "4x", "", "99999999999999999999"}) {
    ConfigInputs in;
    in.code["checkpoint_keep"] = bad;
    EXPECT_THROW(resolve_config(in), ConfigError) << bad;
  }
}

TEST(ConfigErrors, UnknownTrackerNamesTheItem) {
  const std::string msg = error_of<ConfigError>([] {
    resolve_config(ConfigInputs::from_environment({{"ACCEL_LOG_WITH", "tensorboard,comet"}}));
  });
  EXPECT_TRUE(
      contains(msg, "log_with: 'tensorboard,comet' from environment variable ACCEL_LOG_WITH"))
      << msg;
  EXPECT_TRUE(contains(msg, "'comet'")) << msg;
}

TEST(ConfigErrors, GpuIdsMustBeAllOrIndices) {
  EXPECT_THROW(resolve_config(ConfigInputs::from_environment({{"ACCEL_GPU_IDS", "0,x"}})),
               ConfigError);
  EXPECT_THROW(resolve_config(ConfigInputs::from_environment({{"ACCEL_GPU_IDS", "1,1"}})),
               ConfigError);
  EXPECT_THROW(resolve_config(ConfigInputs::from_environment({{"ACCEL_GPU_IDS", "-1"}})),
               ConfigError);
}

TEST(ConfigErrors, EmptyLoggingDirPointsToTheDerivedDefault) {
  const std::string msg = error_of<ConfigError>([] {
    resolve_config(ConfigInputs::from_environment({{"ACCEL_LOGGING_DIR", ""}}));
  });
  EXPECT_TRUE(contains(msg, "logging_dir: '' from environment variable ACCEL_LOGGING_DIR")) << msg;
  EXPECT_TRUE(contains(msg, "<project_dir>/logs")) << msg;
}

TEST(ConfigErrors, UnknownKeyInCodeIsRejectedWhenSet) {
  const std::string msg =
      error_of<ConfigError>([] { AcceleratorOptions().set("mixed_precison", "bf16"); });
  EXPECT_TRUE(contains(msg, "unknown configuration key 'mixed_precison'")) << msg;
  EXPECT_TRUE(contains(msg, "did you mean 'mixed_precision'")) << msg;
}

TEST(ConfigErrors, UnknownKeyInLaunchFlagsIsRejected) {
  ConfigInputs in;
  in.launch_flags["num_gpus"] = "2";
  EXPECT_THROW(resolve_config(in), ConfigError);
}

TEST(ConfigErrors, UnrelatedAccelEnvironmentVariablesAreIgnored) {
  // The operator also sets ACCEL_CONTRACT_VERSION, ACCEL_TRACKER_* ...: not configuration keys.
  EXPECT_NO_THROW(resolve_config(ConfigInputs::from_environment(
      {{"ACCEL_CONTRACT_VERSION", "1"}, {"ACCEL_TRACKER_MLFLOW_TRACKING_URI", "http://x"}})));
}

// --- cross-key rules -----------------------------------------------------------------------

TEST(CrossKeyChecks, MachineRankMustBeBelowNumMachinesNamingBothSources) {
  ConfigInputs in;
  in.env["ACCEL_NUM_MACHINES"] = "2";
  in.launch_flags["machine_rank"] = "2";
  const std::string msg = error_of<ConfigError>([&] { resolve_config(in); });
  EXPECT_EQ(msg,
            "machine_rank: '2' from launch flag --machine_rank must be less than num_machines "
            "('2' from environment variable ACCEL_NUM_MACHINES)");
}

TEST(CrossKeyChecks, NcclOnCpuNamesBothKeysAndSources) {
  ConfigInputs in;
  in.env["ACCEL_BACKEND"] = "nccl";
  in.code["cpu"] = "true";
  const std::string msg = error_of<ConfigError>([&] { resolve_config(in); });
  EXPECT_TRUE(contains(msg, "backend: 'nccl' from environment variable ACCEL_BACKEND")) << msg;
  EXPECT_TRUE(contains(msg, "cpu is 'true' from code (AcceleratorOptions::cpu)")) << msg;
}

TEST(CrossKeyChecks, FreePortOnlyOnOneMachine) {
  ConfigInputs in;
  in.launch_flags["main_process_port"] = "0";
  EXPECT_NO_THROW(resolve_config(in));
  in.env["ACCEL_NUM_MACHINES"] = "2";
  const std::string msg = error_of<ConfigError>([&] { resolve_config(in); });
  EXPECT_TRUE(contains(msg, "main_process_port: '0' from launch flag --main_process_port")) << msg;
  EXPECT_TRUE(contains(msg, "num_machines is '2' from environment variable ACCEL_NUM_MACHINES"))
      << msg;
}

TEST(CrossKeyChecks, AValidCombinationFromDifferentLayersPasses) {
  ConfigInputs in;
  in.env["ACCEL_NUM_MACHINES"] = "4";
  in.launch_flags["machine_rank"] = "3";
  in.code["backend"] = "gloo";
  in.env["ACCEL_CPU"] = "true";
  const ResolvedConfig cfg = resolve_config(in);
  EXPECT_EQ(cfg.machine_rank(), 3);
  EXPECT_EQ(cfg.backend(), "gloo");
}

}  // namespace
}  // namespace accel

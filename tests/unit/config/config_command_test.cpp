// `accel config` set / show / explain / questions, driven through CLI11 with injected I/O and
// environment (no real stdin, stdout or environment).
#include "accel/config/config_command.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <sstream>

#include "accel/config.h"
#include "config_test_support.h"

namespace accel {
namespace {

using testing::error_of;
using testing::ScratchDir;

class ConfigCommand : public ::testing::Test {
 protected:
  // Runs `accel <args>` and returns its output.
  std::string run(const std::string& args, const std::string& input = "") {
    std::istringstream in(input);
    std::ostringstream out;
    CLI::App app;
    ConfigCommandIO io;
    io.in = &in;
    io.out = &out;
    io.environment = [this] { return env_; };
    add_config_command(app, io);
    app.parse(args, false);
    return out.str();
  }
  ScratchDir dir_;
  std::map<std::string, std::string> env_{{"HOME", dir_.path()}};
};

TEST_F(ConfigCommand, SetWritesTheDefaultFileAndShowPrintsIt) {
  run("config set mixed_precision BF16");
  run("config set log_with wandb,jsonl");
  const std::string path = dir_.file(".config/accel/default_config.yaml");
  EXPECT_EQ(read_config_file(path), (std::map<std::string, std::string>{
                                        {"mixed_precision", "bf16"}, {"log_with", "wandb,jsonl"}}));
  const std::string shown = run("config show");
  EXPECT_NE(shown.find("# " + path), std::string::npos) << shown;
  EXPECT_NE(shown.find("mixed_precision: bf16"), std::string::npos) << shown;
}

TEST_F(ConfigCommand, SetRejectsAnInvalidValueAndLeavesTheFileAlone) {
  const std::string path = dir_.file("c.yaml");
  run("config set seed 3 --config_file " + path);
  const std::string msg =
      error_of<ConfigError>([&] { run("config set seed -1 --config_file " + path); });
  EXPECT_NE(msg.find("seed: '-1' from the command line"), std::string::npos) << msg;
  EXPECT_EQ(read_config_file(path).at("seed"), "3");
}

TEST_F(ConfigCommand, SetRejectsAnUnknownKey) {
  EXPECT_THROW(run("config set precision bf16"), ConfigError);
}

TEST_F(ConfigCommand, SetRejectsAValueThatContradictsTheFile) {
  const std::string path = dir_.file("c.yaml");
  run("config set num_machines 2 --config_file " + path);
  const std::string msg =
      error_of<ConfigError>([&] { run("config set machine_rank 2 --config_file " + path); });
  EXPECT_NE(msg.find("must be less than num_machines"), std::string::npos) << msg;
}

TEST_F(ConfigCommand, ShowWithoutAFileSaysWhereItWouldBe) {
  const std::string shown = run("config show");
  EXPECT_NE(shown.find("no config file at " + dir_.file(".config/accel/default_config.yaml")),
            std::string::npos)
      << shown;
}

TEST_F(ConfigCommand, ExplainResolvesFileAndEnvironmentAndNamesSources) {
  const std::string path = dir_.file("c.yaml");
  run("config set mixed_precision fp16 --config_file " + path);
  run("config set seed 1 --config_file " + path);
  env_["ACCEL_SEED"] = "2";
  env_["ACCEL_LAUNCH_NUM_PROCESSES"] = "4";
  const std::string text = run("config explain --config_file " + path);
  EXPECT_NE(text.find("config file: " + path + " (from --config_file)"), std::string::npos) << text;
  EXPECT_NE(text.find("config file " + path), std::string::npos) << text;
  EXPECT_NE(text.find("environment variable ACCEL_SEED"), std::string::npos) << text;
  EXPECT_NE(text.find("launch flag --num_processes"), std::string::npos) << text;
}

TEST_F(ConfigCommand, ExplainReportsABadEnvironmentValueWithItsSource) {
  env_["ACCEL_MIXED_PRECISION"] = "bf17";
  const std::string msg = error_of<ConfigError>([&] { run("config explain"); });
  EXPECT_NE(msg.find("ACCEL_MIXED_PRECISION"), std::string::npos) << msg;
}

TEST_F(ConfigCommand, NoSubcommandAsksTheQuestionsAndWritesTheFile) {
  const std::string path = dir_.file("asked.yaml");
  const std::string text = run("config --config_file " + path, "1\n2\nno\nall\nbf16\n");
  EXPECT_NE(text.find("wrote " + path), std::string::npos) << text;
  ConfigInputs in;
  in.config_file = path;
  const ResolvedConfig cfg = resolve_config(in);
  EXPECT_EQ(cfg.mixed_precision(), "bf16");
  EXPECT_EQ(cfg.num_processes(), 2);
}

TEST_F(ConfigCommand, WritesWhereAccelConfigFilePointsWhenSet) {
  env_["ACCEL_CONFIG_FILE"] = dir_.file("env.yaml");
  run("config set seed 5");
  EXPECT_EQ(read_config_file(dir_.file("env.yaml")).at("seed"), "5");
}

}  // namespace
}  // namespace accel

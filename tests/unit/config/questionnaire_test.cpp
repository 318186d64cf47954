// The `accel config` questions, answered through a stringstream.
#include "accel/config/questionnaire.h"

#include <gtest/gtest.h>

#include <sstream>

#include "accel/config.h"
#include "config_test_support.h"

namespace accel {
namespace {

using testing::ScratchDir;

// The questions asked, in order, for a given set of answers (one line each).
std::vector<std::string> asked_keys(const std::string& output) {
  std::vector<std::string> keys;
  for (const auto& k : config_keys())
    if (!k.question.empty() && output.find(k.question) != std::string::npos) keys.push_back(k.name);
  return keys;
}

TEST(Questionnaire, EnterKeepsTheDefaultShownInBrackets) {
  std::istringstream in("\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n");
  std::ostringstream out;
  const auto answers = run_questionnaire(in, out);
  EXPECT_NE(out.str().find("How many machines will the job use? [1]: "), std::string::npos)
      << out.str();
  EXPECT_EQ(answers.at("num_machines"), "1");
  EXPECT_EQ(answers.at("mixed_precision"), "no");
  // Single machine: no rank / address / port questions; no checkpoints: no keep question.
  EXPECT_EQ(answers.count("machine_rank"), 0u);
  EXPECT_EQ(answers.count("main_process_ip"), 0u);
  EXPECT_EQ(answers.count("checkpoint_keep"), 0u);
}

TEST(Questionnaire, MultiMachineAnswersAskForRankAddressAndPort) {
  // num_machines, machine_rank, ip, port, num_processes, cpu, gpu_ids, mixed_precision,
  // accumulation, log_with, project_dir, checkpoint_every_steps, checkpoint_keep, stall.
  std::istringstream in(
      "2\n1\n10.0.0.5\n29600\n8\nno\n0,1,2,3,4,5,6,7\nbf16\n4\ntensorboard,jsonl\n"
      "/data/exp\n500\n2\n600\n");
  std::ostringstream out;
  const auto a = run_questionnaire(in, out);
  EXPECT_EQ(
      asked_keys(out.str()),
      (std::vector<std::string>{
          "num_machines", "machine_rank", "main_process_ip", "main_process_port", "num_processes",
          "cpu", "gpu_ids", "mixed_precision", "gradient_accumulation_steps", "log_with",
          "project_dir", "checkpoint_every_steps", "checkpoint_keep", "stall_timeout_seconds"}));
  EXPECT_EQ(a.at("machine_rank"), "1");
  EXPECT_EQ(a.at("main_process_ip"), "10.0.0.5");
  EXPECT_EQ(a.at("gpu_ids"), "0,1,2,3,4,5,6,7");
  EXPECT_EQ(a.at("log_with"), "tensorboard,jsonl");
  EXPECT_EQ(a.at("checkpoint_keep"), "2");
}

TEST(Questionnaire, InvalidAnswerPrintsTheErrorAndAsksAgain) {
  std::istringstream in("1\n4\nno\nall\nbf17\nbf16\n");
  std::ostringstream out;
  const auto a = run_questionnaire(in, out);
  EXPECT_NE(
      out.str().find("mixed_precision: 'bf17' from your answer is not one of: no, fp16, bf16"),
      std::string::npos)
      << out.str();
  EXPECT_EQ(a.at("mixed_precision"), "bf16");
}

TEST(Questionnaire, RankContradictingTheMachineCountIsAskedAgain) {
  std::istringstream in("2\n2\n1\n");
  std::ostringstream out;
  const auto a = run_questionnaire(in, out);
  EXPECT_NE(out.str().find("must be less than num_machines"), std::string::npos) << out.str();
  EXPECT_EQ(a.at("machine_rank"), "1");
}

TEST(Questionnaire, CpuOnlySkipsTheGpuQuestion) {
  std::istringstream in("1\n2\nyes\n");
  std::ostringstream out;
  const auto a = run_questionnaire(in, out);
  EXPECT_EQ(a.at("cpu"), "true");
  EXPECT_EQ(a.count("gpu_ids"), 0u);
  EXPECT_EQ(out.str().find(find_config_key("gpu_ids")->question), std::string::npos);
}

TEST(Questionnaire, ExistingFileValuesAreTheDefaultsAndOtherKeysAreKept) {
  std::istringstream in("");  // end of input: keep everything
  std::ostringstream out;
  const auto a = run_questionnaire(in, out, {{"mixed_precision", "fp16"}, {"seed", "9"}});
  EXPECT_NE(out.str().find("[fp16]"), std::string::npos) << out.str();
  EXPECT_EQ(a.at("mixed_precision"), "fp16");
  EXPECT_EQ(a.at("seed"), "9");  // not asked, kept
}

TEST(Questionnaire, WrittenAnswersResolveBackWithTheFileAsTheirSource) {
  ScratchDir dir;
  std::istringstream in("1\n2\nno\n0,1\nbf16\n8\nnone\n/data/exp\n100\n5\n\n");
  std::ostringstream out;
  const std::string path = dir.file("accel/default_config.yaml");
  write_config_file(path, run_questionnaire(in, out, {}, path));

  const ResolvedConfig cfg =
      resolve_config(ConfigInputs::from_environment({{"XDG_CONFIG_HOME", dir.path()}}));
  EXPECT_EQ(cfg.config_file, path);
  EXPECT_EQ(cfg.num_processes(), 2);
  EXPECT_EQ(cfg.gpu_ids(), "0,1");
  EXPECT_EQ(cfg.mixed_precision(), "bf16");
  EXPECT_EQ(cfg.gradient_accumulation_steps(), 8);
  EXPECT_TRUE(cfg.log_with().empty());
  EXPECT_EQ(cfg.project_dir(), "/data/exp");
  EXPECT_EQ(cfg.logging_dir(), "/data/exp/logs");
  EXPECT_EQ(cfg.checkpoint_every_steps(), 100);
  EXPECT_EQ(cfg.checkpoint_keep(), 5);
  EXPECT_EQ(cfg.origin_of("mixed_precision"), "config file " + path);
  EXPECT_EQ(cfg.source_of("stall_timeout_seconds"),
            ConfigSource::ConfigFile);                      // Enter = default, written explicitly
  EXPECT_EQ(cfg.source_of("seed"), ConfigSource::Default);  // not asked
}

}  // namespace
}  // namespace accel

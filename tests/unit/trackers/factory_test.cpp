// make_trackers: which trackers a log_with list builds, where the run lives, and the errors a
// user gets for a bad list or setting. Also the small text rules the backends share.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <regex>

#include "accel/config.h"
#include "accel/tracking.h"
#include "append_file.h"
#include "backends.h"

using namespace accel;

namespace {

std::vector<std::string> names(const TrackerSet& set) {
  std::vector<std::string> out;
  for (auto& t : set.trackers) out.push_back(t->name());
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

// make_trackers reads no process environment: MLflow's variables come in TrackerSettings.
class FactoryTest : public ::testing::Test {};

}  // namespace

TEST_F(FactoryTest, BuildsTheNamedTrackersOnceEach) {
  TrackerSettings s;
  auto set = make_trackers({"tensorboard", "jsonl", "TensorBoard", "wandb"}, s);
  EXPECT_EQ(names(set), (std::vector<std::string>{"tensorboard", "jsonl", "wandb"}));
}

TEST_F(FactoryTest, RejectsAnUnknownTrackerNamingIt) {
  const auto err = error_of([] { make_trackers({"tensorbord"}, {}); });
  EXPECT_NE(err.find("log_with: 'tensorbord' is not one of"), std::string::npos) << err;
}

TEST_F(FactoryTest, RejectsAnUnknownSettingNamingTrackerAndKey) {
  TrackerSettings s;
  s.per_tracker["wandb"]["projct"] = "x";
  const auto err = error_of([&] { make_trackers({"wandb"}, s); });
  EXPECT_NE(err.find("tracker wandb: unknown setting 'projct'"), std::string::npos) << err;
  EXPECT_NE(err.find("project"), std::string::npos) << err;
}

TEST_F(FactoryTest, RejectsSettingsForAnUnknownTrackerType) {
  TrackerSettings s;
  s.per_tracker["comet"]["x"] = "y";
  const auto err = error_of([&] { make_trackers({"jsonl"}, s); });
  EXPECT_NE(err.find("'comet'"), std::string::npos) << err;
}

TEST_F(FactoryTest, MlflowWithoutATrackingUriSaysWhereToSetOne) {
  const auto err = error_of([] { make_trackers({"mlflow"}, {}); });
  EXPECT_NE(err.find("tracker mlflow: no tracking URI"), std::string::npos) << err;
  EXPECT_NE(err.find("MLFLOW_TRACKING_URI"), std::string::npos) << err;
}

TEST_F(FactoryTest, MlflowRejectsANonHttpUriNamingItsSource) {
  TrackerSettings s;
  s.environment["MLFLOW_TRACKING_URI"] = "file:./mlruns";
  const auto err = error_of([&] { make_trackers({"mlflow"}, s); });
  EXPECT_NE(err.find("'file:./mlruns' (from env MLFLOW_TRACKING_URI)"), std::string::npos) << err;
}

TEST_F(FactoryTest, MlflowRejectsABadTimeout) {
  TrackerSettings s;
  s.per_tracker["mlflow"] = {{"tracking_uri", "http://127.0.0.1:1"}, {"timeout_seconds", "ten"}};
  const auto err = error_of([&] { make_trackers({"mlflow"}, s); });
  EXPECT_NE(err.find("'timeout_seconds' is 'ten'"), std::string::npos) << err;
}

TEST_F(FactoryTest, AllIncludesMlflowOnlyWhenItHasATrackingUri) {
  EXPECT_EQ(names(make_trackers({"all"}, {})),
            (std::vector<std::string>{"tensorboard", "wandb", "jsonl"}));
  TrackerSettings s;
  s.per_tracker["mlflow"]["tracking_uri"] = "http://127.0.0.1:5000";
  EXPECT_EQ(names(make_trackers({"all"}, s)),
            (std::vector<std::string>{"tensorboard", "wandb", "mlflow", "jsonl"}));
}

TEST_F(FactoryTest, RunDirIsLoggingDirSlashRunName) {
  TrackerSettings s;
  s.logging_dir = "/tmp/logs";
  s.run_name = "baseline";
  auto set = make_trackers({"jsonl"}, s);
  EXPECT_EQ(set.run_name, "baseline");
  EXPECT_EQ(set.run_dir, "/tmp/logs/baseline");
}

TEST_F(FactoryTest, AnEmptyRunNameIsRefused) {
  TrackerSettings s;
  s.run_name = "";
  EXPECT_NE(error_of([&] { make_trackers({"jsonl"}, s); }).find("run_name"), std::string::npos);
}

// The defect it guards: the configuration expanded "all" to every tracker name before the
// trackers saw it, so a job with log_with: all and no MLflow server failed for want of a
// tracking URI, while worker/TRACKERS.md promises mlflow only when it has one.
TEST_F(FactoryTest, LogWithAllFromTheConfigurationLeavesOutAnMlflowWithoutServer) {
  const ResolvedConfig c = resolve_config(ConfigInputs::from_environment({{"ACCEL_LOG_WITH", "all"}}));
  EXPECT_EQ(c.log_with(), std::vector<std::string>{"all"});
  EXPECT_EQ(names(make_trackers(c.log_with(), {})), (std::vector<std::string>{"tensorboard", "wandb", "jsonl"}));
  const ResolvedConfig with_uri = resolve_config(ConfigInputs::from_environment(
      {{"ACCEL_LOG_WITH", "all"}, {"MLFLOW_TRACKING_URI", "http://127.0.0.1:5000"}}));
  TrackerSettings s;
  s.environment = with_uri.environment;
  EXPECT_EQ(names(make_trackers(with_uri.log_with(), s)),
            (std::vector<std::string>{"tensorboard", "wandb", "mlflow", "jsonl"}));
}

TEST_F(FactoryTest, RejectsARunNameThatIsAPath) {
  TrackerSettings s;
  s.run_name = "../escape";
  EXPECT_NE(error_of([&] { make_trackers({"jsonl"}, s); }).find("run_name: '../escape'"),
            std::string::npos);
}

TEST(MlflowKey, ReplacesCharactersMlflowRejects) {
  using accel::tracking::mlflow_key;
  EXPECT_EQ(mlflow_key("train/loss"), "train/loss");
  EXPECT_EQ(mlflow_key("lr(max)"), "lr_max_");
  EXPECT_EQ(mlflow_key("a//b/./c/../d/"), "a/b/c/__/d");
  EXPECT_EQ(mlflow_key(""), "_");
  EXPECT_EQ(mlflow_key(std::string(300, 'k')).size(), 250u);
}

TEST(HparamJson, KeepsNumbersAndBooleansAndQuotesTheRest) {
  using accel::tracking::hparam_json;
  EXPECT_EQ(hparam_json("3"), "3");
  EXPECT_EQ(hparam_json("-1e-4"), "-1e-4");
  EXPECT_EQ(hparam_json("true"), "true");
  EXPECT_EQ(hparam_json("adamw"), "\"adamw\"");
  EXPECT_EQ(hparam_json("01"), "\"01\"");
  EXPECT_EQ(hparam_json("say \"hi\""), "\"say \\\"hi\\\"\"");
}

TEST(AppendFile, AFullDiskIsARetryableErrorNamingThePath) {
  accel::tracking::AppendFile f;
  f.open("/dev/full");
  try {
    f.append("x");
    FAIL() << "writing to /dev/full succeeded";
  } catch (const TrackerError& e) {
    EXPECT_FALSE(e.permanent());
    EXPECT_NE(std::string(e.what()).find("/dev/full"), std::string::npos) << e.what();
  }
}

TEST(JsonlTracker, WritesOneObjectPerLogCallAndTheHyperparameters) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("accel-jsonl-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  TrackerSettings s;
  s.logging_dir = dir.string();
  s.run_name = "r";
  auto set = make_trackers({"jsonl"}, s);
  auto& t = *set.trackers[0];
  t.start({"r", set.run_dir, "p", {{"lr", "0.5"}, {"opt", "adamw"}}});
  t.log_batch({{7, 1700000000.25, {{"loss", 0.5}, {"step", 9}}}});
  t.finish(true);
  std::ifstream in(dir / "r" / "metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, R"({"step": 7, "time": 1700000000.25, "loss": 0.5, "value:step": 9})");
  EXPECT_FALSE(std::getline(in, line));
  std::ifstream hp(dir / "r" / "hparams.json");
  std::getline(hp, line);
  EXPECT_EQ(line, R"({"lr": 0.5, "opt": "adamw"})");
  std::filesystem::remove_all(dir);
}

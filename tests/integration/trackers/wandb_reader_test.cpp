// W&B offline runs written by Accel, read back by the real wandb package (pinned in
// scripts/setup-python.sh): `wandb leet inspect`, which reads the .wandb transaction log with
// wandb-core's own reader (checking every chunk's CRC) and prints the records as JSON.
#include <filesystem>
#include <regex>

#include "accel/tracking.h"
#include "reader_env.h"

using namespace accel;
using namespace accel::trackers_test;

namespace {

std::string find_wandb_file(const std::string& dir) {
  for (auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.path().extension() == ".wandb") return e.path().string();
  return "";
}

std::string wandb_cli() { return python_venv() + "/bin/wandb"; }

// All records as JSON objects, and the reader's complaints (if any) in `complaints`.
std::vector<nlohmann::json> inspect_records(const std::string& file, std::string& complaints) {
  auto r = run_command({wandb_cli(), "leet", "inspect", "--json", file}, std::chrono::minutes(2),
                       {{"WANDB_SILENT", "true"}});
  if (!r.status.success())
    throw std::runtime_error("wandb leet inspect failed (" + r.status.describe() + "):\n" +
                             r.output);
  std::vector<nlohmann::json> records;
  std::string line;
  std::istringstream in(r.output);
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '{') {
      records.push_back(nlohmann::json::parse(line));
    } else if (!line.empty()) {
      complaints += line + "\n";
    }
  }
  return records;
}

}  // namespace

TEST(WandbReader, ReadsEveryHistoryRowTheConfigAndTheExit) {
  ScratchDir dir("wandb");
  TrackerSettings s;
  s.logging_dir = dir.str();
  s.run_name = "wb";
  s.per_tracker["wandb"] = {{"project", "accel-demo"}, {"entity", "team"}};
  TrackerHub hub(make_trackers({"wandb"}, s), true);
  hub.start("ignored-project", {{"lr", "0.0003"}, {"optimizer", "adamw"}, {"layers", "12"}});
  const int steps = 700;
  for (int i = 0; i < steps; ++i) {
    std::map<std::string, double> v{{"loss", 1.0 / (i + 1)}};
    // A wide row every 100 steps makes some records cross 32 KiB blocks.
    if (i % 100 == 0)
      for (int k = 0; k < 600; ++k) v["layer_" + std::to_string(k) + "/grad_norm"] = k * 0.5 + i;
    hub.log(v, i);
  }
  auto rep = hub.finish(true);
  ASSERT_EQ(rep.size(), 1u);
  EXPECT_EQ(rep[0].delivered, static_cast<size_t>(steps));

  const std::string file = find_wandb_file(dir.str());
  ASSERT_FALSE(file.empty());
  std::smatch m;
  ASSERT_TRUE(std::regex_search(file, m,
                                std::regex(R"(/wandb/offline-run-\d{8}_\d{6}-([a-z0-9]{8})/run-([a-z0-9]{8})\.wandb$)")))
      << file;
  EXPECT_EQ(m[1], m[2]);
  EXPECT_GT(std::filesystem::file_size(file), 3 * 32768u);  // it spans several blocks

  std::string complaints;
  auto records = inspect_records(file, complaints);
  EXPECT_EQ(complaints, "");  // e.g. "skipped corrupt data ... checksum mismatch"

  std::vector<nlohmann::json> history;
  nlohmann::json run, exit;
  int headers = 0;
  for (auto& r : records) {
    const std::string type = r.value("type", "");
    if (type == "history") history.push_back(r["history"]);
    if (type == "run") run = r["run"];
    if (type == "exit") exit = r["exit"];
    if (type == "header") ++headers;
  }
  EXPECT_EQ(headers, 1);
  EXPECT_EQ(run["project"], "accel-demo");
  EXPECT_EQ(run["entity"], "team");
  EXPECT_EQ(run["display_name"], "wb");
  EXPECT_EQ(run["run_id"], m[1].str());
  EXPECT_EQ(run["config"]["update"]["lr"], 0.0003);
  EXPECT_EQ(run["config"]["update"]["layers"], 12);
  EXPECT_EQ(run["config"]["update"]["optimizer"], "adamw");
  ASSERT_EQ(history.size(), static_cast<size_t>(steps));
  for (int i = 0; i < steps; ++i) {
    auto& h = history[i];
    EXPECT_EQ(h["step"].value("num", 0), i) << h.dump().substr(0, 200);
    EXPECT_DOUBLE_EQ(h["item"]["loss"].get<double>(), 1.0 / (i + 1));
    EXPECT_EQ(h["item"]["_step"], i);
    if (i % 100 == 0) {
      ASSERT_TRUE(h["item"].contains("layer_599/grad_norm")) << "step " << i;
      EXPECT_DOUBLE_EQ(h["item"]["layer_599/grad_norm"].get<double>(), 599 * 0.5 + i);
    }
  }
  EXPECT_EQ(exit.value("exit_code", 0), 0);
  EXPECT_FALSE(exit.is_null());

  // The run summary, as wandb's own tooling computes it from the file.
  auto r = run_command({wandb_cli(), "leet", "inspect", "--summary", "--json", file},
                       std::chrono::minutes(2), {{"WANDB_SILENT", "true"}});
  ASSERT_TRUE(r.status.success()) << r.output;
  auto summary = nlohmann::json::parse(r.output.substr(r.output.find('{')));
  EXPECT_EQ(summary["state"], "finished");
  EXPECT_EQ(summary["step"], steps - 1);
  EXPECT_EQ(summary["project"], "accel-demo");
  EXPECT_DOUBLE_EQ(summary["summary"]["loss"].get<double>(), 1.0 / steps);
}

TEST(WandbReader, AFailedRunEndsWithANonZeroExitCode) {
  ScratchDir dir("wandb-fail");
  TrackerSettings s;
  s.logging_dir = dir.str();
  s.run_name = "wbfail";
  s.per_tracker["wandb"] = {{"run_id", "fixedid1"}};
  TrackerHub hub(make_trackers({"wandb"}, s), true);
  hub.start("proj", {});
  hub.log({{"loss", 3.0}}, 0);
  hub.finish(false);
  const std::string file = find_wandb_file(dir.str());
  ASSERT_NE(file.find("-fixedid1/run-fixedid1.wandb"), std::string::npos) << file;
  std::string complaints;
  auto records = inspect_records(file, complaints);
  EXPECT_EQ(complaints, "");
  nlohmann::json exit;
  for (auto& r : records)
    if (r.value("type", "") == "exit") exit = r["exit"];
  EXPECT_EQ(exit.value("exit_code", 0), 1) << exit.dump();
}

TEST(WandbReader, TheCliAcceptsTheOfflineRunDirectoryForSync) {
  ScratchDir dir("wandb-sync");
  TrackerSettings s;
  s.logging_dir = dir.str();
  s.run_name = "wbsync";
  TrackerHub hub(make_trackers({"wandb"}, s), true);
  hub.start("proj", {});
  hub.log({{"loss", 1.0}}, 0);
  hub.finish(true);
  // `wandb sync --help` proves the CLI the user will upload with is there; the run directory
  // must be of the kind it documents (offline-run-<time>-<id> under a wandb/ folder).
  auto r = run_command({wandb_cli(), "sync", "--help"}, std::chrono::minutes(1));
  ASSERT_TRUE(r.status.success()) << r.output;
  const std::string file = find_wandb_file(dir.str());
  const auto run_dir = std::filesystem::path(file).parent_path();
  EXPECT_EQ(run_dir.parent_path().filename(), "wandb");
  EXPECT_EQ(run_dir.filename().string().rfind("offline-run-", 0), 0u);
}

// A real Prometheus server (Debian's) scrapes a real 2-rank training run; promtool checks the
// exposition format; PromQL for the job's samples/s returns a value; /progress answers JSON.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "../worker/training_harness.h"
#include "accel/launcher.h"
#include "eventually.h"
#include "files.h"
#include "http.h"
#include "ports.h"
#include "prometheus.h"

namespace accel::testing {
namespace {

TEST(PrometheusScrape, RealPrometheusScrapesTwoRanksAndAnswersSamplesPerSecond) {
  const std::string d = fresh_dir("prom");
  // Ranks serve metrics_port + local_rank: the next port must be free too, and Prometheus's
  // own port must be neither.
  const int metrics_port = free_port(/*pair=*/true);
  std::ostringstream cfg;
  cfg << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      // honor_labels keeps the workers' own job/namespace labels (the chart's PodMonitor
      // sets honorLabels: true for the same reason).
      << "scrape_configs:\n  - job_name: accel-workers\n    honor_labels: true\n"
      << "    static_configs:\n"
      << "      - targets: ['127.0.0.1:" << metrics_port << "', '127.0.0.1:" << metrics_port + 1
      << "']\n";
  Prometheus prometheus(d, cfg.str(), {metrics_port, metrics_port + 1});

  SubprocessOptions to;
  to.argv = {ACCEL_CLI, "launch", "--num_processes", "2", "--main_process_port", "0", "--",
             GPT_TRAINER, "--steps", "100000", "--batch-size", "4", "--seq-len", "32", "--dim",
             "32", "--layers", "1", "--log-every", "1000"};
  to.env = {{"ACCEL_PROJECT_DIR", d}, {"ACCEL_METRICS_PORT", std::to_string(metrics_port)},
            {"ACCEL_JOB_NAME", "prom-test"}, {"ACCEL_CONFIG_FILE", d + "/none.yaml"},
            {"OMP_NUM_THREADS", "1"}};
  to.stdout_path = d + "/train.log";
  to.stderr_path = "=stdout";
  Subprocess training(to);

  // Wait (bounded) for both ranks to serve metrics with steps counted: the server is up before
  // the first step, so the series exist (at 0) before any all-reduce was timed.
  auto first_value = [](const std::string& scrape, const std::string& name) {
    auto pos = scrape.find("\n" + name + "{");
    if (pos == std::string::npos) return -1.0;
    return std::stod(scrape.substr(scrape.find('}', pos) + 1));
  };
  std::string scrape0, scrape1;
  for (int i = 0; i < 240; ++i) {
    scrape0 = http_get("http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics");
    scrape1 = http_get("http://127.0.0.1:" + std::to_string(metrics_port + 1) + "/metrics");
    if (first_value(scrape0, "accel_train_steps_total") > 0 && !scrape1.empty()) break;
    ASSERT_FALSE(training.poll()) << "training ended early:\n" << read_file(d + "/train.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  ASSERT_NE(scrape0.find("accel_train_samples_total{"), std::string::npos) << scrape0;
  EXPECT_NE(scrape1.find("rank=\"1\""), std::string::npos) << scrape1;
  EXPECT_NE(scrape0.find("job=\"prom-test\""), std::string::npos);
  // Gradient all-reduces were timed (the DDP comm hook observed at least one bucket).
  {
    auto pos = scrape0.find("accel_train_allreduce_duration_seconds_count{");
    ASSERT_NE(pos, std::string::npos) << scrape0;
    auto value = std::stod(scrape0.substr(scrape0.find('}', pos) + 1));
    EXPECT_GT(value, 0) << scrape0;
  }

  // promtool's linter accepts the exposition.
  {
    std::ofstream(d + "/scrape.txt") << scrape0;
    auto lint = run_command({"sh", "-c", "promtool check metrics < " + d + "/scrape.txt"});
    EXPECT_TRUE(lint.status.success()) << lint.output;
  }

  // /progress on rank 0.
  auto progress = nlohmann::json::parse(
      http_get("http://127.0.0.1:" + std::to_string(metrics_port) + "/progress"));
  EXPECT_GT(progress["step"].get<int64_t>(), 0);
  EXPECT_EQ(progress["totalSteps"].get<int64_t>(), 100000);

  // PromQL: the job's samples per second, summed over ranks.
  double samples_per_s = 0;
  eventually(
      [&] {
        samples_per_s = accel::testing::first_value(
            prometheus.query("sum(rate(accel_train_samples_total{job=\"prom-test\"}[10s]))"));
        return samples_per_s > 0;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(500));
  EXPECT_GT(samples_per_s, 0) << "Prometheus never returned a samples/s value";
  training.terminate(std::chrono::seconds(10));
}

}  // namespace
}  // namespace accel::testing

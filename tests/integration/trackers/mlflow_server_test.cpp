// MLflow runs logged by Accel's REST client into a REAL `mlflow server` (pinned in
// scripts/setup-python.sh, SQLite store, loopback only), read back with MLflow's own client
// (metrics/get-history). The fault test SIGKILLs the server mid-run and restarts it.
#include <signal.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "accel/tracking.h"
#include "faulty_front.h"
#include "reader_env.h"

using namespace accel;
using namespace accel::trackers_test;
using namespace std::chrono_literals;

namespace {

// One `mlflow server` process group on 127.0.0.1:<port>, store <dir>/m.db.
class MlflowServer {
 public:
  MlflowServer(const std::string& dir, int port) : dir_(dir), port_(port) { start(); }
  ~MlflowServer() {
    if (proc_) proc_->terminate(5s);
  }

  void start() {
    SubprocessOptions o;
    o.argv = {python_venv() + "/bin/mlflow", "server",
              "--backend-store-uri", "sqlite:///" + dir_ + "/m.db",
              "--host", "127.0.0.1", "--port", std::to_string(port_), "--workers", "1"};
    o.cwd = dir_;  // artifacts (none here) would land beside the store
    o.stdout_path = dir_ + "/server.log";
    o.stderr_path = "=stdout";
    o.env = {{"MLFLOW_TRACKING_URI", ""}};
    proc_ = std::make_unique<Subprocess>(o);
    if (!eventually([&] { return http_ok(port_, "/health") || proc_->poll().has_value(); }, 180s) ||
        !http_ok(port_, "/health"))
      throw std::runtime_error("mlflow server did not become healthy on port " +
                               std::to_string(port_) + "; see " + dir_ + "/server.log");
  }

  void kill() {
    proc_->signal(SIGKILL);
    proc_->wait_for(30s);
    proc_.reset();
  }

  std::string uri() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<Subprocess> proc_;
};

TrackerSettings mlflow_settings(const std::string& dir, const std::string& uri,
                                const std::string& run_name) {
  TrackerSettings s;
  s.logging_dir = dir;
  s.run_name = run_name;
  s.per_tracker["mlflow"] = {
      {"tracking_uri", uri}, {"experiment_name", "accel-it"}, {"timeout_seconds", "30"}};
  return s;
}

// A generous bound, not a timing expectation: a loaded 2-core machine makes `mlflow server`
// slow, and these tests are about what arrives, not how fast.
constexpr auto kFinishDeadline = std::chrono::minutes(10);

double value_at(int step) { return 1.0 / (step + 1) + 0.25; }

// One server for the suite (it takes long to start on a small machine); the fault tests kill
// and restart it, and leave it running.
class MlflowServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("mlflow");
    try {
      server_ = new MlflowServer(dir_->str(), free_port());
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    delete dir_;
    server_ = nullptr;
    dir_ = nullptr;
  }
  static std::string dir() { return dir_->str(); }

  static ScratchDir* dir_;
  static MlflowServer* server_;
  static std::string setup_error_;
};
ScratchDir* MlflowServerTest::dir_ = nullptr;
MlflowServer* MlflowServerTest::server_ = nullptr;
std::string MlflowServerTest::setup_error_;

}  // namespace

TEST_F(MlflowServerTest, LogsMetricsAndParamsAndFinishesTheRun) {
  ASSERT_NE(server_, nullptr) << setup_error_;
  MlflowServer& server = *server_;
  HubOptions o;
  o.finish_deadline = kFinishDeadline;
  o.max_batch = 700;  // 700 entries x 2 metrics: chunked into requests of <= 1000 metrics
  TrackerHub hub(make_trackers({"mlflow"}, mlflow_settings(dir(), server.uri(), "ok-run")),
                 true, o);
  std::map<std::string, std::string> hp;
  for (int i = 0; i < 150; ++i) hp["hp_" + std::to_string(i)] = std::to_string(i);  // > 100
  hp["optimizer(name)"] = "adamw";  // parentheses are not allowed in MLflow keys
  hub.start("accel-it", hp);
  const int steps = 1500;
  for (int i = 0; i < steps; ++i) hub.log({{"loss", value_at(i)}, {"lr", i * 1e-5}}, i);
  hub.log({{"weird", std::nan("")}}, steps);
  auto rep = hub.finish(true);
  ASSERT_EQ(rep.size(), 1u);
  EXPECT_EQ(rep[0].delivered, static_cast<size_t>(steps + 1));
  EXPECT_EQ(rep[0].dropped, 0u);
  EXPECT_TRUE(rep[0].finished);
  EXPECT_EQ(rep[0].error, "");

  auto out = last_json(run_reader("read_mlflow.py", {server.uri(), "accel-it", "ok-run"}));
  EXPECT_EQ(out["status"], "FINISHED");
  EXPECT_EQ(out["params"].size(), 151u);
  EXPECT_EQ(out["params"]["hp_149"], "149");
  EXPECT_EQ(out["params"]["optimizer_name_"], "adamw");
  auto& loss = out["metrics"]["loss"];
  ASSERT_EQ(loss.size(), static_cast<size_t>(steps));
  for (int i = 0; i < steps; ++i) {
    EXPECT_EQ(loss[i][0].get<int>(), i);
    EXPECT_DOUBLE_EQ(loss[i][1].get<double>(), value_at(i));
  }
  EXPECT_EQ(out["metrics"]["lr"].size(), static_cast<size_t>(steps));
  ASSERT_EQ(out["metrics"]["weird"].size(), 1u);
  EXPECT_EQ(out["metrics"]["weird"][0][1], "NaN");
}

TEST_F(MlflowServerTest, AFailedRunIsMarkedFailed) {
  ASSERT_NE(server_, nullptr) << setup_error_;
  MlflowServer& server = *server_;
  HubOptions o;
  o.finish_deadline = kFinishDeadline;
  TrackerHub hub(make_trackers({"mlflow"}, mlflow_settings(dir(), server.uri(), "bad-run")),
                 true, o);
  hub.start("accel-it", {});
  hub.log({{"loss", 9.0}}, 0);
  auto rep = hub.finish(false);
  EXPECT_TRUE(rep[0].finished);
  auto out = last_json(run_reader("read_mlflow.py", {server.uri(), "accel-it", "bad-run"}));
  EXPECT_EQ(out["status"], "FAILED");
  EXPECT_EQ(out["metrics"]["loss"].size(), 1u);
}

TEST_F(MlflowServerTest, CatchesUpAfterTheServerIsKilledAndRestartedMidRun) {
  ASSERT_NE(server_, nullptr) << setup_error_;
  MlflowServer& server = *server_;
  std::vector<std::string> warnings;
  std::mutex wmu;
  HubOptions o;
  o.initial_backoff = 100ms;
  o.max_backoff = 1s;
  o.finish_deadline = kFinishDeadline;
  o.warn = [&](const std::string& w) {
    std::lock_guard<std::mutex> l(wmu);
    warnings.push_back(w);
  };
  TrackerHub hub(make_trackers({"mlflow"}, mlflow_settings(dir(), server.uri(), "fault-run")),
                 true, o);
  hub.start("accel-it", {{"lr", "0.1"}});
  for (int i = 0; i < 100; ++i) hub.log({{"loss", value_at(i)}}, i);
  ASSERT_TRUE(eventually([&] { return hub.report()[0].delivered == 100; }, 300s))
      << "delivered before the outage: " << hub.report()[0].delivered;

  server.kill();
  // Training goes on while the server is gone: every log call returns.
  for (int i = 100; i < 400; ++i) hub.log({{"loss", value_at(i)}}, i);
  EXPECT_EQ(hub.report()[0].logged, 400u);
  ASSERT_TRUE(eventually([&] { return hub.report()[0].failures > 0; }, 300s))
      << "the outage was never noticed";

  server.start();  // same port, same store
  auto rep = hub.finish(true);
  ASSERT_EQ(rep.size(), 1u);
  EXPECT_EQ(rep[0].logged, 400u);
  EXPECT_EQ(rep[0].delivered, 400u);
  EXPECT_EQ(rep[0].dropped, 0u);
  EXPECT_TRUE(rep[0].finished);
  EXPECT_GT(rep[0].failures, 0u);
  {
    std::lock_guard<std::mutex> l(wmu);
    ASSERT_GE(warnings.size(), 2u);
    EXPECT_NE(warnings.front().find("tracker mlflow: "), std::string::npos) << warnings.front();
    EXPECT_NE(warnings.back().find("recovered"), std::string::npos) << warnings.back();
  }

  auto out = last_json(run_reader("read_mlflow.py", {server.uri(), "accel-it", "fault-run"}));
  EXPECT_EQ(out["status"], "FINISHED");
  auto& loss = out["metrics"]["loss"];
  ASSERT_EQ(loss.size(), 400u);  // every step exactly once: nothing lost, nothing doubled
  for (int i = 0; i < 400; ++i) {
    EXPECT_EQ(loss[i][0].get<int>(), i);
    EXPECT_DOUBLE_EQ(loss[i][1].get<double>(), value_at(i));
  }
}

TEST_F(MlflowServerTest, AnOverflowDuringAnOutageIsReportedExactly) {
  ASSERT_NE(server_, nullptr) << setup_error_;
  MlflowServer& server = *server_;
  HubOptions o;
  o.initial_backoff = 100ms;
  o.max_backoff = 500ms;
  o.queue_capacity = 50;
  o.finish_deadline = kFinishDeadline;
  o.warn = [](const std::string&) {};
  TrackerHub hub(make_trackers({"mlflow"}, mlflow_settings(dir(), server.uri(), "ovf-run")),
                 true, o);
  hub.start("accel-it", {});
  for (int i = 0; i < 10; ++i) hub.log({{"loss", value_at(i)}}, i);
  ASSERT_TRUE(eventually([&] { return hub.report()[0].delivered == 10; }, 300s));
  server.kill();
  for (int i = 10; i < 210; ++i) hub.log({{"loss", value_at(i)}}, i);  // 200 into a queue of 50
  server.start();
  auto rep = hub.finish(true)[0];
  EXPECT_EQ(rep.logged, 210u);
  EXPECT_EQ(rep.dropped, rep.dropped_overflow);
  EXPECT_EQ(rep.delivered + rep.dropped, 210u);
  EXPECT_EQ(rep.delivered, 60u);  // 10 before the outage + the newest 50
  auto out = last_json(run_reader("read_mlflow.py", {server.uri(), "accel-it", "ovf-run"}));
  auto& loss = out["metrics"]["loss"];
  ASSERT_EQ(loss.size(), 60u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(loss[i][0].get<int>(), i);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(loss[10 + i][0].get<int>(), 160 + i);  // the newest kept
}

// The tracking server answers 500 for a while, then accepts requests and never answers (a
// hung server or load balancer), then comes back (a FaultyFront before the real server: the
// same URI throughout). log() returns at once in every phase, also while a request is held
// unanswered on the delivery thread, and once the server is back every entry arrives exactly
// once: nothing is lost within the documented buffer (HubOptions::queue_capacity).
TEST_F(MlflowServerTest, ServerErrorsAndAHungServerNeverHoldUpLoggingAndEveryEntryArrivesAfter) {
  ASSERT_NE(server_, nullptr) << setup_error_;
  MlflowServer& server = *server_;
  const int upstream = std::stoi(server.uri().substr(server.uri().rfind(':') + 1));
  FaultyFront front(upstream, FaultyFront::Mode::Error500);
  HubOptions o;
  o.initial_backoff = 50ms;
  o.max_backoff = 300ms;
  o.finish_deadline = kFinishDeadline;
  o.warn = [](const std::string&) {};
  auto settings = mlflow_settings(dir(), front.uri(), "hostile-run");
  settings.per_tracker["mlflow"]["timeout_seconds"] = "1";
  TrackerHub hub(make_trackers({"mlflow"}, settings), true, o);
  hub.start("accel-it", {});
  auto log_range = [&](int from, int to) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = from; i < to; ++i) hub.log({{"loss", value_at(i)}}, i);
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
           (to - from);
  };
  const double us_500 = log_range(0, 200);
  ASSERT_TRUE(eventually([&] { return front.answered_500() >= 3; }, 60s));
  EXPECT_EQ(hub.report()[0].delivered, 0u);

  front.set_mode(FaultyFront::Mode::Hang);
  ASSERT_TRUE(eventually([&] { return front.hung_now() >= 1; }, 60s));
  const double us_hung = log_range(200, 400);
  EXPECT_GE(front.hung_now(), 1) << "log() returned only after the held request ended";
  EXPECT_EQ(hub.report()[0].delivered, 0u);

  front.set_mode(FaultyFront::Mode::Forward);
  const double us_ok = log_range(400, 600);
  auto rep = hub.finish(true)[0];
  std::cout << "[ measure ] hub.log() per entry: " << us_500 << " us while the server answers 500, "
            << us_hung << " us while it hangs, " << us_ok << " us once it is back ("
            << front.answered_500() << " requests answered 500, " << front.hung_total()
            << " held unanswered, " << rep.failures << " failed attempts)\n";
  EXPECT_EQ(rep.logged, 600u);
  EXPECT_EQ(rep.delivered, 600u) << rep.error;
  EXPECT_EQ(rep.dropped, 0u);
  EXPECT_GE(rep.failures, 3u);
  EXPECT_TRUE(rep.finished);
  auto out = last_json(run_reader("read_mlflow.py", {server.uri(), "accel-it", "hostile-run"}));
  auto& loss = out["metrics"]["loss"];
  ASSERT_EQ(loss.size(), 600u);  // every step exactly once
  for (int i = 0; i < 600; ++i) EXPECT_EQ(loss[i][0].get<int>(), i);
  EXPECT_EQ(out["status"], "FINISHED");
}

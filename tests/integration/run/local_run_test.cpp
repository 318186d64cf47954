// `accel run JOB.yaml`: the real CLI runs real AccelJob YAML with the real GPT trainer (2 nodes
// × 1 CPU rank on loopback). What a user of `kubectl apply` + the operator would see happens
// here on one machine: the job succeeds with its tracker files and checkpoints; an invalid spec
// is rejected naming the fields; a SIGKILLed rank restarts the whole gang, which resumes from
// the last checkpoint; a hung rank is detected as stalled and the job fails once maxRestarts
// are used up; Ctrl-C stops the gang and keeps the last checkpoint.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/subprocess.h"
#include "eventually.h"
#include "files.h"
#include "ports.h"
#include "per_test_dir.h"

namespace {

namespace fs = std::filesystem;
using accel::Subprocess;
using accel::SubprocessOptions;
using accel::testing::eventually;
using accel::testing::read_file;

struct JobSpec {
  std::string name;
  std::string precision = "\"no\"";
  std::vector<std::string> args;
  int every_steps = 5;
  int max_restarts = 2;
  int metrics_port = 0;
  std::string extra_run_policy;  // more runPolicy lines, each "    key: value\n"
  bool trackers = false;
};

// The tiny GPT: 1 layer, dim 32, context 16 — a step takes milliseconds.
std::vector<std::string> tiny_gpt(int steps) {
  return {"--steps",   std::to_string(steps), "--dim",       "32", "--layers", "1", "--heads", "2",
          "--seq-len", "16",                  "--batch-size", "4", "--log-every", "1"};
}

std::string yaml(const JobSpec& s) {
  std::ostringstream y;
  y << "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata:\n  name: " << s.name << "\n"
    << "spec:\n  image: accel-worker:cpu\n  command: [\"" << GPT_TRAINER << "\"]\n  args: [";
  for (std::size_t i = 0; i < s.args.size(); ++i) y << (i ? ", " : "") << '"' << s.args[i] << '"';
  y << "]\n  nodes: 2\n  gpusPerNode: 0\n  precision: " << s.precision
    << "\n  gradientAccumulationSteps: 2\n";
  if (s.trackers) y << "  trackers:\n    - type: tensorboard\n    - type: jsonl\n";
  y << "  metrics:\n    port: " << s.metrics_port << "\n";
  y << "  checkpoint:\n    everySteps: " << s.every_steps << "\n";
  y << "  runPolicy:\n    maxRestarts: " << s.max_restarts
    << "\n    backoff:\n      initialSeconds: 1\n" << s.extra_run_policy;
  return y.str();
}

class LocalRun : public ::testing::Test {
 protected:
  fs::path write_job(const JobSpec& spec) {
    fs::path p = root_ / (spec.name + ".yaml");
    std::ofstream(p) << yaml(spec);
    return p;
  }
  fs::path run_dir() const { return root_ / "run"; }
  fs::path output_path() const { return root_ / "accel-run.out"; }

  std::unique_ptr<Subprocess> start(const fs::path& job) {
    SubprocessOptions o;
    o.argv = {ACCEL_CLI, "run", job.string(), "--dir", run_dir().string(), "--output", "plain",
              "--progress-every", "1"};
    o.stdout_path = output_path().string();
    o.stderr_path = "=stdout";
    return std::make_unique<Subprocess>(o);
  }
  // Runs to the end (bounded) and returns the exit code.
  int run(const fs::path& job, std::chrono::seconds limit = std::chrono::seconds(240)) {
    auto p = start(job);
    auto status = p->wait_for(limit);
    if (!status) {
      p->terminate(std::chrono::seconds(40));
      ADD_FAILURE() << "accel run did not finish within " << limit.count() << " s:\n" << output();
      return -1;
    }
    return status->code();
  }
  std::string output() const { return read_file(output_path()); }
  fs::path checkpoints() const { return run_dir() / "workspace" / "checkpoints"; }

  accel::testing::PerTestDir scratch_{"accel-run-test"};
  const fs::path root_ = scratch_.path();
};

// Newest complete checkpoint step (worker/CHECKPOINTS.md layout), -1 when none.
long newest_checkpoint_step(const fs::path& dir) {
  long best = -1;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("checkpoint_", 0) != 0 || n.find('.') != std::string::npos) continue;
    if (!fs::exists(e.path() / "COMPLETE")) continue;
    best = std::max(best, std::stol(n.substr(11)));
  }
  return best;
}

// Pids of processes whose environment says they belong to this job (and match `extra`).
// The processes of `job` run by this test's `accel run` (working directory below `dir`: another
// test binary may run a job of the same name at the same time).
std::vector<pid_t> job_processes(const std::string& job, const fs::path& dir,
                                 const std::map<std::string, std::string>& extra = {}) {
  std::vector<pid_t> pids;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string n = e.path().filename().string();
    if (n.find_first_not_of("0123456789") != std::string::npos) continue;
    std::error_code ec;
    const std::string cwd = fs::read_symlink(e.path() / "cwd", ec).string();
    if (ec || cwd.rfind(dir.string(), 0) != 0) continue;
    std::ifstream in(e.path() / "environ", std::ios::binary);
    if (!in) continue;
    std::map<std::string, std::string> env;
    std::string kv;
    while (std::getline(in, kv, '\0')) {
      auto eq = kv.find('=');
      if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    if (env["ACCEL_JOB_NAME"] != job) continue;
    bool match = true;
    for (const auto& [k, v] : extra)
      if (env[k] != v) match = false;
    // Zombies and exiting processes keep no environment; skip what is already gone.
    if (match) pids.push_back(std::stoi(n));
  }
  return pids;
}

// "step N loss L" lines the trainer prints on rank 0 (node 0's pod log).
std::vector<long> logged_steps(const fs::path& log) {
  std::vector<long> steps;
  std::regex re(R"(^step (\d+) loss )");
  std::istringstream in(read_file(log));
  std::string line;
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, re)) steps.push_back(std::stol(m[1]));
  return steps;
}

TEST_F(LocalRun, TrainsTheJobToSuccessWithTrackersCheckpointsMetricsAndTheEnvContract) {
  JobSpec s;
  s.name = "gpt-ok";
  s.precision = "bf16";
  s.args = tiny_gpt(12);
  s.every_steps = 4;
  s.trackers = true;
  s.metrics_port = accel::testing::free_port(/*pair=*/true);
  ASSERT_EQ(run(write_job(s)), 0) << output();
  const std::string out = output();
  EXPECT_NE(out.find("AccelJob gpt-ok Succeeded"), std::string::npos) << out;
  EXPECT_NE(out.find("phase Running (attempt 0, restarts 0)"), std::string::npos) << out;
  EXPECT_NE(out.find("http://127.0.0.1:" + std::to_string(s.metrics_port) + "/metrics"), std::string::npos) << out;

  // One `accel launch` per node, with the operator's env contract (node rank, world size, the
  // rendezvous on loopback, bf16 and accumulation from the spec).
  const std::string n0 = read_file(run_dir() / "logs" / "gpt-ok-a0-n0.log");
  const std::string n1 = read_file(run_dir() / "logs" / "gpt-ok-a0-n1.log");
  EXPECT_EQ(logged_steps(run_dir() / "logs" / "gpt-ok-a0-n0.log").back(), 12) << n0;
  EXPECT_FALSE(n1.empty());
  EXPECT_NE(n0.find("mixed_precision"), std::string::npos) << "rank 0 prints the config table:\n" << n0;
  EXPECT_NE(n0.find("bf16"), std::string::npos) << n0;

  // Checkpoints every 4 steps: the newest is step 12, complete.
  EXPECT_EQ(newest_checkpoint_step(checkpoints()), 12);

  // Tracker output: a TensorBoard event file and JSONL lines with the loss.
  bool tfevents = false;
  std::string jsonl;
  for (const auto& e : fs::recursive_directory_iterator(run_dir())) {
    const std::string n = e.path().filename().string();
    if (n.find("tfevents") != std::string::npos && fs::file_size(e.path()) > 0) tfevents = true;
    if (e.path().extension() == ".jsonl") jsonl += read_file(e.path());
  }
  EXPECT_TRUE(tfevents);
  EXPECT_NE(jsonl.find("\"loss\""), std::string::npos) << jsonl;
  // Nothing of the job is left running.
  EXPECT_TRUE(job_processes("gpt-ok", root_).empty());
}

TEST_F(LocalRun, RejectsAnInvalidSpecNamingEveryBadFieldAndRunsNothing) {
  const std::string head = "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata:\n  name: bad\n"
                           "spec:\n  image: x\n  command: [\"" GPT_TRAINER "\"]\n";
  fs::path job = root_ / "bad.yaml";
  // Rule failures: all of them at once, in kube-apiserver's words.
  std::ofstream(job) << head << "  nodes: 0\n  runPolicy:\n    maxRestarts: -1\n";
  EXPECT_EQ(run(job), 78);
  std::string out = output();
  EXPECT_NE(out.find("spec.nodes: Invalid value: 0"), std::string::npos) << out;
  EXPECT_NE(out.find("spec.runPolicy.maxRestarts: Invalid value: -1"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(run_dir() / "logs" / "bad-a0-n0.log"));

  // A value outside an enum: the field, the value, the allowed ones and the line.
  std::ofstream(job) << head << "  precision: bf17\n";
  EXPECT_EQ(run(job), 78);
  out = output();
  EXPECT_NE(out.find("spec.precision: Unsupported value: \"bf17\""), std::string::npos) << out;
  EXPECT_NE(out.find("line 8"), std::string::npos) << out;

  // An unknown field is rejected as kubectl's strict decoding would, naming the path.
  std::ofstream(job) << head << "  runPolicy:\n    maxRestart: 2\n";
  EXPECT_EQ(run(job), 78);
  EXPECT_NE(output().find("spec.runPolicy.maxRestart"), std::string::npos) << output();
  EXPECT_FALSE(fs::exists(run_dir() / "logs" / "bad-a0-n0.log")) << "nothing ran";

  // Hostile YAML: refused by design, naming the file and the line (api/yaml_bounds.h).
  std::ofstream(job) << head << "  args: [\"caf\xe9\"]\n";
  EXPECT_EQ(run(job), 78);
  EXPECT_NE(output().find(job.string() + ": the YAML is not UTF-8 (byte 0xE9"), std::string::npos) << output();
  EXPECT_NE(output().find("(line 8)"), std::string::npos) << output();

  // No program: on this machine there is no image entrypoint; refused before any process.
  std::ofstream(job) << "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata:\n  name: bad\n"
                        "spec:\n  image: x\n";
  EXPECT_EQ(run(job), 78);
  EXPECT_NE(output().find("spec.command: Required value"), std::string::npos) << output();
  EXPECT_FALSE(fs::exists(run_dir() / "logs" / "bad-a0-n0.log")) << "nothing ran";
}

TEST_F(LocalRun, SigkilledRankRestartsTheWholeGangWhichResumesFromTheLastCheckpoint) {
  JobSpec s;
  s.name = "gpt-kill";
  s.args = tiny_gpt(40);
  s.every_steps = 5;
  s.metrics_port = accel::testing::free_port(/*pair=*/true);
  auto run = start(write_job(s));
  ASSERT_TRUE(eventually([&] { return newest_checkpoint_step(checkpoints()) >= 10; },
                         std::chrono::seconds(120)))
      << output();
  auto victims = job_processes("gpt-kill", root_, {{"RANK", "1"}, {"ACCEL_RESTART_COUNT", "0"}});
  // The rank itself (not its launcher): the launcher has no RANK in its environment.
  ASSERT_EQ(victims.size(), 1u) << output();
  const long checkpoint_at_kill = newest_checkpoint_step(checkpoints());
  ASSERT_EQ(::kill(victims[0], SIGKILL), 0);

  auto status = run->wait_for(std::chrono::seconds(300));
  ASSERT_TRUE(status.has_value()) << output();
  const std::string out = output();
  EXPECT_EQ(status->code(), 0) << out;
  EXPECT_NE(out.find("phase Restarting (attempt 1, restarts 1)"), std::string::npos) << out;
  EXPECT_NE(out.find("pod gpt-kill-a0-n1 (node 1) exited 137"), std::string::npos) << "the failure is shown:\n" << out;
  EXPECT_NE(out.find("AccelJob gpt-kill Succeeded"), std::string::npos) << out;

  // Attempt 1 is a new gang (both nodes) that resumed: its first logged step comes after the
  // checkpoint that existed when rank 1 was killed, and it trains to the end.
  const fs::path a1 = run_dir() / "logs" / "gpt-kill-a1-n0.log";
  ASSERT_TRUE(fs::exists(run_dir() / "logs" / "gpt-kill-a1-n1.log"));
  const std::string a1_log = read_file(a1);
  EXPECT_NE(a1_log.find("resumed from"), std::string::npos) << a1_log;
  auto steps = logged_steps(a1);
  ASSERT_FALSE(steps.empty()) << a1_log;
  EXPECT_GT(steps.front(), checkpoint_at_kill) << a1_log;
  EXPECT_EQ(steps.back(), 40);
  EXPECT_TRUE(job_processes("gpt-kill", root_).empty());
}

TEST_F(LocalRun, HungRankIsStalledRestartedAndTheJobFailsWhenMaxRestartsAreUsedUp) {
  JobSpec s;
  s.name = "gpt-hang";
  s.args = tiny_gpt(1000);
  s.args.insert(s.args.end(), {"--hang-at-step", "3", "--fault-rank", "1"});
  s.max_restarts = 1;
  s.metrics_port = accel::testing::free_port(/*pair=*/true);
  s.extra_run_policy = "    stallTimeoutSeconds: 4\n";
  EXPECT_EQ(run(write_job(s)), 81) << output();  // api/EXIT_CODES.md: 81 Stalled
  const std::string out = output();
  EXPECT_NE(out.find("phase Restarting (attempt 1, restarts 1)"), std::string::npos) << out;
  EXPECT_NE(out.find("MaxRestartsExceeded"), std::string::npos) << out;
  EXPECT_NE(out.find("AccelJob gpt-hang Failed"), std::string::npos) << out;
  EXPECT_TRUE(fs::exists(run_dir() / "logs" / "gpt-hang-a1-n0.log"));
  EXPECT_FALSE(fs::exists(run_dir() / "logs" / "gpt-hang-a2-n0.log")) << "no third gang after maxRestarts 1";
  EXPECT_TRUE(job_processes("gpt-hang", root_).empty()) << "the hung rank was killed too";
}

TEST_F(LocalRun, CtrlCStopsTheGangCleanlyAndKeepsTheLastCheckpoint) {
  JobSpec s;
  s.name = "gpt-int";
  s.args = tiny_gpt(100000);
  s.every_steps = 5;
  s.metrics_port = accel::testing::free_port(/*pair=*/true);
  auto run = start(write_job(s));
  ASSERT_TRUE(eventually([&] { return newest_checkpoint_step(checkpoints()) >= 5; },
                         std::chrono::seconds(120)))
      << output();
  // Progress from rank 0's /progress (step/total, loss, samples/s, ETA) shows up as a plain line
  // once a second.
  const std::regex progress_line(R"(gpt-int  Running  step \d+/100000  loss \d+\.\d+  \d+\.\d samples/s  ETA \S+  restarts 0/2)");
  ASSERT_TRUE(eventually([&] { return std::regex_search(output(), progress_line); },
                         std::chrono::seconds(30)))
      << output();
  ASSERT_EQ(::kill(run->pid(), SIGINT), 0);  // what Ctrl-C sends to the foreground process
  auto status = run->wait_for(std::chrono::seconds(90));
  ASSERT_TRUE(status.has_value()) << output();
  const std::string out = output();
  // Every rank stopped after the same step with a checkpoint of it (exit 82, api/EXIT_CODES.md).
  EXPECT_EQ(status->code(), 82) << out;
  EXPECT_NE(out.find("stopped after a checkpoint of the last step"), std::string::npos) << out;
  EXPECT_GE(newest_checkpoint_step(checkpoints()), 5);
  EXPECT_TRUE(job_processes("gpt-int", root_).empty()) << "no rank or launcher outlives accel run";
}

// SIGTERM to `accel run` (what a supervisor sends): the gang stops after a step with a
// checkpoint of it, and the next `accel run` resumes at the next step to the parameters an
// uninterrupted run ends with.
TEST_F(LocalRun, SigtermLosesNoStepAndTheNextRunEndsWithAnUninterruptedRunsParameters) {
  JobSpec s;
  s.name = "gpt-term";
  s.every_steps = 0;  // no periodic checkpoint: only the stop's carries the run over
  s.metrics_port = accel::testing::free_port(/*pair=*/true);
  const auto with_params = [&](const fs::path& p) {
    JobSpec j = s;
    j.args = tiny_gpt(300);
    j.args.insert(j.args.end(), {"--save-params", p.string()});
    return write_job(j);
  };
  // The uninterrupted run, in its own run directory.
  const fs::path ref = root_ / "ref.bin";
  {
    SubprocessOptions o;
    o.argv = {ACCEL_CLI, "run", with_params(ref).string(), "--dir", (root_ / "ref-run").string(),
              "--output", "plain"};
    o.stdout_path = (root_ / "ref.out").string();
    o.stderr_path = "=stdout";
    Subprocess r(o);
    auto st = r.wait_for(std::chrono::seconds(240));
    ASSERT_TRUE(st && st->code() == 0) << read_file(root_ / "ref.out");
  }
  const fs::path job = with_params(root_ / "p.bin");
  auto interrupted = start(job);
  const fs::path a0 = run_dir() / "logs" / "gpt-term-a0-n0.log";
  ASSERT_TRUE(eventually([&] { auto v = logged_steps(a0); return !v.empty() && v.back() >= 30; },
                         std::chrono::seconds(120)))
      << output();
  ASSERT_EQ(::kill(interrupted->pid(), SIGTERM), 0);
  auto status = interrupted->wait_for(std::chrono::seconds(90));
  ASSERT_TRUE(status.has_value()) << output();
  EXPECT_EQ(status->code(), 82) << output();
  const long stopped = newest_checkpoint_step(checkpoints());
  ASSERT_GT(stopped, 0) << output();
  EXPECT_GE(stopped, logged_steps(a0).back()) << read_file(a0);

  EXPECT_EQ(run(job), 0) << output();
  // The pod log holds both runs; the second one's steps follow its "resumed from" line.
  const std::string log = read_file(run_dir() / "logs" / "gpt-term-a0-n0.log");
  const auto resumed = log.find("resumed from");
  ASSERT_NE(resumed, std::string::npos) << log;
  EXPECT_NE(log.find("(step " + std::to_string(stopped) + ",", resumed), std::string::npos) << log;
  std::smatch m;
  const std::string after = log.substr(resumed);
  ASSERT_TRUE(std::regex_search(after, m, std::regex(R"(\nstep (\d+) loss)"))) << after;
  EXPECT_EQ(std::stol(m[1]), stopped + 1) << after;
  EXPECT_EQ(read_file(root_ / "p.bin"), read_file(ref));
  EXPECT_FALSE(read_file(ref).empty());
}

}  // namespace

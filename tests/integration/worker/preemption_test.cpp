// Stop signals, disruptions and damaged checkpoints, on real `accel launch` gangs of the example
// trainers (operator/controller/DISRUPTIONS.md, worker/CHECKPOINTS.md):
//  - SIGTERM mid-training: every rank stops after the same step with one checkpoint, exit 82,
//    and the next run resumes at the next step to the same parameters as an uninterrupted run;
//  - a peer that is gone when the stop comes: the rank gives up within the grace period, exit
//    83, nothing committed;
//  - the stall watchdog ignores a long save and a marked evaluation, and names the rank that
//    stopped;
//  - a damaged newest checkpoint: resume falls back to the previous one and says why.
#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "eventually.h"
#include "files.h"
#include "training_harness.h"

namespace accel::testing {
namespace {

namespace fs = std::filesystem;
const std::string kMlp = MLP_TRAINER;
constexpr auto kWait = std::chrono::seconds(120);  // every wait below ends well before

// `accel launch --num_processes 2` of the MLP trainer as a child of the test, its output in
// <dir>/launcher.log.
std::unique_ptr<Subprocess> start_training(const std::string& dir, const std::vector<std::string>& flags,
                                           const std::vector<std::string>& args,
                                           std::map<std::string, std::string> env = {}) {
  SubprocessOptions o;
  o.argv = {ACCEL_CLI, "launch", "--num_processes", "2", "--main_process_port", "0"};
  o.argv.insert(o.argv.end(), flags.begin(), flags.end());
  o.argv.push_back("--");
  o.argv.push_back(kMlp);
  o.argv.insert(o.argv.end(), args.begin(), args.end());
  env.emplace("ACCEL_PROJECT_DIR", dir);
  env.emplace("ACCEL_CONFIG_FILE", dir + "/no-config-file.yaml");
  env.emplace("OMP_NUM_THREADS", "1");
  o.env = env;
  o.stdout_path = dir + "/launcher.log";
  o.stderr_path = "=stdout";
  return std::make_unique<Subprocess>(o);
}

// The steps of the complete checkpoints in <dir>/checkpoints.
std::vector<int64_t> checkpoint_steps(const std::string& dir) {
  std::vector<int64_t> out;
  if (!fs::is_directory(dir + "/checkpoints")) return out;
  for (auto& e : fs::directory_iterator(dir + "/checkpoints")) {
    const std::string name = e.path().filename().string();
    if (name.size() == 19 && name.rfind("checkpoint_", 0) == 0 && fs::exists(e.path() / "COMPLETE"))
      out.push_back(std::stoll(name.substr(11)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The pids of the ranks a launcher started (its direct children).
std::vector<pid_t> ranks_of(pid_t launcher) {
  std::vector<pid_t> out;
  for (auto& e : fs::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid;
    if (rest >> state >> ppid && ppid == launcher) out.push_back(std::stoi(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<std::string> kTwoRanks{"--num_processes", "2", "--main_process_port", "0",
                                         "--checkpoint_every_steps", "50"};

TEST(Preemption, SigtermCheckpointsTheLastStepAndTheNextRunLosesNothing) {
  const std::string ref = fresh_dir("preempt-ref"), d = fresh_dir("preempt");
  const std::vector<std::string> args{"--steps", "3000", "--log-every", "1", "--hidden", "64"};
  auto base = launch(ref, kTwoRanks, kMlp, [&] {
    auto a = args;
    a.insert(a.end(), {"--save-params", ref + "/p.bin"});
    return a;
  }());
  ASSERT_TRUE(base.status.success()) << base.output;

  auto gang = start_training(d, {"--checkpoint_every_steps", "50"}, args);
  ASSERT_TRUE(eventually([&] { return losses(read_file(d + "/launcher.log")).count(60) > 0; }, kWait))
      << read_file(d + "/launcher.log");
  ::kill(gang->pid(), SIGTERM);
  auto status = gang->wait_for(kWait);
  ASSERT_TRUE(status);
  const std::string log = read_file(d + "/launcher.log");
  EXPECT_EQ(status->exit_code, std::optional<int>(82)) << status->describe() << "\n" << log;
  EXPECT_EQ(log.find("done:"), std::string::npos) << "training finished instead of stopping\n" << log;

  // The newest checkpoint is the stop's, of a step at or after every step the run reported
  // (the stop lands after the step in progress and the one the vote needs, at most).
  const auto steps = checkpoint_steps(d);
  ASSERT_FALSE(steps.empty()) << log;
  const int64_t stopped_at = steps.back();
  const int last_logged = losses(log).rbegin()->first;
  EXPECT_GE(stopped_at, last_logged) << log;
  EXPECT_LE(stopped_at, last_logged + 3) << log;
  EXPECT_NE(log.find("stopped after step " + std::to_string(stopped_at)), std::string::npos) << log;
  EXPECT_NE(log.find("s after this rank's stop signal"), std::string::npos) << log;

  auto resumed = launch(d, kTwoRanks, kMlp, [&] {
    auto a = args;
    a.insert(a.end(), {"--save-params", d + "/p.bin"});
    return a;
  }());
  ASSERT_TRUE(resumed.status.success()) << resumed.output;
  EXPECT_NE(resumed.output.find("(step " + std::to_string(stopped_at) + ","), std::string::npos)
      << resumed.output;
  // The first step the resumed run reports is the one after the stop: nothing done twice.
  EXPECT_EQ(losses(resumed.output).begin()->first, stopped_at + 1) << resumed.output;
  EXPECT_EQ(max_rel_diff(read_floats(d + "/p.bin"), read_floats(ref + "/p.bin")), 0.0);
}

TEST(Preemption, APeerThatIsGoneMakesTheStopGiveUpWithinTheGraceAndCommitNothing) {
  const std::string d = fresh_dir("preempt-peer-gone");
  // Grace 6 s: a rank gives up 3 s after its signal, the launcher SIGKILLs at 5 s.
  // Periodic checkpoints 500 steps apart, and rank 1 is stopped as soon as the first one is
  // committed: the next periodic one is hundreds of steps away, so `before` is every checkpoint
  // the gang made together (with 20 steps apart, one whose collectives had finished could
  // still be committed after `before` was read).
  auto gang = start_training(d, {"--checkpoint_every_steps", "500", "--pg_timeout_seconds", "600"},
                             {"--steps", "100000", "--log-every", "1"},
                             {{"ACCEL_TERMINATION_GRACE_SECONDS", "6"}});
  ASSERT_TRUE(eventually([&] { return checkpoint_steps(d).size() >= 1; }, kWait))
      << read_file(d + "/launcher.log");
  const auto ranks = ranks_of(gang->pid());
  ASSERT_EQ(ranks.size(), 2u);
  // Rank 1 goes silent (as on a lost node: no error, no answer), then the stop comes.
  ::kill(ranks[1], SIGSTOP);
  const auto before = checkpoint_steps(d);
  ::kill(gang->pid(), SIGTERM);
  auto status = gang->wait_for(kWait);
  ASSERT_TRUE(status);
  const std::string log = read_file(d + "/launcher.log");
  EXPECT_EQ(status->exit_code, std::optional<int>(83)) << status->describe() << "\n" << log;
  EXPECT_NE(log.find("did not complete within"), std::string::npos) << log;
  EXPECT_EQ(checkpoint_steps(d), before) << "a checkpoint was committed without every rank\n" << log;
}

TEST(Preemption, ACheckpointLongerThanTheStallTimeoutIsNotAStall) {
  const std::string d = fresh_dir("preempt-slow-save");
  auto r = launch(d, {"--num_processes", "2", "--main_process_port", "0", "--stall_timeout_seconds",
                      "2", "--checkpoint_every_steps", "3"},
                  kMlp, {"--steps", "7", "--slow-save-seconds", "5"});
  EXPECT_TRUE(r.status.success()) << r.output;
  EXPECT_EQ(r.output.find("stalled"), std::string::npos) << r.output;
  EXPECT_EQ(checkpoint_steps(d), (std::vector<int64_t>{3, 6}));
}

TEST(Preemption, AMarkedEvaluationLongerThanTheStallTimeoutIsNotAStall) {
  const std::string d = fresh_dir("preempt-eval");
  auto r = launch(d, {"--num_processes", "2", "--main_process_port", "0", "--stall_timeout_seconds",
                      "2"},
                  kMlp, {"--steps", "6", "--eval-every", "3", "--eval-seconds", "5"});
  EXPECT_TRUE(r.status.success()) << r.output;
  EXPECT_EQ(r.output.find("stalled"), std::string::npos) << r.output;
}

TEST(Preemption, TheStalledRankIsTheOneNamedNotThePeerWaitingForIt) {
  const std::string d = fresh_dir("preempt-stall-rank");
  auto r = launch(d, {"--num_processes", "2", "--main_process_port", "0", "--stall_timeout_seconds",
                      "3", "--pg_timeout_seconds", "600"},
                  kMlp, {"--steps", "50", "--hang-at-step", "4", "--fault-rank", "1"}, {},
                  std::chrono::seconds(120));
  EXPECT_EQ(r.status.code(), 81) << r.output;
  EXPECT_NE(r.output.find("[accel launch] rank 1 exited with code 81"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("rank 1 stalled"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("rank 0 stalled"), std::string::npos) << r.output;
}

// Three ways a newest checkpoint can be damaged; each time resume says which and why, uses
// the previous one, and training ends where an undamaged run ends.
TEST(Preemption, ADamagedNewestCheckpointFallsBackToThePreviousOne) {
  const std::string ref = fresh_dir("ckpt-damage-ref");
  const std::vector<std::string> flags{"--num_processes", "2", "--main_process_port", "0",
                                       "--checkpoint_every_steps", "4"};
  auto base = launch(ref, flags, kMlp, {"--steps", "16", "--save-params", ref + "/p.bin"});
  ASSERT_TRUE(base.status.success()) << base.output;

  struct Damage {
    const char* name;
    std::function<void(const std::string& ckpt)> apply;
    const char* why;
  };
  const std::vector<Damage> damages = {
      {"truncated", [](const std::string& c) { fs::resize_file(c + "/optimizer.pt", fs::file_size(c + "/optimizer.pt") / 2); },
       "optimizer.pt is"},
      {"missing", [](const std::string& c) { fs::remove(c + "/model.pt"); }, "model.pt is missing"},
      {"bad-manifest", [](const std::string& c) { std::ofstream(c + "/meta.json") << "{\"step\": "; },
       "meta.json is not the manifest"},
  };
  for (const auto& damage : damages) {
    SCOPED_TRACE(damage.name);
    const std::string d = fresh_dir(std::string("ckpt-damage-") + damage.name);
    auto first = launch(d, flags, kMlp, {"--steps", "12"});
    ASSERT_TRUE(first.status.success()) << first.output;
    ASSERT_EQ(checkpoint_steps(d), (std::vector<int64_t>{4, 8, 12}));
    const std::string newest = d + "/checkpoints/checkpoint_00000012";
    damage.apply(newest);

    auto resumed = launch(d, flags, kMlp, {"--steps", "16", "--save-params", d + "/p.bin"});
    ASSERT_TRUE(resumed.status.success()) << resumed.output;
    EXPECT_NE(resumed.output.find("checkpoint " + newest + " is unusable: " + damage.why),
              std::string::npos)
        << resumed.output;
    EXPECT_NE(resumed.output.find("resumed from " + d + "/checkpoints/checkpoint_00000008"),
              std::string::npos)
        << resumed.output;
    EXPECT_TRUE(fs::exists(newest + ".unusable"));
    EXPECT_EQ(max_rel_diff(read_floats(d + "/p.bin"), read_floats(ref + "/p.bin")), 0.0);
  }
}

}  // namespace
}  // namespace accel::testing

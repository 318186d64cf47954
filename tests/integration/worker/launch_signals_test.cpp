// `accel launch` and signals, with real processes: the launcher binary runs 2 local ranks of
// launch_signal_probe (which records the signals it gets) or of the real MLP trainer; the test
// signals the launcher and checks what the ranks received, the launcher's exit code
// (api/EXIT_CODES.md: 128+N for signal N) and that no process of the gang is left in /proc.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "eventually.h"
#include "files.h"
#include "training_harness.h"

namespace accel::testing {
namespace {

const std::string kProbe = SIGNAL_PROBE;
const std::string kMlp = MLP_TRAINER;
constexpr auto kWait = std::chrono::seconds(60);  // every wait below ends well before

// A live process: /proc/<pid> exists and is not a zombie waiting for a parent that does not
// reap (orphans are re-parented, and a container's init may never reap them).
bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string line;
  std::getline(stat, line);
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

// Every process whose parent chain leads to `root` (children, grandchildren, ...).
std::set<pid_t> descendants(pid_t root) {
  std::map<pid_t, pid_t> parent;
  for (auto& e : std::filesystem::directory_iterator("/proc")) {
    const auto name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(e.path() / "stat");
    std::string line;
    std::getline(stat, line);
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    pid_t ppid;
    if (rest >> state >> ppid) parent[std::stoi(name)] = ppid;
  }
  std::set<pid_t> out;
  bool grew = true;
  while (grew) {
    grew = false;
    for (auto& [pid, ppid] : parent)
      if ((ppid == root || out.count(ppid)) && out.insert(pid).second) grew = true;
  }
  return out;
}

// `accel launch --num_processes 2 <flags> -- <program>` as a child of this test, its output
// in <dir>/launcher.log.
std::unique_ptr<Subprocess> start_launcher(const std::string& dir,
                                           const std::vector<std::string>& flags,
                                           const std::vector<std::string>& program) {
  SubprocessOptions o;
  o.argv = {ACCEL_CLI, "launch", "--num_processes", "2", "--main_process_port", "0"};
  o.argv.insert(o.argv.end(), flags.begin(), flags.end());
  o.argv.push_back("--");
  o.argv.insert(o.argv.end(), program.begin(), program.end());
  o.env = {{"ACCEL_PROJECT_DIR", dir},
           {"ACCEL_CONFIG_FILE", dir + "/no-config-file.yaml"},
           {"OMP_NUM_THREADS", "1"}};
  o.stdout_path = dir + "/launcher.log";
  o.stderr_path = "=stdout";
  return std::make_unique<Subprocess>(o);
}

struct Gang {
  std::unique_ptr<Subprocess> launcher;
  std::set<pid_t> processes;  // ranks and what they started
};

// Starts 2 probe ranks and waits until both are ready (handlers installed, helper started).
Gang start_probes(const std::string& dir, std::vector<std::string> probe_args,
                  const std::vector<std::string>& launch_flags = {}) {
  std::vector<std::string> program{kProbe, "--dir", dir};
  program.insert(program.end(), probe_args.begin(), probe_args.end());
  Gang g{start_launcher(dir, launch_flags, program), {}};
  bool ready = eventually(
      [&] {
        return std::filesystem::exists(dir + "/ready_rank0") &&
               std::filesystem::exists(dir + "/ready_rank1");
      },
      kWait);
  EXPECT_TRUE(ready) << read_file(dir + "/launcher.log");
  for (int r = 0; r < 2; ++r) {
    std::istringstream ids(read_file(dir + "/ready_rank" + std::to_string(r)));
    pid_t pid, helper;
    if (ids >> pid >> helper) g.processes.insert({pid, helper});
  }
  EXPECT_EQ(g.processes.size(), 4u);
  return g;
}

// The signals rank r recorded, in order.
std::vector<int> signals_of(const std::string& dir, int r) {
  std::vector<int> out;
  std::istringstream in(read_file(dir + "/signal_rank" + std::to_string(r)));
  int s;
  while (in >> s) out.push_back(s);
  return out;
}

void expect_none_alive(const std::set<pid_t>& processes, const std::string& log) {
  for (pid_t p : processes) EXPECT_FALSE(alive(p)) << "pid " << p << " outlived the gang\n" << log;
}

class LaunchSignals : public ::testing::TestWithParam<int> {};

TEST_P(LaunchSignals, SignalToTheLauncherReachesEveryRankAndTheLauncherExitsWith128PlusN) {
  const int sig = GetParam();
  auto dir = fresh_dir(std::string("launch-sig") + std::to_string(sig));
  auto gang = start_probes(dir, {});
  ::kill(gang.launcher->pid(), sig);  // the launcher alone, as the kubelet or a terminal would
  auto status = gang.launcher->wait_for(kWait);
  ASSERT_TRUE(status) << "launcher did not exit\n" << read_file(dir + "/launcher.log");
  const auto log = read_file(dir + "/launcher.log");
  EXPECT_EQ(status->exit_code, std::optional<int>(128 + sig)) << status->describe() << "\n" << log;
  EXPECT_EQ(signals_of(dir, 0), std::vector<int>{sig}) << log;
  EXPECT_EQ(signals_of(dir, 1), std::vector<int>{sig}) << log;
  expect_none_alive(gang.processes, log);
}

INSTANTIATE_TEST_SUITE_P(TermIntHup, LaunchSignals, ::testing::Values(SIGTERM, SIGINT, SIGHUP),
                         [](const ::testing::TestParamInfo<int>& p) {
                           return std::string(p.param == SIGTERM  ? "SIGTERM"
                                              : p.param == SIGINT ? "SIGINT"
                                                                  : "SIGHUP");
                         });

TEST(LaunchSignalsEscalation, RanksThatIgnoreSigtermAreKilledAfterTheGracePeriod) {
  auto dir = fresh_dir("launch-ignore-term");
  auto gang = start_probes(dir, {"--ignore-term"}, {"--grace_seconds", "1"});
  ::kill(gang.launcher->pid(), SIGTERM);
  auto status = gang.launcher->wait_for(kWait);
  ASSERT_TRUE(status) << read_file(dir + "/launcher.log");
  const auto log = read_file(dir + "/launcher.log");
  EXPECT_EQ(status->exit_code, std::optional<int>(128 + SIGTERM)) << status->describe() << "\n"
                                                                  << log;
  EXPECT_EQ(signals_of(dir, 0), std::vector<int>{SIGTERM}) << log;  // got it, ignored it
  EXPECT_EQ(signals_of(dir, 1), std::vector<int>{SIGTERM}) << log;
  expect_none_alive(gang.processes, log);
}

TEST(LaunchSignalsFailure, AKilledRankStopsTheOtherAndTheLauncherReports137) {
  auto dir = fresh_dir("launch-rank-killed");
  auto gang = start_probes(dir, {"--die-rank", "1"});
  auto status = gang.launcher->wait_for(kWait);
  ASSERT_TRUE(status) << read_file(dir + "/launcher.log");
  const auto log = read_file(dir + "/launcher.log");
  EXPECT_EQ(status->exit_code, std::optional<int>(128 + SIGKILL)) << status->describe() << "\n"
                                                                  << log;
  EXPECT_EQ(signals_of(dir, 0), std::vector<int>{SIGTERM}) << log;  // stopped by the launcher
  EXPECT_TRUE(signals_of(dir, 1).empty()) << log;                   // SIGKILL cannot be caught
  EXPECT_NE(log.find("rank 1 killed by signal 9"), std::string::npos) << log;
  // Including rank 1's helper, which no signal of the gang's shutdown reached.
  expect_none_alive(gang.processes, log);
}

TEST(LaunchSignalsOrphans, ALauncherKilledBySigkillTakesItsRanksWithIt) {
  // SIGKILL reaches the launcher alone (an OOM kill, a test harness's timeout): nothing can
  // forward it, so each rank is started to get SIGKILL when the launcher ends.
  auto dir = fresh_dir("launch-launcher-killed");
  auto gang = start_probes(dir, {});
  std::set<pid_t> ranks;
  for (int r = 0; r < 2; ++r) {
    std::istringstream ids(read_file(dir + "/ready_rank" + std::to_string(r)));
    pid_t pid;
    if (ids >> pid) ranks.insert(pid);
  }
  ASSERT_EQ(ranks.size(), 2u);
  ::kill(gang.launcher->pid(), SIGKILL);
  ASSERT_TRUE(gang.launcher->wait_for(kWait));
  const bool gone = eventually(
      [&] {
        for (pid_t p : ranks)
          if (alive(p)) return false;
        return true;
      },
      kWait);
  for (pid_t p : gang.processes) ::kill(p, SIGKILL);  // what a rank itself started is its own
  EXPECT_TRUE(gone) << "a rank outlived its launcher\n" << read_file(dir + "/launcher.log");
}

TEST(LaunchSignalsTrainer, SigtermStopsTwoTrainingRanksOfTheMlpExample) {
  // libaccel answers the forwarded SIGTERM: both ranks stop after the same step with a
  // checkpoint and exit 82, and so does the launcher (preemption_test checks the checkpoint).
  auto dir = fresh_dir("launch-sig-mlp");
  auto launcher = start_launcher(dir, {}, {kMlp, "--steps", "1000000", "--log-every", "1"});
  // Training has started on both ranks once rank 0 logged a step (steps are collective).
  ASSERT_TRUE(eventually(
      [&] { return read_file(dir + "/launcher.log").find("step 2 loss") != std::string::npos; },
      kWait))
      << read_file(dir + "/launcher.log");
  auto processes = descendants(launcher->pid());
  ASSERT_GE(processes.size(), 2u);
  ::kill(launcher->pid(), SIGTERM);
  auto status = launcher->wait_for(kWait);
  ASSERT_TRUE(status) << read_file(dir + "/launcher.log");
  const auto log = read_file(dir + "/launcher.log");
  EXPECT_EQ(status->exit_code, std::optional<int>(82)) << status->describe() << "\n" << log;
  EXPECT_EQ(log.find("done:"), std::string::npos) << "training finished instead of stopping";
  expect_none_alive(processes, log);
}

}  // namespace
}  // namespace accel::testing

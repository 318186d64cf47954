#include "accel/subprocess.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace accel {
namespace {

TEST(Subprocess, ReportsTheExitCode) {
  Subprocess p({{"sh", "-c", "exit 7"}});
  auto s = p.wait();
  ASSERT_TRUE(s.exit_code.has_value());
  EXPECT_EQ(*s.exit_code, 7);
  EXPECT_EQ(s.code(), 7);
}

TEST(Subprocess, ReportsTheSignalAs128PlusN) {
  Subprocess p({{"sleep", "30"}});
  p.signal(SIGKILL);
  auto s = p.wait();
  ASSERT_TRUE(s.signal.has_value());
  EXPECT_EQ(*s.signal, SIGKILL);
  EXPECT_EQ(s.code(), 128 + SIGKILL);
}

TEST(Subprocess, PassesAndUnsetsEnvironment) {
  ::setenv("ACCEL_TEST_UNSET_ME", "present", 1);
  auto r = run_command({"sh", "-c", "echo \"$ACCEL_TEST_X-${ACCEL_TEST_UNSET_ME:-gone}\""},
                       std::chrono::seconds(10), {{"ACCEL_TEST_X", "hello"}});
  EXPECT_EQ(r.output, "hello-present\n");
  SubprocessOptions o;
  o.argv = {"sh", "-c", "test -z \"$ACCEL_TEST_UNSET_ME\""};
  o.unset_env = {"ACCEL_TEST_UNSET_ME"};
  EXPECT_TRUE(Subprocess(o).wait().success());
}

TEST(Subprocess, RunsTheChildOnTheCpusItWasGiven) {
  // CPU 0 exists on every machine; the child's own view of its mask is what the kernel applied.
  SubprocessOptions o;
  o.argv = {"sh", "-c", "grep '^Cpus_allowed_list:' /proc/self/status > \"$OUT\""};
  const std::string out =
      ::testing::TempDir() + "/accel-subprocess-affinity-" + std::to_string(::getpid());
  o.env = {{"OUT", out}};
  o.cpu_affinity = {0};
  ASSERT_TRUE(Subprocess(o).wait().success());
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  std::remove(out.c_str());
  EXPECT_EQ(line, "Cpus_allowed_list:\t0");
}

TEST(Subprocess, ThrowsNamingTheCpusWhenTheKernelRefusesTheMask) {
  SubprocessOptions o;
  o.argv = {"true"};
  o.cpu_affinity = {1000};  // no machine this runs on has CPU 1000 online
  try {
    Subprocess p(o);
    FAIL() << "started with an impossible CPU mask";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("sched_setaffinity(CPUs 1000)"), std::string::npos)
        << e.what();
  }
}

// Starts `sleep 60` through Subprocess from a forked parent, SIGKILLs that parent, and returns
// whether the sleep was still running well after (then it is killed here).
bool child_outlives_killed_parent(bool die_with_parent) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  pid_t parent = ::fork();
  if (parent == 0) {
    ::close(fds[0]);
    SubprocessOptions o;
    o.argv = {"sleep", "60"};
    o.die_with_parent = die_with_parent;
    Subprocess child(o);
    pid_t pid = child.pid();
    (void)!::write(fds[1], &pid, sizeof pid);
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  pid_t child = -1;
  (void)!::read(fds[0], &child, sizeof child);
  ::close(fds[0]);
  ::kill(parent, SIGKILL);
  ::waitpid(parent, nullptr, 0);
  // Running: /proc/<pid>/stat exists and is not a zombie ('Z', reaped by init soon after).
  auto running = [&] {
    std::ifstream in("/proc/" + std::to_string(child) + "/stat");
    std::string stat;
    if (!std::getline(in, stat)) return false;
    auto paren = stat.rfind(')');
    return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
  };
  for (int i = 0; i < 200 && running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const bool alive = running();
  if (alive) ::kill(child, SIGKILL);
  return alive;
}

TEST(Subprocess, DiesWithAParentKilledBySigkillWhenAsked) {
  EXPECT_FALSE(child_outlives_killed_parent(true));
  EXPECT_TRUE(child_outlives_killed_parent(false));  // without it, an orphan: what it prevents
}

TEST(Subprocess, TerminateKillsTheWholeProcessGroup) {
  // The child starts a grandchild that ignores nothing; terminate() must end both.
  Subprocess p({{"sh", "-c", "sleep 60 & echo $! > /tmp/accel-subprocess-gc.pid; wait"}});
  for (int i = 0; i < 100 && ::access("/tmp/accel-subprocess-gc.pid", F_OK) != 0; ++i)
    ::usleep(20000);
  auto s = p.terminate(std::chrono::seconds(2));
  EXPECT_FALSE(s.success());
  // Alive means: the pid exists and is not a zombie waiting for init to reap it.
  auto r = run_command({"sh", "-c",
                        "sleep 0.2; p=$(cat /tmp/accel-subprocess-gc.pid); "
                        "kill -0 $p 2>/dev/null && ! grep -q '^State:.*Z' /proc/$p/status"});
  EXPECT_FALSE(r.status.success()) << "grandchild survived";
  ::unlink("/tmp/accel-subprocess-gc.pid");
}

TEST(Subprocess, ThrowsNamingTheProgramThatCannotStart) {
  try {
    Subprocess p({{"/nonexistent/accel-no-such-binary"}});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("accel-no-such-binary"), std::string::npos);
  }
}

TEST(Subprocess, RunCommandTimesOutAndKills) {
  auto r = run_command({"sleep", "30"}, std::chrono::milliseconds(200));
  EXPECT_FALSE(r.status.success());
  EXPECT_NE(r.output.find("timed out"), std::string::npos);
}

}  // namespace
}  // namespace accel

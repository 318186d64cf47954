// accel/subprocess.h — child processes with an owner.
//
// A Subprocess is started by its constructor and, if still running when destroyed, is sent
// SIGTERM, given a grace period, then SIGKILLed and reaped: no child outlives its owner by
// accident. Used by `accel launch` (one process per rank), `accel run` (one launcher per
// node) and the tests (control plane, real readers).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace accel {

// How a finished child ended: exactly one of exit_code / signal is set.
struct ExitStatus {
  std::optional<int> exit_code;
  std::optional<int> signal;

  bool success() const { return exit_code && *exit_code == 0; }
  // Shell convention: the exit code, or 128 + signal number.
  int code() const { return exit_code ? *exit_code : 128 + signal.value_or(0); }
  std::string describe() const;
};

struct SubprocessOptions {
  std::vector<std::string> argv;           // argv[0] is looked up in PATH
  std::map<std::string, std::string> env;  // added to (and overriding) the parent's
  std::vector<std::string> unset_env;      // removed from the child's environment
  std::string cwd;                         // empty: the parent's
  std::string stdout_path;                 // empty: inherit; otherwise appended to
  std::string stderr_path;                 // empty: inherit; "=stdout" merges into stdout
  bool new_process_group = true;           // signals then reach the child's children too
  // CPUs the child may run on (sched_setaffinity in the child, before exec); empty: inherited.
  // A mask the kernel refuses makes the constructor throw, naming the CPUs.
  std::vector<int> cpu_affinity;
  // The child gets SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG): a parent
  // killed with SIGKILL leaves no child behind. Only for a child started from a thread that
  // lives as long as the child should (the launcher's main thread).
  bool die_with_parent = false;
};

class Subprocess {
 public:
  // Starts the child. Throws std::runtime_error naming argv[0] when it cannot start.
  explicit Subprocess(SubprocessOptions options);
  ~Subprocess();
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // Non-blocking: the status once the child has ended (reaping it), else nullopt.
  std::optional<ExitStatus> poll();
  // Blocks until the child ends or the timeout passes (nullopt then).
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  ExitStatus wait();

  // Sends a signal to the child (its whole process group when it has one).
  void signal(int sig);
  // SIGTERM, wait up to `grace`, then SIGKILL; returns how the child ended.
  ExitStatus terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  pid_t pid_ = -1;
  bool group_ = false;
  std::optional<ExitStatus> status_;
};

// Runs a command to completion and returns its exit status and combined output.
struct CommandResult {
  ExitStatus status;
  std::string output;
};
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120),
                          const std::map<std::string, std::string>& env = {});

}  // namespace accel

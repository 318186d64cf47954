#include "accel/subprocess.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace accel {

std::string ExitStatus::describe() const {
  if (exit_code) return "exited with code " + std::to_string(*exit_code);
  if (signal)
    return std::string("killed by signal ") + std::to_string(*signal) + " (" + strsignal(*signal) +
           ")";
  return "still running";
}

namespace {

ExitStatus decode(int raw) {
  ExitStatus s;
  if (WIFEXITED(raw))
    s.exit_code = WEXITSTATUS(raw);
  else if (WIFSIGNALED(raw))
    s.signal = WTERMSIG(raw);
  return s;
}

int open_output(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  return fd;
}

}  // namespace

Subprocess::Subprocess(SubprocessOptions o) : group_(o.new_process_group) {
  if (o.argv.empty()) throw std::invalid_argument("Subprocess: empty argv");
  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& k : o.unset_env) env.erase(k);
  for (auto& [k, v] : o.env) env[k] = v;
  std::vector<std::string> env_strings;
  for (auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp, argv;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  for (auto& s : o.argv) argv.push_back(s.data());
  argv.push_back(nullptr);
  int out_fd = o.stdout_path.empty() ? -1 : open_output(o.stdout_path);
  int err_fd = -1;
  if (o.stderr_path == "=stdout")
    err_fd = out_fd;
  else if (!o.stderr_path.empty())
    err_fd = open_output(o.stderr_path);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int c : o.cpu_affinity)
    if (c >= 0 && c < CPU_SETSIZE) CPU_SET(c, &cpus);
  const bool set_affinity = !o.cpu_affinity.empty();
  // A pipe that closes on exec tells the parent whether exec succeeded (and, when it did not,
  // which step failed: 0 exec or chdir, 1 the CPU affinity).
  int exec_pipe[2];
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");

  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::close(exec_pipe[0]);
    if (group_) ::setpgid(0, 0);
    // The parent may have died between fork and prctl: then the signal never comes.
    if (o.die_with_parent && (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent))
      ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (out_fd >= 0) ::dup2(out_fd, STDOUT_FILENO);
    if (err_fd >= 0) ::dup2(err_fd, STDERR_FILENO);
    int failure[2] = {0, 0};  // {step, errno}
    if (!o.cwd.empty() && ::chdir(o.cwd.c_str()) != 0) {
      failure[1] = errno;
      (void)!::write(exec_pipe[1], failure, sizeof failure);
      ::_exit(127);
    }
    if (set_affinity && ::sched_setaffinity(0, sizeof cpus, &cpus) != 0) {
      failure[0] = 1;
      failure[1] = errno;
      (void)!::write(exec_pipe[1], failure, sizeof failure);
      ::_exit(127);
    }
    ::execvpe(argv[0], argv.data(), envp.data());
    failure[1] = errno;
    (void)!::write(exec_pipe[1], failure, sizeof failure);
    ::_exit(127);
  }
  if (group_) ::setpgid(pid_, pid_);  // also from the parent: no race with signal()
  ::close(exec_pipe[1]);
  if (out_fd >= 0) ::close(out_fd);
  if (err_fd >= 0 && err_fd != out_fd) ::close(err_fd);
  int failure[2] = {0, 0};
  ssize_t n;
  do n = ::read(exec_pipe[0], failure, sizeof failure);
  while (n < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (n > 0) {
    int raw;
    ::waitpid(pid_, &raw, 0);
    pid_ = -1;
    if (failure[0] == 1) {
      std::string list;
      for (int c : o.cpu_affinity) list += (list.empty() ? "" : ",") + std::to_string(c);
      throw std::runtime_error("cannot start " + o.argv[0] + ": sched_setaffinity(CPUs " + list +
                               "): " + std::strerror(failure[1]));
    }
    throw std::runtime_error("cannot start " + o.argv[0] + ": " + std::strerror(failure[1]));
  }
}

Subprocess::~Subprocess() {
  if (pid_ > 0 && !status_) terminate(std::chrono::seconds(3));
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(other.pid_), group_(other.group_), status_(other.status_) {
  other.pid_ = -1;
}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0 && !status_) terminate(std::chrono::seconds(3));
    pid_ = other.pid_;
    group_ = other.group_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

std::optional<ExitStatus> Subprocess::poll() {
  if (status_ || pid_ <= 0) return status_;
  int raw;
  pid_t r = ::waitpid(pid_, &raw, WNOHANG);
  if (r == pid_) status_ = decode(raw);
  return status_;
}

std::optional<ExitStatus> Subprocess::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto step = std::chrono::milliseconds(1);
  while (!poll()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(step);
    if (step < std::chrono::milliseconds(50)) step *= 2;
  }
  return status_;
}

ExitStatus Subprocess::wait() {
  if (status_ || pid_ <= 0) return status_.value_or(ExitStatus{});
  int raw;
  pid_t r;
  do r = ::waitpid(pid_, &raw, 0);
  while (r < 0 && errno == EINTR);
  status_ = decode(raw);
  return *status_;
}

void Subprocess::signal(int sig) {
  if (pid_ <= 0 || status_) return;
  if (group_)
    ::kill(-pid_, sig);
  else
    ::kill(pid_, sig);
}

ExitStatus Subprocess::terminate(std::chrono::milliseconds grace) {
  if (poll()) return *status_;
  signal(SIGTERM);
  if (auto s = wait_for(grace)) {
    if (group_) ::kill(-pid_, SIGKILL);  // stragglers in the group
    return *s;
  }
  signal(SIGKILL);
  return wait();
}

CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                          const std::map<std::string, std::string>& env) {
  char path[] = "/tmp/accel-cmd-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::close(fd);
  SubprocessOptions o;
  o.argv = argv;
  o.env = env;
  o.stdout_path = path;
  o.stderr_path = "=stdout";
  CommandResult result;
  {
    Subprocess p(o);
    auto s = p.wait_for(timeout);
    result.status = s ? *s : p.terminate(std::chrono::seconds(2));
    if (!s) result.output = "[timed out after " + std::to_string(timeout.count()) + " ms]\n";
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  result.output += ss.str();
  ::unlink(path);
  return result;
}

}  // namespace accel

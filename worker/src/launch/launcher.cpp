#include "accel/launcher.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "accel/api/exit_codes.h"
#include "accel/subprocess.h"

namespace accel {

namespace {

// One write per line: the ranks share this stderr, and a line written in pieces (each `<<` of
// the unbuffered std::cerr is a write of its own) interleaves with their lines.
void say_line(const std::string& line) { std::cerr << (line + "\n") << std::flush; }

std::atomic<int> g_signal{0};

void on_signal(int sig) { g_signal.store(sig); }

class SignalCapture {
 public:
  SignalCapture() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaction(s, &sa, &old_[s]);
  }
  ~SignalCapture() {
    for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaction(s, &old_[s], nullptr);
  }

 private:
  struct sigaction old_[NSIG] {};
};

}  // namespace

int pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind() failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::map<std::string, std::string> rank_env(const LaunchPlan& p, int local_rank, int master_port) {
  std::map<std::string, std::string> env = p.env;
  for (const auto& [k, v] : decide_program_env(p.settings, p.environment).env) env[k] = v;
  const int rank = p.node_rank * p.nproc + local_rank;
  const std::string world = std::to_string(p.nnodes * p.nproc);
  env["RANK"] = std::to_string(rank);
  env["LOCAL_RANK"] = std::to_string(local_rank);
  env["WORLD_SIZE"] = world;
  env["LOCAL_WORLD_SIZE"] = std::to_string(p.nproc);
  env["NODE_RANK"] = std::to_string(p.node_rank);
  env["NNODES"] = std::to_string(p.nnodes);
  env["MASTER_ADDR"] = p.master_addr;
  env["MASTER_PORT"] = std::to_string(master_port);
  // The rest of what torchrun's agent gives a worker (torch/distributed/elastic/agent/server/
  // local_elastic_agent.py, _start_workers), for one role ("default", torchrun's) over the whole
  // gang. These describe this gang, so, like RANK, they replace whatever the environment has.
  env["GROUP_RANK"] = std::to_string(p.node_rank);
  env["GROUP_WORLD_SIZE"] = std::to_string(p.nnodes);
  env["ROLE_NAME"] = "default";
  env["ROLE_RANK"] = std::to_string(rank);
  env["ROLE_WORLD_SIZE"] = world;
  env["TORCHELASTIC_RESTART_COUNT"] = std::to_string(p.restart_count);
  env["TORCHELASTIC_RUN_ID"] = p.run_id;
  // No agent hosts a store: init_process_group("env://") makes rank 0 host the TCPStore at
  // MASTER_ADDR:MASTER_PORT (torch/distributed/rendezvous.py, _create_c10d_store).
  env["TORCHELASTIC_USE_AGENT_STORE"] = "False";
  if (!p.gpu_ids.empty()) {
    // Ranks select cuda:LOCAL_RANK, so the chosen GPUs are exposed in order.
    std::string list;
    for (int id : p.gpu_ids) list += (list.empty() ? "" : ",") + std::to_string(id);
    env["CUDA_VISIBLE_DEVICES"] = list;
  }
  return env;
}

int launch_gang(const LaunchPlan& p) {
  if (p.program.empty()) throw std::invalid_argument("accel launch: no training program given");
  if (p.nproc < 1) throw std::invalid_argument("accel launch: num_processes must be >= 1");
  int port = p.master_port;
  if (port == 0) {
    if (p.nnodes > 1)
      throw std::invalid_argument(
          "accel launch: main_process_port 0 (pick a free port) only works "
          "on one machine");
    port = pick_free_port();
  }
  for (const auto& note : decide_program_env(p.settings, p.environment).notes)
    say_line("[accel launch] " + note);
  SignalCapture capture;
  std::vector<std::unique_ptr<Subprocess>> ranks;
  for (int i = 0; i < p.nproc; ++i) {
    SubprocessOptions o;
    o.argv = p.program;
    o.env = rank_env(p, i, port);
    o.die_with_parent = true;  // a launcher killed with SIGKILL leaves no rank running
    if (i < static_cast<int>(p.rank_cpus.size())) o.cpu_affinity = p.rank_cpus[i];
    if (!p.log_dir.empty()) {
      o.stdout_path = p.log_dir + "/rank_" + std::to_string(p.node_rank * p.nproc + i) + ".log";
      o.stderr_path = "=stdout";
    }
    ranks.push_back(std::make_unique<Subprocess>(o));
  }

  std::optional<int> failure;  // the first failing rank's code
  int failed_rank = -1;
  std::vector<bool> done(ranks.size(), false);
  size_t remaining = ranks.size();
  auto stop_all = [&](int sig) {
    for (size_t i = 0; i < ranks.size(); ++i)
      if (!done[i]) ranks[i]->signal(sig);
  };
  std::optional<std::chrono::steady_clock::time_point> kill_at;
  int forwarded = 0;
  // Ranks that stopped after a stop signal: 82 with a checkpoint, 83 without one.
  int stopped = 0, stopped_without_checkpoint = 0;

  while (remaining > 0) {
    if (int sig = g_signal.exchange(0); sig != 0) {
      say_line("[accel launch] received signal " + std::to_string(sig) + " (" + strsignal(sig) +
               "), forwarding it to " + std::to_string(remaining) + " rank(s)");
      forwarded = sig;
      stop_all(sig);  // the same signal: a rank sees what it would have seen without us
      if (!kill_at) kill_at = std::chrono::steady_clock::now() + p.grace;
    }
    for (size_t i = 0; i < ranks.size(); ++i) {
      if (done[i]) continue;
      auto s = ranks[i]->poll();
      if (!s) continue;
      done[i] = true;
      --remaining;
      // The rank is reaped; whatever it started in its process group (data-loader workers,
      // helpers) must not outlive it. A rank killed by SIGKILL leaves them running otherwise.
      ::kill(-ranks[i]->pid(), SIGKILL);
      const bool stop = api::is_stop_exit(s->code());
      if (stop) {
        ++stopped;
        if (s->code() == api::to_int(api::ExitCode::PreemptedNoCheckpoint))
          ++stopped_without_checkpoint;
      }
      if (!s->success() && !failure && !forwarded) {
        failure = s->code();
        failed_rank = p.node_rank * p.nproc + static_cast<int>(i);
        say_line("[accel launch] rank " + std::to_string(failed_rank) + " " + s->describe() +
                 " — " + api::describe_exit_code(*failure) +
                 (stop ? "; waiting for the other ranks" : "; stopping the other ranks"));
        if (stop) {
          // Every rank of the job stops after the same step (a stop signal reached one of them,
          // perhaps on another node): the others are finishing too; give them the grace period.
          if (!kill_at) kill_at = std::chrono::steady_clock::now() + p.grace;
        } else {
          stop_all(SIGTERM);
          kill_at = std::chrono::steady_clock::now() + p.failure_grace;
        }
      }
    }
    if (kill_at && std::chrono::steady_clock::now() >= *kill_at) {
      stop_all(SIGKILL);
      kill_at.reset();
    }
    if (remaining > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (failure) {
    if (api::is_stop_exit(*failure) && stopped_without_checkpoint > 0)
      return api::to_int(api::ExitCode::PreemptedNoCheckpoint);
    return *failure;
  }
  if (forwarded) {
    // After a forwarded SIGTERM/SIGINT: ranks running libaccel stop with a checkpoint (82) or
    // without one (83); any other outcome is the signal's code, as before.
    if (stopped_without_checkpoint > 0) return api::to_int(api::ExitCode::PreemptedNoCheckpoint);
    if (stopped == static_cast<int>(ranks.size())) return api::to_int(api::ExitCode::Preempted);
    return 128 + forwarded;
  }
  return 0;
}

}  // namespace accel

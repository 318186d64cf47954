// preemption.cpp — see preemption.h.
#include "preemption.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "accel/api/exit_codes.h"

namespace accel {
namespace {

// The self-pipe the handler writes the signal number to: a handler may only write(2).
int g_pipe[2] = {-1, -1};
struct sigaction g_old_term {}, g_old_int {};

void handler(int sig) {
  const int saved = errno;
  const unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &b, 1);
  errno = saved;
}

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::chrono::milliseconds give_up_after(std::chrono::seconds grace) {
  using namespace std::chrono;
  const milliseconds g = grace;
  return g > seconds(6) ? g - seconds(3) : g / 2;
}

PreemptionWatch::PreemptionWatch(int rank, std::chrono::seconds grace) : rank_(rank), grace_(grace) {
  if (g_pipe[0] >= 0) throw std::logic_error("PreemptionWatch: one per process");
  if (::pipe2(g_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("PreemptionWatch: pipe: ") + std::strerror(errno));
  struct sigaction sa {};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &sa, &g_old_term);
  sigaction(SIGINT, &sa, &g_old_int);
  thread_ = std::thread([this] { run(); });
}

PreemptionWatch::~PreemptionWatch() {
  sigaction(SIGTERM, &g_old_term, nullptr);
  sigaction(SIGINT, &g_old_int, nullptr);
  const unsigned char stop = 0;
  [[maybe_unused]] ssize_t n = ::write(g_pipe[1], &stop, 1);
  if (thread_.joinable()) thread_.join();
  ::close(g_pipe[0]);
  ::close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

bool PreemptionWatch::installed() { return g_pipe[0] >= 0; }

void PreemptionWatch::training_started() { training_ = true; }

double PreemptionWatch::seconds_since_signal() const {
  const int64_t at = signal_ns_.load();
  return at == 0 ? 0.0 : static_cast<double>(now_ns() - at) / 1e9;
}

void PreemptionWatch::stopped() { stopped_ = true; }

void PreemptionWatch::on_signal(int sig) {
  const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
  if (!training_) {
    // Not training yet: nothing to save. End as the signal would have ended us.
    sigaction(SIGTERM, &g_old_term, nullptr);
    sigaction(SIGINT, &g_old_int, nullptr);
    ::raise(sig);
    return;
  }
  if (requested_ && stopped_) return;  // the checkpoint is written; the rank is exiting 82
  if (requested_) {
    std::fprintf(stderr, "[accel] rank %d: %s again while stopping: exiting now (%d)\n", rank_, name,
                 128 + sig);
    std::fflush(stderr);
    std::_Exit(128 + sig);
  }
  signal_ns_ = now_ns();
  requested_ = true;
  const auto give_up = give_up_after(grace_);
  deadline_ = std::chrono::steady_clock::now() + give_up;
  std::fprintf(stderr,
               "[accel] rank %d: %s: stopping after this optimizer step with a checkpoint "
               "(grace %lld s; giving up after %.1f s)\n",
               rank_, name, static_cast<long long>(grace_.count()), give_up.count() / 1000.0);
  std::fflush(stderr);
}

void PreemptionWatch::run() {
  for (;;) {
    int timeout_ms = -1;
    if (requested_ && !stopped_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline_ - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    pollfd p{g_pipe[0], POLLIN, 0};
    const int n = ::poll(&p, 1, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      if (stopped_) continue;
      std::fprintf(stderr,
                   "[accel] rank %d: the checkpoint after the stop signal did not complete within "
                   "%.1f s (a peer is likely gone); nothing was committed, the previous checkpoint "
                   "stands; exiting %d (PreemptedNoCheckpoint)\n",
                   rank_, seconds_since_signal(),
                   static_cast<int>(api::ExitCode::PreemptedNoCheckpoint));
      std::fflush(stderr);
      std::_Exit(static_cast<int>(api::ExitCode::PreemptedNoCheckpoint));
    }
    unsigned char b = 0;
    if (::read(g_pipe[0], &b, 1) != 1) continue;
    if (b == 0) return;
    on_signal(b);
  }
}

}  // namespace accel

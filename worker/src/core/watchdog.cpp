#include "watchdog.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "accel/api/exit_codes.h"

namespace accel {

namespace {
std::atomic<int> g_in_collective{0};

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace

StallWatchdog::StallWatchdog(std::chrono::seconds timeout, int rank)
    : timeout_(timeout), rank_(rank) {
  last_ns_ = now_ns();
  if (timeout_.count() > 0) thread_ = std::thread([this] { run(); });
}

StallWatchdog::~StallWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StallWatchdog::arm() {
  last_ns_ = now_ns();
  armed_ = true;
}

void StallWatchdog::step_completed(int64_t step) {
  last_step_ = step;
  last_ns_ = now_ns();
}

void StallWatchdog::pause() { ++paused_; }

void StallWatchdog::resume() {
  last_ns_ = now_ns();
  --paused_;
}

StallWatchdog::InCollective::InCollective() { ++g_in_collective; }
StallWatchdog::InCollective::~InCollective() { --g_in_collective; }

void StallWatchdog::run() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto tick = std::chrono::milliseconds(std::min<int64_t>(1000, timeout_.count() * 250));
  const double timeout = static_cast<double>(timeout_.count());
  const double head_start = std::max(5.0, timeout / 2);
  while (!cv_.wait_for(lock, tick, [this] { return stop_; })) {
    if (!armed_ || paused_ > 0) continue;
    const double idle = (now_ns() - last_ns_.load()) / 1e9;
    const bool waiting = g_in_collective > 0;
    if (idle > timeout + (waiting ? head_start : 0.0)) {
      std::fprintf(stderr,
                   "[accel] rank %d stalled: no training step completed for %.0f s "
                   "(stall timeout %lld s, last completed step %lld)%s; exiting with code %d\n",
                   rank_, idle, static_cast<long long>(timeout_.count()),
                   static_cast<long long>(last_step_.load()),
                   waiting ? ", waiting in a collective: a peer stopped first" : "",
                   static_cast<int>(api::ExitCode::Stalled));
      std::fflush(stderr);
      std::_Exit(static_cast<int>(api::ExitCode::Stalled));
    }
  }
}

}  // namespace accel

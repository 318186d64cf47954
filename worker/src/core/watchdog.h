// watchdog.h — per-rank stall detection.
//
// Once armed, a background thread checks that a training step completed within the stall
// timeout; when none did, it prints which rank stalled and at which step, and ends the process
// with the "stalled" exit code (81) so the launcher and operator can restart the gang. A hung
// collective ends sooner through the process-group timeout (80); the watchdog catches what
// that cannot see: a data loader or user code that stops making progress.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace accel {

class StallWatchdog {
 public:
  // timeout 0 disables the watchdog.
  StallWatchdog(std::chrono::seconds timeout, int rank);
  ~StallWatchdog();
  StallWatchdog(const StallWatchdog&) = delete;
  StallWatchdog& operator=(const StallWatchdog&) = delete;

  void arm();                       // start counting from now
  void step_completed(int64_t step);

 private:
  void run();
  std::chrono::seconds timeout_;
  int rank_;
  std::atomic<int64_t> last_ns_{0};
  std::atomic<int64_t> last_step_{0};
  std::atomic<bool> armed_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace accel

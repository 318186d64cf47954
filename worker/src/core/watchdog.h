// watchdog.h — per-rank stall detection.
//
// Once armed, a background thread checks that a training step completed within the stall
// timeout; when none did, it prints which rank stalled and at which step, and ends the process
// with the "stalled" exit code (81) so the launcher and operator can restart the gang. A hung
// collective ends sooner through the process-group timeout (80); the watchdog catches what
// that cannot see: a data loader or user code that stops making progress.
//
// It knows what the rank is doing: while paused (a checkpoint save, an evaluation the program
// marks) nothing counts as a stall, and the clock restarts when the pause ends. A rank waiting
// in a collective is waiting for a peer: it gives that peer a head start (half the timeout, at
// least 5 s) so that the rank which really stopped is the first to exit 81 and be named.
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
  void pause();   // nestable; the clock does not run while paused
  void resume();  // restarts the clock from now

  // Marks the calling thread's time inside a collective (Accelerator's collective()).
  class InCollective {
   public:
    InCollective();
    ~InCollective();
    InCollective(const InCollective&) = delete;
    InCollective& operator=(const InCollective&) = delete;
  };

 private:
  void run();
  std::chrono::seconds timeout_;
  int rank_;
  std::atomic<int64_t> last_ns_{0};
  std::atomic<int64_t> last_step_{0};
  std::atomic<bool> armed_{false};
  std::atomic<int> paused_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace accel

// preemption.h — what a rank does with SIGTERM / SIGINT (operator/controller/DISRUPTIONS.md).
//
// Before training starts (no prepare() yet) a signal ends the process as it always did (exit
// 128+N). Once training runs, a signal only asks: the training thread finishes its optimizer
// step, agrees with the other ranks to stop after the same step, writes one checkpoint and exits
// 82 (Preempted). A background thread bounds that: when the rank is still alive
// give_up_after(grace) after the signal (typically a peer is gone, so the checkpoint's
// collectives cannot complete), it says so and exits 83 (PreemptedNoCheckpoint) without
// committing anything. A second signal while stopping ends the process at once (128+N).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

namespace accel {

// How long a rank may take to stop after SIGTERM, out of the pod's grace period: 3 s are left
// for `accel launch` and the kubelet (half the grace when it is 6 s or less).
std::chrono::milliseconds give_up_after(std::chrono::seconds grace);

class PreemptionWatch {
 public:
  // Installs the SIGTERM and SIGINT handlers (one watch per process).
  PreemptionWatch(int rank, std::chrono::seconds grace);
  ~PreemptionWatch();  // restores the previous handlers
  // Whether one is installed in this process (a second Accelerator gets none).
  static bool installed();
  PreemptionWatch(const PreemptionWatch&) = delete;
  PreemptionWatch& operator=(const PreemptionWatch&) = delete;

  // From now on a signal asks for a stop instead of ending the process.
  void training_started();
  // Whether a stop was asked for (cheap: one atomic load).
  bool requested() const { return requested_.load(std::memory_order_relaxed); }
  // Seconds since the signal arrived (0 when none did).
  double seconds_since_signal() const;
  // The stop is done (checkpoint committed): the give-up deadline no longer applies.
  void stopped();

 private:
  void run();
  void on_signal(int sig);
  int rank_;
  std::chrono::seconds grace_;
  std::atomic<bool> training_{false};
  std::atomic<bool> requested_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<int64_t> signal_ns_{0};
  std::chrono::steady_clock::time_point deadline_{};
  std::thread thread_;
};

}  // namespace accel

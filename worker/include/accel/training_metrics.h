// accel/training_metrics.h — Prometheus metrics and the /progress endpoint of one rank.
//
// Every rank serves http://<pod>:<metrics_port + local_rank>/metrics (Prometheus text format)
// and /progress (JSON: step, total steps, samples/s, ETA, last step time), one port per rank so
// that no rank's numbers depend on another process staying alive; the chart's PodMonitor and
// the operator scrape rank 0's port (= metrics_port on node 0). Metric names follow Prometheus
// conventions (base units, _total counters, _seconds histograms). Labels: job, namespace,
// node_rank, rank. Nothing secret is ever a label or value. See worker/METRICS.md.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace accel {

struct MetricsIdentity {
  std::string job;
  std::string namespace_;
  int node_rank = 0;
  int rank = 0;
  int world_size = 1;  // /progress reports job-wide samples/s as this rank's rate × world size
};

class TrainingMetrics {
 public:
  // port < 0: no HTTP server (metrics still recorded, scrape() works); 0: an ephemeral port.
  TrainingMetrics(const MetricsIdentity& identity, int port, const std::string& bind = "0.0.0.0");
  ~TrainingMetrics();
  TrainingMetrics(const TrainingMetrics&) = delete;
  TrainingMetrics& operator=(const TrainingMetrics&) = delete;

  int port() const;  // the bound port, or -1

  void set_total_steps(int64_t total);
  void set_attempt(int64_t attempt);  // ACCEL_RESTART_COUNT: gang starts before this one
  // samples/tokens: what THIS rank processed in the step (job totals are sums over ranks).
  void step_completed(int64_t step, double step_seconds, int64_t samples, int64_t tokens);
  void observe_data_wait(double seconds);
  void observe_allreduce(double seconds);
  void set_loss(double v);
  void set_learning_rate(double v);
  void set_grad_norm(double v);
  void set_loss_scale(double v);
  // The CUDA caching allocator's bytes: allocated now, reserved, peak allocated.
  void set_gpu_memory(double allocated, double reserved, double peak_allocated);
  // GPU utilisation, 0..1. The series exists only once this has been called (NVML present).
  void set_gpu_utilization(double ratio);
  void checkpoint_saved(int64_t step, double seconds);
  // What the rank is doing, for /progress: "training", "checkpointing" or "evaluating".
  void set_activity(const char* activity);
  void resumed_at(int64_t step);

  std::string scrape();          // the /metrics body
  std::string progress_json();   // the /progress body

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel

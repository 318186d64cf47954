#include "training_hooks.h"

#include <iostream>

#include "accel/config.h"
#include "accel/tracking.h"
#include "accel/training_metrics.h"
#include "gpu.h"

namespace accel {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class DefaultHooks final : public TrainingHooks {
 public:
  DefaultHooks(const ResolvedConfig& c, c10::Device device)
      : c_(c), rank_(c.identity.rank), device_(device) {
    const RankIdentity& who = c.identity;
    MetricsIdentity id{c.job_name(), c.job_namespace(), who.node_rank, who.rank, who.world_size};
    // One port per rank: metrics_port + local_rank (metrics_port 0 = off).
    const int port = c.metrics_port() > 0 ? c.metrics_port() + who.local_rank : -1;
    // metrics_host (the pod IP under the operator) lets several pods share one host's port.
    metrics_ = std::make_unique<TrainingMetrics>(id, port,
                                                 c.metrics_host().empty() ? std::string("0.0.0.0") : c.metrics_host());
    metrics_->set_attempt(c.restart_count());
    if (port > 0 && rank_ == 0)
      std::cout << "[accel] metrics on :" << metrics_->port() << "/metrics and /progress"
                << std::endl;
  }

  void on_prepared(int64_t step) override {
    step_start_ = Clock::now();
    last_step_end_ = Clock::now();
    metrics_->resumed_at(step);
  }

  void on_micro_batch_start() override {
    if (!in_step_) {
      metrics_->observe_data_wait(seconds_since(last_step_end_));
      step_start_ = Clock::now();
      in_step_ = true;
    } else {
      metrics_->observe_data_wait(seconds_since(last_micro_end_));
    }
  }

  void on_step(int64_t step, int64_t window_size, double lr, double loss_scale) override {
    const int64_t samples = samples_per_micro_ * window_size;
    const int64_t tokens = tokens_per_micro_ * window_size;
    metrics_->step_completed(step, seconds_since(step_start_), samples, tokens);
    metrics_->set_learning_rate(lr);
    metrics_->set_loss_scale(loss_scale);
    if (device_.is_cuda()) record_gpu();
    in_step_ = false;
    last_step_end_ = Clock::now();
    last_micro_end_ = last_step_end_;
  }

  // The allocator's counters are cheap to read every step; NVML is asked at most once a second
  // (its utilisation is itself an average over a sample period of that order).
  void record_gpu() {
    if (auto m = gpu::memory_stats(device_.index()))
      metrics_->set_gpu_memory(static_cast<double>(m->allocated), static_cast<double>(m->reserved),
                               static_cast<double>(m->peak_allocated));
    const auto now = Clock::now();
    if (now - last_utilization_ < std::chrono::seconds(1)) return;
    last_utilization_ = now;
    if (auto u = gpu::utilization(device_.index())) metrics_->set_gpu_utilization(*u);
  }

  void on_grad_norm(double norm) override { metrics_->set_grad_norm(norm); }
  void on_allreduce(double seconds) override { metrics_->observe_allreduce(seconds); }
  void on_checkpoint(int64_t step, double seconds) override {
    metrics_->checkpoint_saved(step, seconds);
    last_step_end_ = Clock::now();  // the save is not data loading
  }
  void on_resumed(int64_t step) override { metrics_->resumed_at(step); }
  void set_activity(const char* activity) override { metrics_->set_activity(activity); }

  void init_trackers(const std::string& project,
                     const std::map<std::string, std::string>& hparams) override {
    if (rank_ != 0 || c_.log_with().empty() || hub_) return;
    TrackerSettings ts;
    ts.logging_dir = c_.logging_dir();
    ts.run_name = c_.run_name();  // resolved: run_name, or run_name_prefix + the UTC start time
    ts.project = project;
    ts.per_tracker = c_.tracker_settings;
    ts.environment = c_.environment;
    TrackerSet set;
    try {
      set = make_trackers(c_.log_with(), ts);
    } catch (const std::invalid_argument& e) {
      // An unknown tracker or setting, or mlflow without a URI: a configuration error (78).
      throw ConfigError(std::string("log_with: ") + e.what());
    }
    hub_ = std::make_unique<TrackerHub>(std::move(set), /*is_main_process=*/true);
    hub_->start(project, hparams);
    std::cout << "[accel] trackers (" << join(c_.log_with()) << ") write to " << hub_->run_dir()
              << std::endl;
  }

  void log(const std::map<std::string, double>& values, int64_t step) override {
    if (auto it = values.find("loss"); it != values.end()) metrics_->set_loss(it->second);
    if (hub_) hub_->log(values, step);
  }

  void finish(bool success) override {
    if (!hub_) return;
    for (auto& r : hub_->finish(success))
      if (r.dropped > 0 || !r.error.empty())
        std::cerr << "[accel] tracker " << r.name << ": delivered " << r.delivered << ", dropped "
                  << r.dropped << (r.error.empty() ? "" : " (" + r.error + ")") << std::endl;
    hub_.reset();
  }

  void set_batch_shape(int64_t samples, int64_t tokens) override {
    samples_per_micro_ = samples;
    tokens_per_micro_ = tokens;
  }
  void set_total_steps(int64_t total) override { metrics_->set_total_steps(total); }
  int metrics_port() const override { return metrics_->port(); }

 private:
  static std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (auto& x : v) out += (out.empty() ? "" : ",") + x;
    return out;
  }

  const ResolvedConfig& c_;  // the Accelerator's, which outlives its hooks
  int rank_;
  c10::Device device_;
  std::unique_ptr<TrainingMetrics> metrics_;
  std::unique_ptr<TrackerHub> hub_;
  int64_t samples_per_micro_ = 0, tokens_per_micro_ = 0;
  bool in_step_ = false;
  Clock::time_point step_start_ = Clock::now(), last_step_end_ = Clock::now(),
                    last_micro_end_ = Clock::now();
  Clock::time_point last_utilization_{};
};

}  // namespace

std::unique_ptr<TrainingHooks> make_training_hooks(const ResolvedConfig& config, c10::Device device) {
  return std::make_unique<DefaultHooks>(config, device);
}

}  // namespace accel

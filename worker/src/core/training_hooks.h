// training_hooks.h — what the Accelerator reports about training: trackers (main process
// only) and Prometheus metrics (every rank). Kept out of accelerator.cpp so that the training
// loop reads as training.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "accel/config.h"

namespace accel {

class TrainingHooks {
 public:
  virtual ~TrainingHooks() = default;
  virtual void on_prepared(int64_t step) = 0;
  virtual void on_micro_batch_start() = 0;
  virtual void on_step(int64_t step, int64_t window_size, double lr, double loss_scale) = 0;
  virtual void on_grad_norm(double norm) = 0;
  // Thread-safe: called from communication threads.
  virtual void on_allreduce(double seconds) = 0;
  virtual void on_checkpoint(int64_t step, double seconds) = 0;
  virtual void on_resumed(int64_t step) = 0;
  // "training", "checkpointing" or "evaluating" (a string literal).
  virtual void set_activity(const char* activity) = 0;
  virtual void init_trackers(const std::string& project,
                             const std::map<std::string, std::string>& hparams) = 0;
  virtual void log(const std::map<std::string, double>& values, int64_t step) = 0;
  virtual void finish(bool success) = 0;
  // Samples (and tokens) per process per micro-batch, for samples/s and tokens/s.
  virtual void set_batch_shape(int64_t samples, int64_t tokens) = 0;
  virtual void set_total_steps(int64_t total) = 0;
  virtual int metrics_port() const = 0;
};

// `config` (the Accelerator's) must outlive the hooks.
std::unique_ptr<TrainingHooks> make_training_hooks(const ResolvedConfig& config, c10::Device device);

}  // namespace accel

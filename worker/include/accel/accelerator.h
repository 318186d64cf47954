// accel/accelerator.h — the one object a training program talks to.
//
// The C++ counterpart of Hugging Face Accelerate's Accelerator, on LibTorch:
//
//   accel::Accelerator acc(accel::AcceleratorOptions().mixed_precision("bf16"));
//   auto model = MyModel(); torch::optim::AdamW opt(model->parameters(), 3e-4);
//   acc.prepare(*model, opt);                       // device, DDP, resume from a checkpoint
//   for (int64_t epoch = acc.epoch(); epoch < epochs; ++epoch) {
//     acc.begin_epoch(epoch, batches_per_epoch);
//     for (int64_t b = acc.batch_in_epoch(); b < batches_per_epoch; ++b) {
//       auto scope = acc.accumulate();              // sync only on window boundaries
//       torch::Tensor loss;
//       { auto ac = acc.autocast(); loss = model->forward(x, y); }
//       acc.backward(loss);                          // scaled by the real window size
//       if (acc.sync_gradients()) acc.clip_grad_norm(1.0);
//       acc.step();                                  // optimizer + scheduler, on boundaries only
//       acc.log({{"loss", loss.item<double>()}});
//     }
//   }
//   acc.end_training();
//
// Configuration: every setting resolves as built-in default < config file < ACCEL_* env <
// `accel launch` flags < AcceleratorOptions (code); the main process prints where each value
// came from (see worker/CONFIG.md). Collective methods (prepare, save_state, load_state,
// wait_for_everyone, gather, reduce, step on boundaries) must be called by every rank.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>
#include <torch/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "accel/config.h"

namespace accel {

class AccumulateScope;
class AutocastScope;

enum class ReduceOp { Sum, Mean, Max, Min };

class Accelerator {
 public:
  // Resolves the configuration (throws accel::ConfigError naming key, value and source),
  // seeds RNGs, rendezvous with the other ranks (throws RendezvousTimeout), starts trackers,
  // metrics and the stall watchdog.
  explicit Accelerator(const AcceleratorOptions& options = AcceleratorOptions());
  ~Accelerator();
  Accelerator(const Accelerator&) = delete;
  Accelerator& operator=(const Accelerator&) = delete;

  // --- who am I -------------------------------------------------------------------------
  int process_index() const;        // global rank
  int local_process_index() const;  // rank on this machine
  int num_processes() const;        // world size
  int node_rank() const;
  bool is_main_process() const;        // global rank 0
  bool is_local_main_process() const;  // local rank 0
  torch::Device device() const;
  const ResolvedConfig& config() const;
  std::string mixed_precision() const;
  int gradient_accumulation_steps() const;

  // --- preparing ------------------------------------------------------------------------
  // Moves the model to device, broadcasts rank 0's parameters, attaches gradient
  // synchronisation (bucketed all-reduce overlapped with backward), and, when a complete
  // checkpoint exists in checkpoint_dir, resumes from the newest one (model, optimizer,
  // scheduler, scaler, RNG, counters, data position). The optimizer must hold the model's
  // parameters. Call once, on every rank.
  void prepare(torch::nn::Module& model, torch::optim::Optimizer& optimizer,
               torch::optim::LRScheduler* scheduler = nullptr);

  // --- the training step ----------------------------------------------------------------
  // Marks where the data is: training resumes at (epoch(), batch_in_epoch()). With the number
  // of micro-batches in the epoch known, the last accumulation window may be short, and its
  // loss is scaled by its real size.
  void begin_epoch(int64_t epoch, int64_t num_batches = -1);
  // One micro-batch. Gradients are all-reduced only on the last micro-batch of a window.
  [[nodiscard]] AccumulateScope accumulate();
  // Autocast for this process's device and precision (no-op for "no").
  [[nodiscard]] AutocastScope autocast() const;
  // loss / window size (fp32), scaled for fp16, then backward. Returns the unscaled loss.
  torch::Tensor backward(const torch::Tensor& loss);
  // True on the last micro-batch of a window (gradients are synchronised in this step).
  bool sync_gradients() const;
  // Clips the prepared model's gradients (unscaling first under fp16). Returns the total norm.
  double clip_grad_norm(double max_norm, double norm_type = 2.0);
  // On a boundary: optimizer step (skipped under fp16 on inf/NaN), scheduler step (once, not
  // once per process), zero_grad, counters, periodic checkpoint, metrics, watchdog. Off a
  // boundary: nothing. Returns true when the optimizer stepped.
  bool step();
  int64_t completed_steps() const;  // optimizer steps so far (restored on resume)
  // For samples/s and tokens/s in metrics and /progress: what one process consumes per
  // micro-batch, and the planned number of optimizer steps (for the ETA).
  void set_batch_shape(int64_t samples_per_micro_batch, int64_t tokens_per_micro_batch = 0);
  void set_total_steps(int64_t total_steps);
  // The bound /metrics port of this rank, or -1 when metrics are off.
  int metrics_port() const;
  int64_t epoch() const;
  int64_t batch_in_epoch() const;   // micro-batches consumed in the current epoch

  // --- collectives and printing ---------------------------------------------------------
  void wait_for_everyone();
  torch::Tensor gather(const torch::Tensor& t);  // concatenated along dim 0 over ranks
  torch::Tensor reduce(const torch::Tensor& t, ReduceOp op = ReduceOp::Sum);
  // Main process runs f first, then the others (e.g. to download or tokenize once).
  void main_process_first(const std::function<void()>& f);
  // Prints on the main process (print_scope=global) or on each node's first process (node).
  void print(const std::string& message) const;

  // --- trackers -------------------------------------------------------------------------
  void init_trackers(const std::string& project_name,
                     const std::map<std::string, std::string>& hyperparameters = {});
  // Only the main process writes; step defaults to completed_steps().
  void log(const std::map<std::string, double>& values, std::optional<int64_t> step = {});
  // Flushes trackers and stops metrics; returns 0. Called by the destructor if not before.
  void end_training(bool success = true);

  // --- checkpoints ----------------------------------------------------------------------
  // Every rank must call these. save_state writes <checkpoint_dir>/checkpoint_<step>
  // atomically and keeps the newest checkpoint_keep; returns its path.
  std::string save_state();
  // Loads `path`, or the newest complete checkpoint when empty. Returns false when none.
  bool load_state(const std::string& path = "");
  // Extra state saved with every checkpoint by the main process (e.g. a data sampler).
  void register_for_checkpointing(const std::string& name, std::function<std::string()> save,
                                  std::function<void(const std::string&)> load);

  // Implementation detail, public only so that scopes can reach it.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  friend class AccumulateScope;
};

// Returned by Accelerator::accumulate(); ends the micro-batch when destroyed.
class AccumulateScope {
 public:
  explicit AccumulateScope(Accelerator::Impl* impl) : impl_(impl) {}
  AccumulateScope(AccumulateScope&& o) noexcept : impl_(o.impl_) { o.impl_ = nullptr; }
  AccumulateScope(const AccumulateScope&) = delete;
  AccumulateScope& operator=(const AccumulateScope&) = delete;
  ~AccumulateScope();

 private:
  Accelerator::Impl* impl_;
};

// Runs a training program's body, mapping failures to the documented exit codes
// (api/EXIT_CODES.md): ConfigError → 78, RendezvousTimeout → 79, a timed-out or aborted
// collective → 80, anything else → 1. Use as `int main(...) { return accel::run_main([&]{...}); }`.
int run_main(const std::function<void()>& body);

}  // namespace accel

#include "accel/autocast_scope.h"

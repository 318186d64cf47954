// accel/accelerator.h — the one object a training program talks to.
//
// The C++ counterpart of Hugging Face Accelerate's Accelerator, on LibTorch:
//
//   accel::Accelerator acc(accel::AcceleratorOptions().mixed_precision("bf16"));
//   GPT model(cfg);
//   torch::optim::AdamW opt(model->parameters(), 3e-4);
//   acc.prepare(model, opt);                      // device, DDP, resume from a checkpoint
//   accel::Batches batches(acc, dataset.size(), 8);  // this rank's shard, epochs, resume point
//   for (const auto& mb : batches.until(steps)) {
//     auto scope = acc.accumulate();              // one micro-batch; autocast; sync on boundaries
//     auto loss = model->loss(data.get(mb.indices).to(acc.device()));
//     acc.backward(loss);                         // scaled by the real window size
//     acc.clip_grad_norm(1.0);                    // on synchronised gradients only
//     if (acc.step()) acc.log({{"loss", loss.item<double>()}});  // optimizer + scheduler
//   }
//   acc.end_training();
//
// Configuration: every setting resolves as built-in default < config file < ACCEL_* env <
// `accel launch` flags < AcceleratorOptions (code); the main process prints where each value
// came from (see worker/CONFIG.md). Collective methods (prepare, save_state, load_state,
// wait_for_everyone, gather, reduce, main_process_first, step on boundaries) must be called by
// every rank.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>
#include <torch/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "accel/autocast_scope.h"
#include "accel/config.h"
#include "accel/data.h"
#include "accel/preempted.h"

namespace accel {

class AccumulateScope;
class ActivityScope;

enum class ReduceOp { Sum, Mean, Max, Min };


// A hyperparameter for the trackers: a number, a boolean or text, written as it is
// (init_trackers(project, {{"lr", 3e-4}, {"layers", 12}, {"precision", "bf16"}})).
class HParam {
 public:
  HParam(const char* v) : text_(v) {}
  HParam(std::string v) : text_(std::move(v)) {}
  HParam(bool v) : text_(v ? "true" : "false") {}
  template <class T, std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, int> = 0>
  HParam(T v) {
    std::ostringstream o;
    o.precision(17);
    o << v;
    text_ = o.str();
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};
using Hyperparameters = std::map<std::string, HParam>;

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
  // parameters. Call once, on every rank. Takes the module or its holder (GPT, not *GPT).
  void prepare(torch::nn::Module& model, torch::optim::Optimizer& optimizer,
               torch::optim::LRScheduler* scheduler = nullptr);
  template <class M>
  void prepare(torch::nn::ModuleHolder<M>& model, torch::optim::Optimizer& optimizer,
               torch::optim::LRScheduler* scheduler = nullptr) {
    prepare(*model, optimizer, scheduler);
  }
  template <class M>
  void prepare(torch::nn::ModuleHolder<M>& model, torch::optim::Optimizer& optimizer,
               torch::optim::LRScheduler& scheduler) {
    prepare(*model, optimizer, &scheduler);
  }

  // --- the training step ----------------------------------------------------------------
  // Marks where the data is: training resumes at (epoch(), batch_in_epoch()). With the number
  // of micro-batches in the epoch known, the last accumulation window may be short, and its
  // loss is scaled by its real size. accel::Batches calls it; a program with its own data
  // order calls it at the start of every epoch.
  void begin_epoch(int64_t epoch, int64_t num_batches = -1);
  // One micro-batch, for the scope's lifetime: the forward pass runs under autocast for this
  // process's device and precision (nothing for "no"); gradients are all-reduced only on the
  // last micro-batch of a window.
  [[nodiscard]] AccumulateScope accumulate();
  // Autocast alone, for code outside an accumulate() scope (evaluation).
  [[nodiscard]] AutocastScope autocast() const;
  // loss / window size (fp32), scaled for fp16, then backward, outside autocast. Returns the
  // unscaled loss.
  torch::Tensor backward(const torch::Tensor& loss);
  // True on the last micro-batch of a window (gradients are synchronised in this step).
  bool sync_gradients() const;
  // On a synchronising micro-batch: clips the prepared model's gradients (unscaling first
  // under fp16) and returns their total norm. On any other micro-batch it does nothing and
  // returns nullopt: local gradients must not be clipped before they are all-reduced.
  std::optional<double> clip_grad_norm(double max_norm, double norm_type = 2.0);
  // On a boundary: optimizer step (skipped under fp16 on inf/NaN), scheduler step (once, not
  // once per process), zero_grad, counters, periodic checkpoint, metrics, watchdog. Off a
  // boundary: nothing. Returns true when the optimizer stepped. After SIGTERM or SIGINT
  // reached any rank, every rank checkpoints after the same step and throws Preempted.
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
  // For the scope's lifetime the rank is evaluating (validation, sampling): the stall
  // watchdog pauses and /progress says "evaluating", so a long evaluation is not a stall.
  [[nodiscard]] ActivityScope evaluating();
  // Prints its arguments, streamed like std::cout << a << b, as one line on the main process
  // (print_scope=global) or on each node's first process (node): acc.print("step ", n, " loss ", l).
  template <class... Args>
  void print(const Args&... args) const {
    if (!speaks()) return;
    std::ostringstream line;
    (line << ... << args);
    print_line(line.str());
  }

  // --- trackers -------------------------------------------------------------------------
  void init_trackers(const std::string& project_name, const Hyperparameters& hyperparameters = {});
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
  bool speaks() const;  // whether print() prints on this process
  void print_line(const std::string& line) const;
  std::unique_ptr<Impl> impl_;
  friend class AccumulateScope;
};

// Returned by Accelerator::accumulate(); ends the micro-batch (and its autocast) when destroyed.
class AccumulateScope {
 public:
  AccumulateScope(Accelerator::Impl* impl, std::unique_ptr<AutocastScope> autocast);
  AccumulateScope(AccumulateScope&& o) noexcept;
  AccumulateScope(const AccumulateScope&) = delete;
  AccumulateScope& operator=(const AccumulateScope&) = delete;
  ~AccumulateScope();

 private:
  Accelerator::Impl* impl_;
  std::unique_ptr<AutocastScope> autocast_;
};

// Returned by Accelerator::evaluating(); ends the evaluation when destroyed.
class ActivityScope {
 public:
  explicit ActivityScope(Accelerator::Impl* impl, const char* activity);
  ActivityScope(ActivityScope&& o) noexcept;
  ActivityScope(const ActivityScope&) = delete;
  ActivityScope& operator=(const ActivityScope&) = delete;
  ~ActivityScope();

 private:
  Accelerator::Impl* impl_;
};

// Runs a training program's body, mapping failures to the documented exit codes
// (api/EXIT_CODES.md): ConfigError → 78, RendezvousTimeout → 79, a timed-out or aborted
// collective → 80, Preempted → 82, anything else → 1. Use as `int main(...) { return accel::run_main([&]{...}); }`.
int run_main(const std::function<void()>& body);

}  // namespace accel

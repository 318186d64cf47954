// accelerator_impl.h — the state behind accel::Accelerator, shared by accelerator.cpp (the
// training loop) and checkpoint_state.cpp (save_state / load_state). Internal to libaccel.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/optim/schedulers/lr_scheduler.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "accel/accelerator.h"
#include "amp.h"
#include "ddp.h"
#include "preemption.h"
#include "process_group.h"
#include "training_hooks.h"
#include "watchdog.h"

namespace accel {

// Runs a collective; turns a timed-out / aborted collective into CollectiveTimeout.
template <class F>
auto collective(const char* what, F&& f) -> decltype(f()) {
  StallWatchdog::InCollective waiting;
  try {
    return f();
  } catch (const CollectiveTimeout&) {
    throw;
  } catch (const std::exception& e) {
    if (is_collective_timeout(e))
      throw CollectiveTimeout(std::string(what) + " failed: " + e.what());
    throw;
  }
}

struct Accelerator::Impl {
  ResolvedConfig config;
  RankIdentity id;  // config.identity, kept at hand
  torch::Device device{torch::kCPU};
  // A process group exists when there is more than one rank, or when backend nccl is asked for
  // explicitly: then a 1-GPU run goes through NCCL and DDP exactly as a multi-GPU run does.
  bool with_group = false;
  DistributedContext dist;
  std::unique_ptr<DataParallel> ddp;
  std::unique_ptr<GradScaler> scaler;
  std::unique_ptr<StallWatchdog> watchdog;
  std::unique_ptr<TrainingHooks> hooks;  // trackers + metrics
  std::unique_ptr<PreemptionWatch> preemption;  // SIGTERM / SIGINT; null in a second Accelerator
  at::Tensor stop_flag;                         // int32[1] on CPU: this rank's "stop" vote
  c10::intrusive_ptr<c10d::Work> stop_vote;     // the vote of the previous step, in flight
  int activity_depth = 0;                       // nested evaluating() / save scopes

  // Read once from the configuration: used every micro-batch.
  int64_t accumulation = 1;
  int64_t checkpoint_every = 0;
  bool keep_gradient_views = false;  // ddp_gradient_as_bucket_view
  bool autocast_on = false;
  at::ScalarType autocast_dtype = at::kBFloat16;

  torch::nn::Module* model = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
  torch::optim::LRScheduler* scheduler = nullptr;
  std::vector<at::Tensor> params;

  // Counters (all restored by load).
  int64_t completed_steps = 0;
  int64_t scheduler_steps = 0;
  int64_t epoch = 0;
  int64_t batch_in_epoch = 0;
  int64_t num_batches = -1;
  int64_t save_index = 0;
  int64_t last_saved_step = -1;  // the step of the newest checkpoint this run saved or loaded
  bool position_restored = false;

  // The micro-batch in progress.
  bool in_scope = false;
  bool sync = true;
  int64_t window_size = 1;

  struct Custom {
    std::function<std::string()> save;
    std::function<void(const std::string&)> load;
  };
  std::map<std::string, Custom> custom;
  bool ended = false;

  bool distributed() const { return with_group; }
  void barrier(const char* what);
  // Whether `mine` holds on every rank (an all-reduced MIN; on one process, `mine`). A
  // collective: every rank calls it at the same point.
  bool all_ranks(const char* what, bool mine);
  // Whether every rank stops after this step: the all-reduced vote of the previous step
  // (asynchronous, so it costs the step nothing), or this rank's own signal on one process.
  bool stop_agreed();
  // Checkpoints this step (unless it already is) and throws Preempted.
  [[noreturn]] void stop_after_signal();
  // Not training for a while (a save, an evaluation): watchdog paused, /progress says so.
  void begin_activity(const char* activity);
  void end_activity();
  void begin_micro_batch();
  void end_micro_batch() {
    in_scope = false;
    ++batch_in_epoch;
  }

  // checkpoint_state.cpp
  std::string save();
  // save()'s parts: this rank's files (rank 0 also the model, optimizer, scaler and custom
  // state) into the unfinished folder `tmp`, then (rank 0) the manifest and COMPLETE marker.
  // Throw with the path and the reason when a write fails.
  void write_checkpoint_files(const std::string& tmp);
  void write_manifest(const std::string& tmp, int64_t index);
  bool load(const std::string& path);
};

}  // namespace accel

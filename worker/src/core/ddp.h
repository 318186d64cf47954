// ddp.h — data-parallel gradient synchronisation for one module, on c10d's Reducer.
//
// Why the Reducer and not our own autograd hooks: it is the code Python's DDP runs (bucket
// assignment in reverse parameter order with a small first bucket, gradient copies into
// flat buckets, all-reduce launched as soon as a bucket is full, i.e. overlapped with the
// rest of backward, bucket rebuild after the first iteration in the order gradients really
// arrived, unused-parameter detection, static graph, gradient-as-bucket-view). Reimplementing
// that would be a second, less tested copy; see worker/DDP.md for the full argument.
//
// Contract per iteration (what Accelerator does):
//   pre_forward(sync)        before the forward pass
//   backward(loss)           prepares the Reducer when this micro-batch synchronises, runs
//                            backward (the autograd engine runs the Reducer's hooks), then
//                            finishes a first static-graph iteration
// Not preparing the Reducer is exactly no_sync(): gradients accumulate locally.
//
// The Reducer is not usable alone; what Python's DDP module does around it is done here:
//  - a c10d::Logger is attached: the Reducer calls it whenever the set of unused parameters
//    changes (find_unused_parameters) and when it reports an error, and dereferences it
//    without checking;
//  - with static_graph, the first iteration's gradient hooks only count how often each fires,
//    and DDP's forward output wrapper (_DDPSink) queues Reducer::delay_all_reduce() to reduce
//    every bucket at the end of that backward: backward() calls it after loss.backward();
//  - with static_graph, the very first micro-batch always synchronises, even inside an
//    accumulation window. The Reducer (torch 2.11) decides "first iteration" by counting
//    backward passes, so no_sync backwards before the first synchronisation also count their
//    hooks; each parameter then waits for more hooks per step than fire, and from the second
//    step on nothing is all-reduced, silently (pytorch/pytorch#187732, the same bug as
//    huggingface/accelerate#3679). One extra all-reduce in the first window is the price;
//    averaging is linear, so the window's gradient is the same up to float rounding.
// Reducer errors that tell the user to pass find_unused_parameters=True or to call
// _set_static_graph() get a first line naming our settings (ddp_find_unused_parameters,
// ddp_static_graph) instead.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/logger.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/nn/module.h>

namespace accel {

struct DdpOptions {
  int64_t bucket_cap_mb = 25;
  bool gradient_as_bucket_view = false;
  bool static_graph = false;
  bool find_unused_parameters = false;
  // Called (from a communication thread) with each bucket's all-reduce time, launch to
  // completion, in seconds. Empty: not measured.
  std::function<void(double)> on_allreduce;
};

class DataParallel {
 public:
  // Broadcasts parameters and buffers from rank 0 so every replica starts identical, then
  // builds the Reducer over the module's trainable parameters.
  DataParallel(torch::nn::Module& module, c10::intrusive_ptr<c10d::ProcessGroup> group,
               const DdpOptions& options);
  ~DataParallel();

  // `sync`: this micro-batch ends an accumulation window (gradients must be all-reduced).
  void pre_forward(bool sync);
  // loss.backward(), with the Reducer armed when the last pre_forward synchronises.
  void backward(const at::Tensor& loss);

  const std::vector<at::Tensor>& parameters() const { return params_; }

 private:
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::vector<at::Tensor> params_;
  std::shared_ptr<c10d::Reducer> reducer_;
  std::shared_ptr<c10d::Logger> logger_;  // declared after reducer_: destroyed first
  DdpOptions options_;
  int64_t sync_iterations_ = 0;  // synchronising forwards so far (the Reducer's iteration count)
  bool sync_now_ = false;        // the current micro-batch synchronises
};

// Broadcasts every tensor from rank 0 in place (parameters at start-up, restored state).
void broadcast_from_rank0(c10d::ProcessGroup& group, std::vector<at::Tensor> tensors);

}  // namespace accel

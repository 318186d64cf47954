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
//   pre_backward(outputs)    after forward, only when this iteration synchronises
//   backward()               the autograd engine runs the Reducer's hooks
// Skipping pre_backward is exactly no_sync(): gradients accumulate locally.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
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

  void pre_forward(bool sync);
  void pre_backward(const std::vector<at::Tensor>& outputs);

  // Number of gradient buckets (after the first iteration: the rebuilt assignment).
  size_t bucket_count() const;
  const std::vector<at::Tensor>& parameters() const { return params_; }

 private:
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<c10d::Reducer> reducer_;
  DdpOptions options_;
};

// Broadcasts every tensor from rank 0 in place (parameters at start-up, restored state).
void broadcast_from_rank0(c10d::ProcessGroup& group, std::vector<at::Tensor> tensors);

}  // namespace accel

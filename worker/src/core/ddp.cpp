#include "ddp.h"

#include <torch/autograd.h>
#include <torch/csrc/distributed/c10d/comm.hpp>

#include <chrono>
#include <stdexcept>
#include <string>

namespace accel {

namespace {

// The Reducer's default all-reduce (average over ranks) plus a timer: the bucket's buffer is
// divided by the world size and summed across ranks; the callback sees launch → completion.
class TimedAllReduceHook final : public c10d::CommHookInterface {
 public:
  TimedAllReduceHook(c10::intrusive_ptr<c10d::ProcessGroup> group,
                     std::function<void(double)> observe)
      : group_(std::move(group)), observe_(std::move(observe)) {}

  c10::intrusive_ptr<c10::ivalue::Future> runHook(c10d::GradBucket& bucket) override {
    auto tensor = bucket.getBufferRef();
    tensor.div_(group_->getSize());
    std::vector<at::Tensor> tensors{tensor};
    const auto start = std::chrono::steady_clock::now();
    auto future = group_->allreduce(tensors)->getFuture();
    auto observe = observe_;
    // Chained, not a side callback: the Reducer waits for the returned future, so the
    // observation has finished before backward returns and before the Accelerator (which owns
    // what `observe` reports to) can be destroyed. A side callback could still be running on
    // Gloo's thread, or start there when a timed-out all-reduce fails, after the main thread
    // unwound: a use-after-free (SIGSEGV instead of exit code 80). A failed all-reduce is not
    // observed; its error passes to the Reducer through value().
    return future->then(
        [start, observe](c10::ivalue::Future& done) -> c10::IValue {
          if (!done.hasError())
            observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
          return done.value();
        },
        future->elementType());
  }

  at::Tensor parseHookResult(const c10::IValue& result) override {
    return c10d::detail::parseCppCommHookResult(result);
  }

 private:
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::function<void(double)> observe_;
};

// The Reducer's own advice names Python's DDP arguments; ours are settings.
std::string setting_hint(const std::string& what) {
  if (what.find("Expected to have finished reduction in the prior iteration") != std::string::npos)
    return "some parameters received no gradient in the previous synchronising step (a part of "
           "the model not used in forward). Set ddp_find_unused_parameters: true (config file, "
           "ACCEL_DDP_FIND_UNUSED_PARAMETERS or accel launch --ddp_find_unused_parameters=true); "
           "c10d's message below calls it find_unused_parameters=True.";
  if (what.find("Expected to mark a variable ready only once") != std::string::npos)
    return "a parameter's gradient hook fired twice for one synchronisation. If a parameter is "
           "used by several reentrant backward passes (e.g. activation checkpointing) and the "
           "graph is the same every step, set ddp_static_graph: true (c10d's "
           "_set_static_graph() below); if some parameters are unused on some steps, set "
           "ddp_find_unused_parameters: true.";
  return "";
}

// Runs f; a Reducer error with a known cause is rethrown with our settings named first.
template <class F>
void with_setting_hint(F&& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    const std::string what = e.what_without_backtrace();
    const std::string hint = setting_hint(what);
    if (hint.empty()) throw;
    throw std::runtime_error("DDP: " + hint + "\n" + what);
  }
}

}  // namespace

void broadcast_from_rank0(c10d::ProcessGroup& group, std::vector<at::Tensor> tensors) {
  if (group.getSize() <= 1 || tensors.empty()) return;
  // One flat buffer per dtype keeps this to a handful of collectives.
  std::map<c10::ScalarType, std::vector<at::Tensor>> by_type;
  for (auto& t : tensors) by_type[t.scalar_type()].push_back(t);
  for (auto& [type, group_tensors] : by_type) {
    std::vector<at::Tensor> flat{torch::cat(
        [&] {
          std::vector<at::Tensor> v;
          for (auto& t : group_tensors) v.push_back(t.detach().reshape(-1));
          return v;
        }())};
    c10d::BroadcastOptions opts;
    opts.rootRank = 0;
    group.broadcast(flat, opts)->wait();
    int64_t offset = 0;
    torch::NoGradGuard no_grad;
    for (auto& t : group_tensors) {
      auto n = t.numel();
      t.copy_(flat[0].narrow(0, offset, n).view_as(t));
      offset += n;
    }
  }
}

DataParallel::DataParallel(torch::nn::Module& module,
                           c10::intrusive_ptr<c10d::ProcessGroup> group, const DdpOptions& options)
    : group_(std::move(group)), options_(options) {
  for (auto& p : module.parameters())
    if (p.requires_grad()) params_.push_back(p);
  std::vector<at::Tensor> state = module.parameters();
  for (auto& b : module.buffers()) state.push_back(b);
  broadcast_from_rank0(*group_, state);

  const int64_t cap = options.bucket_cap_mb * 1024 * 1024;
  const int64_t first_cap = std::min<int64_t>(c10d::kDefaultFirstBucketBytes, cap);
  std::vector<bool> sparse(params_.size(), false);
  // As torch's DDP: assign buckets in reverse order of registration (gradients of the last
  // layers arrive first), the first bucket small so communication starts early.
  std::vector<at::Tensor> reversed(params_.rbegin(), params_.rend());
  std::vector<int64_t> reversed_index(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) reversed_index[i] = int64_t(params_.size() - 1 - i);
  auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(
      reversed, {static_cast<size_t>(first_cap), static_cast<size_t>(cap)}, sparse,
      reversed_index);
  std::unordered_map<size_t, std::string> names;
  size_t i = 0;
  for (auto& item : module.named_parameters())
    if (item.value().requires_grad()) names[i++] = item.key();
  reducer_ = std::make_shared<c10d::Reducer>(
      params_, buckets, group_, sparse, cap, options.find_unused_parameters,
      options.gradient_as_bucket_view, names, first_cap,
      /*skip_all_reduce_unused_params=*/false, /*use_python_reducer=*/false,
      /*bucket_bytes_cap_list=*/std::vector<int64_t>{});
  if (options.on_allreduce)
    reducer_->register_comm_hook(std::make_unique<TimedAllReduceHook>(group_, options.on_allreduce));
  logger_ = std::make_shared<c10d::Logger>(reducer_);
  reducer_->set_logger(logger_);
  if (!params_.empty())
    logger_->set_construction_data_and_log(module.name(), /*device_ids=*/{}, /*output_device=*/-1,
                                           /*broadcast_buffers=*/true, /*has_sync_bn=*/false,
                                           options.static_graph);
  if (options.static_graph) {
    reducer_->set_static_graph();
    logger_->set_static_graph();
  }
}

DataParallel::~DataParallel() = default;

void DataParallel::pre_forward(bool sync) {
  // A static graph's first iteration must be a single backward (see ddp.h).
  if (options_.static_graph && sync_iterations_ == 0) sync = true;
  sync_now_ = sync && torch::GradMode::is_enabled();
  if (!sync_now_) return;
  with_setting_hint([&] {
    reducer_->rebuild_buckets();
    reducer_->prepare_for_forward();
  });
  ++sync_iterations_;
}

void DataParallel::backward(const at::Tensor& loss) {
  const bool sync = sync_now_;
  sync_now_ = false;
  with_setting_hint([&] {
    if (sync) {
      // Searching the graph for unused parameters needs the outputs; a static graph knows them
      // from its first iteration.
      if (options_.find_unused_parameters && !options_.static_graph)
        reducer_->prepare_for_backward({loss});
      else
        reducer_->prepare_for_backward({});
    }
    loss.backward();
    // A static graph's first iteration only counted hooks: reduce every bucket now.
    if (sync && options_.static_graph && sync_iterations_ == 1) reducer_->delay_all_reduce();
  });
}


}  // namespace accel

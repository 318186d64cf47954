// accelerator.cpp — accel::Accelerator: configuration, device and process group, the
// micro-batch / step cycle, collectives, printing and trackers. Saving and loading the training
// state is checkpoint_state.cpp; what differs between the CPU and CUDA builds is gpu.h.
#include "accel/accelerator.h"

#include <ATen/autocast_mode.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/torch.h>
#include <csignal>

#include <csignal>
#include <cstdlib>
#include <iostream>

#include "accel/api/exit_codes.h"
#include "accelerator_impl.h"
#include "checkpoint_io.h"
#include "device_plan.h"
#include "failure.h"
#include "gpu.h"
#include "host_memory.h"

namespace accel {

namespace {

// Optimizer::zero_grad(false) calls detach_() on every gradient, which a view cannot do: with
// ddp_gradient_as_bucket_view the gradients are views into DDP's buckets and must stay those
// views (set_to_none would drop them, the copy they avoid would come back). As Python's
// Optimizer.zero_grad: detach only a gradient that has a graph, then zero it in place.
void zero_gradients(torch::optim::Optimizer& optimizer, bool set_to_none) {
  torch::NoGradGuard no_grad;
  for (auto& group : optimizer.param_groups())
    for (auto& p : group.params()) {
      auto& grad = p.mutable_grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        grad.reset();
        continue;
      }
      if (grad.grad_fn()) grad.detach_();
      grad.zero_();
    }
}

}  // namespace

void Accelerator::Impl::barrier(const char* what) {
  if (!distributed()) return;
  collective(what, [&] {
    c10d::BarrierOptions o;
    dist.group->barrier(o)->wait();
    return 0;
  });
}

bool Accelerator::Impl::all_ranks(const char* what, bool mine) {
  if (!distributed()) return mine;
  auto t = torch::tensor({mine ? 1 : 0}, torch::kInt32);
  std::vector<at::Tensor> v{t};
  c10d::AllreduceOptions o;
  o.reduceOp = c10d::ReduceOp::MIN;
  collective(what, [&] {
    dist.control->allreduce(v, o)->wait();
    return 0;
  });
  return t.item<int32_t>() == 1;
}

// ------------------------------------------------------------------------------------------

Accelerator::Accelerator(const AcceleratorOptions& options) : impl_(std::make_unique<Impl>()) {
  // A file size limit (RLIMIT_FSIZE) then fails the write with EFBIG, which a checkpoint save
  // reports with its path (CheckpointWriteError, exit 84), instead of killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  auto& m = *impl_;
  // Everything from the environment comes through the configuration: the keys, who this rank
  // is, the tracker settings and the few other variables libaccel honours (config.h).
  m.config = resolve_config(ConfigInputs::from_process(options));
  const ResolvedConfig& c = m.config;
  m.id = c.identity;
  m.accumulation = c.gradient_accumulation_steps();
  m.checkpoint_every = c.checkpoint_every_steps();
  m.keep_gradient_views = c.ddp_gradient_as_bucket_view();
  m.autocast_on = c.mixed_precision() != "no";
  m.autocast_dtype = c.mixed_precision() == "bf16" ? at::kBFloat16 : at::kHalf;
  install_terminate_handler(m.id.rank);
  if (!PreemptionWatch::installed())
    m.preemption = std::make_unique<PreemptionWatch>(
        m.id.rank, std::chrono::seconds(c.termination_grace_seconds()));

  // Device and backend: the rules are device_plan.h's pure functions; gpu.h says what this
  // build of libaccel and this machine can see.
  DeviceRequest want;
  want.cpu = {c.cpu() ? "true" : "false", c.origin_of("cpu")};
  want.backend = {c.backend(), c.origin_of("backend")};
  want.mixed_precision = {c.mixed_precision(), c.origin_of("mixed_precision")};
  want.gpus_per_node = {std::to_string(c.gpus_per_node()), c.origin_of("gpus_per_node")};
  want.local_rank = m.id.local_rank;
  want.local_world_size = m.id.local_world_size;
  const gpu::DeviceProbe probe = c.cpu() ? gpu::DeviceProbe{} : gpu::probe_devices();
  const DevicePlan plan =
      plan_device(want, probe.count, probe.why_none, DeviceEnv::from(c.environment));
  if (plan.cuda) {
    m.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(plan.device_index));
    gpu::set_current_device(plan.device_index);
    gpu::set_tf32(c.allow_tf32());
  }
  m.with_group = m.id.world_size > 1 || c.backend() == "nccl";
  if (m.id.rank == 0) {
    std::cout << "[accel] device " << m.device.str() << " (libaccel " << gpu::build_description()
              << "), backend "
              << (m.distributed() ? plan.backend
                                  : std::string("none (1 process, no process group)"))
              << std::endl;
    if (!plan.note.empty()) std::cout << "[accel] " << plan.note << std::endl;
  }
  if (c.mixed_precision() == "fp16") m.scaler = std::make_unique<GradScaler>(m.device);
  if (c.num_cpu_threads_per_process() > 0) at::set_num_threads(c.num_cpu_threads_per_process());
  const HostMallocPlan malloc_plan = plan_host_malloc(c.host_malloc_tuning(), c.environment);
  if (malloc_plan.apply) apply_host_malloc_thresholds();
  if (!malloc_plan.note.empty() && m.id.rank == 0)
    std::cout << "[accel] " << malloc_plan.note << std::endl;
  torch::manual_seed(static_cast<uint64_t>(c.seed()));

  if (m.id.rank == 0 && !c.python_program && c.dynamo_backend() != "no")
    std::cout << "[accel] dynamo_backend " << c.dynamo_backend() << " ("
              << c.origin_of("dynamo_backend")
              << ") does not apply to this program: torch dynamo compiles Python models (the accel "
                 "Python "
                 "package); a C++ program runs its LibTorch model as it is"
              << std::endl;
  if (m.id.rank == 0) {
    std::cout << "[accel] configuration (lowest to highest precedence: default < config file < "
                 "environment < launch flag < code)\n"
              << explain_table(c) << std::flush;
  }

  if (m.distributed()) {
    ProcessGroupOptions pg;
    pg.master_addr = m.id.master_addr;
    pg.master_port = m.id.master_port;
    pg.rank = m.id.rank;
    pg.world_size = m.id.world_size;
    pg.backend = plan.backend;
    pg.timeout = std::chrono::seconds(c.pg_timeout_seconds());
    pg.rendezvous_timeout = std::chrono::seconds(c.rendezvous_timeout_seconds());
    pg.device_index = plan.device_index;
    if (auto it = c.environment.find("GLOO_SOCKET_IFNAME"); it != c.environment.end())
      pg.gloo_interface = it->second;
    if (plan.backend == "nccl") {
      NcclSettings nccl;
      nccl.trace_entries = c.flight_recorder_entries();
      nccl.trace_dir = flight_recorder_attempt_dir(c.flight_recorder_dir(), c.restart_count());
      if (nccl.trace_entries > 0) make_dirs(nccl.trace_dir);
      // What the user exported themselves wins (overwrite = 0).
      for (const auto& [name, value] : nccl_environment(nccl))
        ::setenv(name.c_str(), value.c_str(), 0);
    }
    m.dist = init_process_group(pg);
    m.stop_flag = torch::zeros({1}, torch::kInt32);
  }
  m.watchdog =
      std::make_unique<StallWatchdog>(std::chrono::seconds(c.stall_timeout_seconds()), m.id.rank);
  m.hooks = make_training_hooks(c, m.device);
}

Accelerator::~Accelerator() {
  try {
    end_training(std::uncaught_exceptions() == 0);
  } catch (const std::exception& e) {
    std::cerr << "[accel] end_training failed: " << e.what() << std::endl;
  }
}

int Accelerator::process_index() const { return impl_->id.rank; }
int Accelerator::local_process_index() const { return impl_->id.local_rank; }
int Accelerator::num_processes() const { return impl_->id.world_size; }
int Accelerator::node_rank() const { return impl_->id.node_rank; }
bool Accelerator::is_main_process() const { return impl_->id.rank == 0; }
bool Accelerator::is_local_main_process() const { return impl_->id.local_rank == 0; }
torch::Device Accelerator::device() const { return impl_->device; }
const ResolvedConfig& Accelerator::config() const { return impl_->config; }
std::string Accelerator::mixed_precision() const { return impl_->config.mixed_precision(); }
int Accelerator::gradient_accumulation_steps() const {
  return static_cast<int>(impl_->accumulation);
}

void Accelerator::prepare(torch::nn::Module& model, torch::optim::Optimizer& optimizer,
                          torch::optim::LRScheduler* scheduler) {
  auto& m = *impl_;
  if (m.model) throw std::logic_error("Accelerator::prepare called twice");
  model.to(m.device);
  m.model = &model;
  m.optimizer = &optimizer;
  m.scheduler = scheduler;
  for (auto& p : model.parameters())
    if (p.requires_grad()) m.params.push_back(p);
  if (m.distributed()) {
    DdpOptions d;
    d.bucket_cap_mb = m.config.ddp_bucket_cap_mb();
    d.gradient_as_bucket_view = m.keep_gradient_views;
    d.static_graph = m.config.ddp_static_graph();
    d.find_unused_parameters = m.config.ddp_find_unused_parameters();
    TrainingHooks* hooks = m.hooks.get();
    d.on_allreduce = [hooks](double seconds) { hooks->on_allreduce(seconds); };
    collective("broadcast of initial parameters", [&] {
      m.ddp = std::make_unique<DataParallel>(model, m.dist.group, d);
      return 0;
    });
  }
  if (latest_checkpoint(m.config.checkpoint_dir())) load_state();
  m.hooks->on_prepared(m.completed_steps);
  m.watchdog->arm();
  if (m.preemption) m.preemption->training_started();
}

void Accelerator::begin_epoch(int64_t epoch, int64_t num_batches) {
  auto& m = *impl_;
  if (!(m.position_restored && epoch == m.epoch)) m.batch_in_epoch = 0;
  m.position_restored = false;
  m.epoch = epoch;
  m.num_batches = num_batches;
}

void Accelerator::Impl::begin_micro_batch() {
  if (in_scope) throw std::logic_error("Accelerator::accumulate: the previous scope is still open");
  in_scope = true;
  const int64_t k = accumulation;
  const int64_t start = (batch_in_epoch / k) * k;
  window_size = k;
  if (num_batches > 0)
    window_size = std::max<int64_t>(1, std::min<int64_t>(k, num_batches - start));
  sync = (batch_in_epoch - start + 1) >= window_size;
  hooks->on_micro_batch_start();
  if (ddp) ddp->pre_forward(sync);
}

AccumulateScope Accelerator::accumulate() {
  impl_->begin_micro_batch();
  auto& m = *impl_;
  return AccumulateScope(
      impl_.get(),
      m.autocast_on ? std::make_unique<AutocastScope>(m.device.type(), m.autocast_dtype) : nullptr);
}

AccumulateScope::AccumulateScope(Accelerator::Impl* impl, std::unique_ptr<AutocastScope> autocast)
    : impl_(impl), autocast_(std::move(autocast)) {}
AccumulateScope::AccumulateScope(AccumulateScope&& o) noexcept
    : impl_(o.impl_), autocast_(std::move(o.autocast_)) {
  o.impl_ = nullptr;
}
AccumulateScope::~AccumulateScope() {
  autocast_.reset();
  if (impl_) impl_->end_micro_batch();
}

AutocastScope Accelerator::autocast() const {
  const auto& m = *impl_;
  return AutocastScope(m.device.type(), m.autocast_dtype, m.autocast_on);
}

torch::Tensor Accelerator::backward(const torch::Tensor& loss) {
  auto& m = *impl_;
  // Backward runs outside autocast, as PyTorch recommends: its ops take the dtypes their
  // forward ops had. The accumulate() scope's autocast resumes afterwards.
  const auto type = m.device.type();
  const bool was = at::autocast::is_autocast_enabled(type);
  if (was) at::autocast::set_autocast_enabled(type, false);
  struct Restore {
    c10::DeviceType type;
    bool was;
    ~Restore() {
      if (was) at::autocast::set_autocast_enabled(type, true);
    }
  } restore{type, was};
  auto full = loss.to(torch::kFloat);
  auto scaled = full / static_cast<double>(m.window_size);
  if (m.scaler) scaled = m.scaler->scale(scaled);
  collective("backward (gradient all-reduce)", [&] {
    if (m.ddp)
      m.ddp->backward(scaled);
    else
      scaled.backward();
    return 0;
  });
  return full.detach();
}

bool Accelerator::sync_gradients() const { return impl_->sync; }

std::optional<double> Accelerator::clip_grad_norm(double max_norm, double norm_type) {
  auto& m = *impl_;
  if (!m.sync) return std::nullopt;
  if (m.scaler) m.scaler->unscale(m.params);
  double norm = torch::nn::utils::clip_grad_norm_(m.params, max_norm, norm_type);
  m.hooks->on_grad_norm(norm);
  return norm;
}

bool Accelerator::step() {
  auto& m = *impl_;
  if (!m.optimizer) throw std::logic_error("Accelerator::step before prepare");
  if (!m.sync) return false;
  bool stepped = true;
  if (m.scaler) {
    stepped = !m.scaler->should_skip(m.params);
    if (stepped) m.optimizer->step();
    m.scaler->update();
  } else {
    m.optimizer->step();
  }
  if (stepped && m.scheduler) {
    m.scheduler->step();
    ++m.scheduler_steps;
  }
  zero_gradients(*m.optimizer, /*set_to_none=*/!m.keep_gradient_views);
  ++m.completed_steps;
  m.watchdog->step_completed(m.completed_steps);
  double lr =
      m.optimizer->param_groups().empty() ? 0.0 : m.optimizer->param_groups()[0].options().get_lr();
  m.hooks->on_step(m.completed_steps, m.window_size, lr,
                   m.scaler ? m.scaler->current_scale() : 1.0);
  if (m.stop_agreed()) m.stop_after_signal();
  if (m.checkpoint_every > 0 && m.completed_steps % m.checkpoint_every == 0) save_state();
  return stepped;
}

bool Accelerator::Impl::stop_agreed() {
  const bool mine = preemption && preemption->requested();
  if (!distributed()) return mine;
  bool stop = false;
  if (stop_vote) {
    collective("the stop vote (all-reduce)", [&] {
      stop_vote->wait();
      return 0;
    });
    stop_vote.reset();
    stop = stop_flag.item<int32_t>() != 0;
  }
  if (!stop) {
    stop_flag.fill_(mine ? 1 : 0);
    std::vector<at::Tensor> vote{stop_flag};
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::MAX;
    stop_vote = dist.control->allreduce(vote, o);
  }
  return stop;
}

void Accelerator::Impl::stop_after_signal() {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string path = last_saved_step == completed_steps
                               ? checkpoint_path(config.checkpoint_dir(), completed_steps)
                               : save();
  const double save_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double since_signal = preemption ? preemption->seconds_since_signal() : 0.0;
  if (preemption) preemption->stopped();
  const std::string what =
      "stopped after step " + std::to_string(completed_steps) + " with checkpoint " + path;
  if (id.rank == 0 || since_signal > 0) {
    std::ostringstream line;  // one write: ranks share the terminal
    line << "[accel] rank " << id.rank << ": " << what << " (saved in " << save_s << " s";
    if (since_signal > 0) line << "; " << since_signal << " s after this rank's stop signal";
    line << "); exiting " << static_cast<int>(api::ExitCode::Preempted) << " (Preempted)\n";
    std::cerr << line.str() << std::flush;
  }
  throw Preempted(what);
}

void Accelerator::Impl::begin_activity(const char* activity) {
  if (activity_depth++ == 0) hooks->set_activity(activity);
  watchdog->pause();
}

void Accelerator::Impl::end_activity() {
  watchdog->resume();
  if (--activity_depth == 0) hooks->set_activity("training");
}

ActivityScope Accelerator::evaluating() { return ActivityScope(impl_.get(), "evaluating"); }

ActivityScope::ActivityScope(Accelerator::Impl* impl, const char* activity) : impl_(impl) {
  impl_->begin_activity(activity);
}
ActivityScope::ActivityScope(ActivityScope&& o) noexcept : impl_(o.impl_) { o.impl_ = nullptr; }
ActivityScope::~ActivityScope() {
  if (impl_) impl_->end_activity();
}

int64_t Accelerator::completed_steps() const { return impl_->completed_steps; }
void Accelerator::set_batch_shape(int64_t samples, int64_t tokens) {
  impl_->hooks->set_batch_shape(samples, tokens);
}
void Accelerator::set_total_steps(int64_t total) { impl_->hooks->set_total_steps(total); }
int Accelerator::metrics_port() const { return impl_->hooks->metrics_port(); }
int64_t Accelerator::epoch() const { return impl_->epoch; }
int64_t Accelerator::batch_in_epoch() const { return impl_->batch_in_epoch; }

void Accelerator::wait_for_everyone() { impl_->barrier("wait_for_everyone"); }

torch::Tensor Accelerator::gather(const torch::Tensor& t) {
  auto& m = *impl_;
  if (!m.distributed()) return t.clone();
  return collective("gather", [&] {
    std::vector<std::vector<at::Tensor>> out(1);
    for (int i = 0; i < m.id.world_size; ++i) out[0].push_back(torch::empty_like(t));
    std::vector<at::Tensor> in{t.contiguous()};
    m.dist.group->allgather(out, in)->wait();
    return torch::cat(out[0], 0);
  });
}

torch::Tensor Accelerator::reduce(const torch::Tensor& t, ReduceOp op) {
  auto& m = *impl_;
  auto r = t.clone();
  if (!m.distributed()) return r;
  return collective("reduce", [&] {
    c10d::AllreduceOptions o;
    o.reduceOp = op == ReduceOp::Max   ? c10d::ReduceOp::MAX
                 : op == ReduceOp::Min ? c10d::ReduceOp::MIN
                                       : c10d::ReduceOp::SUM;
    std::vector<at::Tensor> v{r};
    m.dist.group->allreduce(v, o)->wait();
    if (op == ReduceOp::Mean) r.div_(m.id.world_size);
    return r;
  });
}

void Accelerator::main_process_first(const std::function<void()>& f) {
  if (!is_main_process()) wait_for_everyone();
  f();
  if (is_main_process()) wait_for_everyone();
}

bool Accelerator::speaks() const {
  const auto& m = *impl_;
  return m.config.print_scope() == "node" ? m.id.local_rank == 0 : m.id.rank == 0;
}

void Accelerator::print_line(const std::string& line) const { std::cout << line << std::endl; }

void Accelerator::init_trackers(const std::string& project_name,
                                const Hyperparameters& hyperparameters) {
  std::map<std::string, std::string> text;
  for (const auto& [k, v] : hyperparameters) text[k] = v.text();
  impl_->hooks->init_trackers(project_name, text);
}

void Accelerator::log(const std::map<std::string, double>& values, std::optional<int64_t> step) {
  impl_->hooks->log(values, step.value_or(impl_->completed_steps));
}

void Accelerator::end_training(bool success) {
  auto& m = *impl_;
  if (m.ended) return;
  m.ended = true;
  // Training is over: a stop signal that arrived meanwhile has nothing left to save.
  if (m.preemption) m.preemption->stopped();
  m.hooks->finish(success);
}

void Accelerator::register_for_checkpointing(const std::string& name,
                                             std::function<std::string()> save,
                                             std::function<void(const std::string&)> load) {
  impl_->custom[name] = {std::move(save), std::move(load)};
}

std::string Accelerator::save_state() { return impl_->save(); }
bool Accelerator::load_state(const std::string& path) { return impl_->load(path); }

// --- exit codes -----------------------------------------------------------------------------

int run_main(const std::function<void()>& body) {
  try {
    body();
    return 0;
  } catch (...) {
    const Failure f = classify_failure(std::current_exception());
    // One write (ranks and the launcher share stderr; pieces would interleave with theirs).
    std::cerr << ("[accel] " + f.kind + ": " + f.message + "\n") << std::flush;
    return f.exit_code;
  }
}

}  // namespace accel

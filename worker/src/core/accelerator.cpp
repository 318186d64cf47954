#include "accel/accelerator.h"

#include <ATen/core/Generator.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/serialize.h>
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "amp.h"
#include "checkpoint_io.h"
#include "ddp.h"
#include "device_plan.h"
#include "failure.h"
#include "gpu.h"
#include "process_group.h"
#include "settings.h"
#include "training_hooks.h"
#include "watchdog.h"

namespace accel {

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  try {
    return std::stoi(v);
  } catch (...) {
    throw ConfigError(std::string(name) + ": '" + v + "' from the environment is not an integer");
  }
}

std::string env_str(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// Runs a collective; converts a timed-out / aborted collective into CollectiveTimeout.
template <class F>
auto collective(const char* what, F&& f) -> decltype(f()) {
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

struct Accelerator::Impl {
  ResolvedConfig config;
  Settings s;
  int rank = 0, world = 1, local_rank = 0, local_world = 1, node = 0;
  torch::Device device{torch::kCPU};
  DistributedContext dist;
  std::unique_ptr<DataParallel> ddp;
  std::unique_ptr<GradScaler> scaler;
  std::unique_ptr<StallWatchdog> watchdog;
  std::unique_ptr<TrainingHooks> hooks;  // trackers + metrics

  torch::nn::Module* model = nullptr;
  torch::optim::Optimizer* optimizer = nullptr;
  torch::optim::LRScheduler* scheduler = nullptr;
  std::vector<at::Tensor> params;

  // Counters (all restored by load_state).
  int64_t completed_steps = 0;
  int64_t scheduler_steps = 0;
  int64_t epoch = 0;
  int64_t batch_in_epoch = 0;
  int64_t num_batches = -1;
  int64_t save_index = 0;
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

  // A process group exists when there is more than one rank, or when backend nccl is asked for
  // explicitly: then a 1-GPU run goes through NCCL and DDP exactly as a multi-GPU run does.
  bool with_group = false;
  bool distributed() const { return with_group; }
  at::ScalarType amp_dtype() const {
    return s.mixed_precision == "bf16" ? at::kBFloat16 : at::kHalf;
  }

  void barrier(const char* what) {
    if (!distributed()) return;
    collective(what, [&] {
      c10d::BarrierOptions o;
      dist.group->barrier(o)->wait();
      return 0;
    });
  }

  void begin_micro_batch();
  void end_micro_batch() {
    in_scope = false;
    ++batch_in_epoch;
  }
  std::string save();
  bool load(const std::string& path);
};

// ------------------------------------------------------------------------------------------

Accelerator::Accelerator(const AcceleratorOptions& options) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  ConfigInputs inputs = ConfigInputs::from_process(options);
  m.config = resolve_config(inputs);
  m.s = settings_from(m.config);

  m.world = env_int("WORLD_SIZE", 1);
  m.rank = env_int("RANK", 0);
  m.local_rank = env_int("LOCAL_RANK", m.rank);
  m.local_world = env_int("LOCAL_WORLD_SIZE", m.world);
  m.node = env_int("NODE_RANK", 0);
  if (m.rank < 0 || m.rank >= m.world)
    throw ConfigError("RANK " + std::to_string(m.rank) + " is outside WORLD_SIZE " +
                      std::to_string(m.world));

  install_terminate_handler(m.rank);

  // Device and backend: the rules are device_plan.h's pure functions; gpu.h says what this
  // build of libaccel and this machine can see.
  DeviceRequest want;
  want.cpu = {m.s.cpu ? "true" : "false", m.config.origin_of("cpu")};
  want.backend = {m.s.backend, m.config.origin_of("backend")};
  want.mixed_precision = {m.s.mixed_precision, m.config.origin_of("mixed_precision")};
  want.gpus_per_node = {std::to_string(m.config.gpus_per_node()),
                        m.config.origin_of("gpus_per_node")};
  want.local_rank = m.local_rank;
  want.local_world_size = m.local_world;
  const gpu::DeviceProbe probe = m.s.cpu ? gpu::DeviceProbe{} : gpu::probe_devices();
  const DevicePlan plan =
      plan_device(want, probe.count, probe.why_none, DeviceEnv::from(process_environment()));
  if (plan.cuda) {
    m.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(plan.device_index));
    gpu::set_current_device(plan.device_index);
    gpu::set_tf32(m.config.allow_tf32());
  }
  m.with_group = m.world > 1 || m.s.backend == "nccl";
  if (m.rank == 0) {
    std::cout << "[accel] device " << m.device.str() << " (libaccel " << gpu::build_description()
              << "), backend " << (m.distributed() ? plan.backend : std::string("none (1 process, no process group)"))
              << std::endl;
    if (!plan.note.empty()) std::cout << "[accel] " << plan.note << std::endl;
  }
  if (m.s.mixed_precision == "fp16") m.scaler = std::make_unique<GradScaler>(m.device);
  if (m.s.num_cpu_threads_per_process > 0) at::set_num_threads(m.s.num_cpu_threads_per_process);
  torch::manual_seed(static_cast<uint64_t>(m.s.seed));

  if (m.rank == 0) {
    std::cout << "[accel] configuration (lowest to highest precedence: default < config file < "
                 "environment < launch flag < code)\n"
              << explain_table(m.config) << std::flush;
  }

  if (m.distributed()) {
    ProcessGroupOptions pg;
    pg.master_addr = env_str("MASTER_ADDR", m.s.main_process_ip);
    pg.master_port = env_int("MASTER_PORT", m.s.main_process_port);
    pg.rank = m.rank;
    pg.world_size = m.world;
    pg.backend = plan.backend;
    pg.timeout = std::chrono::seconds(m.s.pg_timeout_seconds);
    pg.rendezvous_timeout = std::chrono::seconds(m.s.rendezvous_timeout_seconds);
    pg.device_index = plan.device_index;
    if (plan.backend == "nccl") {
      NcclSettings nccl;
      nccl.trace_entries = m.config.flight_recorder_entries();
      nccl.trace_dir = flight_recorder_attempt_dir(m.config.flight_recorder_dir(),
                                                   m.s.restart_count);
      if (nccl.trace_entries > 0) make_dirs(nccl.trace_dir);
      // What the user exported themselves wins (overwrite = 0).
      for (const auto& [name, value] : nccl_environment(nccl)) ::setenv(name.c_str(), value.c_str(), 0);
    }
    m.dist = init_process_group(pg);
  }
  m.watchdog = std::make_unique<StallWatchdog>(std::chrono::seconds(m.s.stall_timeout_seconds), m.rank);
  m.hooks = make_training_hooks(m.s, m.rank, m.world, m.node, m.local_rank, m.device);
}

Accelerator::~Accelerator() {
  try {
    end_training(std::uncaught_exceptions() == 0);
  } catch (const std::exception& e) {
    std::cerr << "[accel] end_training failed: " << e.what() << std::endl;
  }
}

int Accelerator::process_index() const { return impl_->rank; }
int Accelerator::local_process_index() const { return impl_->local_rank; }
int Accelerator::num_processes() const { return impl_->world; }
int Accelerator::node_rank() const { return impl_->node; }
bool Accelerator::is_main_process() const { return impl_->rank == 0; }
bool Accelerator::is_local_main_process() const { return impl_->local_rank == 0; }
torch::Device Accelerator::device() const { return impl_->device; }
const ResolvedConfig& Accelerator::config() const { return impl_->config; }
std::string Accelerator::mixed_precision() const { return impl_->s.mixed_precision; }
int Accelerator::gradient_accumulation_steps() const { return impl_->s.gradient_accumulation_steps; }

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
    d.bucket_cap_mb = m.s.ddp_bucket_cap_mb;
    d.gradient_as_bucket_view = m.s.ddp_gradient_as_bucket_view;
    d.static_graph = m.s.ddp_static_graph;
    d.find_unused_parameters = m.s.ddp_find_unused_parameters;
    TrainingHooks* hooks = m.hooks.get();
    d.on_allreduce = [hooks](double seconds) { hooks->on_allreduce(seconds); };
    collective("broadcast of initial parameters", [&] {
      m.ddp = std::make_unique<DataParallel>(model, m.dist.group, d);
      return 0;
    });
  }
  if (latest_checkpoint(m.s.checkpoint_dir)) load_state();
  m.hooks->on_prepared(m.completed_steps);
  m.watchdog->arm();
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
  const int64_t k = s.gradient_accumulation_steps;
  const int64_t start = (batch_in_epoch / k) * k;
  window_size = k;
  if (num_batches > 0) window_size = std::max<int64_t>(1, std::min<int64_t>(k, num_batches - start));
  sync = (batch_in_epoch - start + 1) >= window_size;
  hooks->on_micro_batch_start();
  if (ddp) ddp->pre_forward(sync);
}

AccumulateScope Accelerator::accumulate() {
  impl_->begin_micro_batch();
  return AccumulateScope(impl_.get());
}

AccumulateScope::~AccumulateScope() {
  if (impl_) impl_->end_micro_batch();
}

AutocastScope Accelerator::autocast() const {
  const auto& m = *impl_;
  return AutocastScope(m.device.type(), m.amp_dtype(), m.s.mixed_precision != "no");
}

torch::Tensor Accelerator::backward(const torch::Tensor& loss) {
  auto& m = *impl_;
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

double Accelerator::clip_grad_norm(double max_norm, double norm_type) {
  auto& m = *impl_;
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
  zero_gradients(*m.optimizer, /*set_to_none=*/!m.s.ddp_gradient_as_bucket_view);
  ++m.completed_steps;
  m.watchdog->step_completed(m.completed_steps);
  double lr = m.optimizer->param_groups().empty()
                  ? 0.0
                  : m.optimizer->param_groups()[0].options().get_lr();
  m.hooks->on_step(m.completed_steps, m.window_size, lr, m.scaler ? m.scaler->current_scale() : 1.0);
  if (m.s.checkpoint_every_steps > 0 && m.completed_steps % m.s.checkpoint_every_steps == 0)
    save_state();
  return stepped;
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
    for (int i = 0; i < m.world; ++i) out[0].push_back(torch::empty_like(t));
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
    if (op == ReduceOp::Mean) r.div_(m.world);
    return r;
  });
}

void Accelerator::main_process_first(const std::function<void()>& f) {
  if (!is_main_process()) wait_for_everyone();
  f();
  if (is_main_process()) wait_for_everyone();
}

void Accelerator::print(const std::string& message) const {
  const auto& m = *impl_;
  const bool speak = m.s.print_scope == "node" ? m.local_rank == 0 : m.rank == 0;
  if (speak) std::cout << message << std::endl;
}

void Accelerator::init_trackers(const std::string& project_name,
                                const std::map<std::string, std::string>& hyperparameters) {
  impl_->hooks->init_trackers(project_name, hyperparameters);
}

void Accelerator::log(const std::map<std::string, double>& values, std::optional<int64_t> step) {
  impl_->hooks->log(values, step.value_or(impl_->completed_steps));
}

void Accelerator::end_training(bool success) {
  auto& m = *impl_;
  if (m.ended) return;
  m.ended = true;
  m.hooks->finish(success);
}

void Accelerator::register_for_checkpointing(const std::string& name,
                                             std::function<std::string()> save,
                                             std::function<void(const std::string&)> load) {
  impl_->custom[name] = {std::move(save), std::move(load)};
}

// --- checkpoints ----------------------------------------------------------------------------

namespace {

void save_archive(torch::serialize::OutputArchive& a, const std::string& path) {
  a.save_to(path + ".part");
  fsync_path(path + ".part");
  if (std::rename((path + ".part").c_str(), path.c_str()) != 0)
    throw std::runtime_error("rename failed for " + path);
}

std::string rank_dir(const std::string& ckpt, int rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/rank_%05d", rank);
  return ckpt + buf;
}

// Testing hook (documented in worker/CHECKPOINTS.md): ACCEL_FAULT_CRASH_IN_SAVE=N makes
// rank 0 die by SIGKILL in the middle of its N-th save (1-based), after the model was written.
void maybe_crash_in_save(int rank, int64_t save_index) {
  const char* v = std::getenv("ACCEL_FAULT_CRASH_IN_SAVE");
  if (rank == 0 && v && std::atoll(v) == save_index) {
    std::cerr << "[accel] fault injection: killing rank 0 during save " << save_index << std::endl;
    std::raise(SIGKILL);
  }
}

}  // namespace

std::string Accelerator::save_state() { return impl_->save(); }

std::string Accelerator::Impl::save() {
  if (!model) throw std::logic_error("Accelerator::save_state before prepare");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string dir = s.checkpoint_dir;
  const std::string tmp = checkpoint_tmp_path(dir, completed_steps);
  const std::string final_path = checkpoint_path(dir, completed_steps);
  const int64_t index = save_index + 1;
  barrier("save_state (enter)");
  if (rank == 0) {
    make_dirs(dir);
    remove_all(tmp);
    make_dirs(tmp);
  }
  barrier("save_state (prepare folder)");
  make_dirs(rank_dir(tmp, rank));
  if (rank == 0) {
    torch::serialize::OutputArchive ma;
    for (auto& p : model->named_parameters()) ma.write("param." + p.key(), p.value().detach().cpu());
    for (auto& b : model->named_buffers()) ma.write("buffer." + b.key(), b.value().detach().cpu(), true);
    save_archive(ma, tmp + "/model.pt");
    maybe_crash_in_save(rank, index);
    torch::serialize::OutputArchive oa;
    optimizer->save(oa);
    save_archive(oa, tmp + "/optimizer.pt");
    if (scaler) {
      torch::serialize::OutputArchive sa;
      sa.write("state", scaler->state());
      save_archive(sa, tmp + "/scaler.pt");
    }
    for (auto& [name, c] : custom) write_file_atomic(tmp + "/custom_" + name + ".bin", c.save());
  }
  {
    torch::serialize::OutputArchive ra;
    auto gen = at::detail::getDefaultCPUGenerator();
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      ra.write("cpu", gen.get_state());
    }
    if (device.is_cuda()) {
      auto cg = at::globalContext().defaultGenerator(device);
      std::lock_guard<std::mutex> lock(cg.mutex());
      ra.write("cuda", cg.get_state());
    }
    save_archive(ra, rank_dir(tmp, rank) + "/rng.pt");
    nlohmann::json rs{{"rank", rank}, {"batch_in_epoch", batch_in_epoch + (in_scope ? 1 : 0)}};
    write_file_atomic(rank_dir(tmp, rank) + "/state.json", rs.dump(2));
    fsync_path(rank_dir(tmp, rank));
  }
  barrier("save_state (files written)");
  if (rank == 0) {
    nlohmann::json meta{
        {"format", 1},
        {"step", completed_steps},
        {"scheduler_steps", scheduler_steps},
        {"save_index", index},
        {"epoch", epoch},
        {"batch_in_epoch", batch_in_epoch + (in_scope ? 1 : 0)},
        {"world_size", world},
        {"mixed_precision", s.mixed_precision},
        {"gradient_accumulation_steps", s.gradient_accumulation_steps},
        {"time", static_cast<int64_t>(std::time(nullptr))},
    };
    write_file_atomic(tmp + "/meta.json", meta.dump(2));
    write_file_atomic(tmp + "/COMPLETE", std::to_string(completed_steps) + "\n");
    commit_checkpoint(tmp, final_path);
    prune_checkpoints(dir, s.checkpoint_keep);
  }
  barrier("save_state (committed)");
  save_index = index;
  hooks->on_checkpoint(completed_steps,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return final_path;
}

bool Accelerator::load_state(const std::string& path) { return impl_->load(path); }

bool Accelerator::Impl::load(const std::string& path) {
  if (!model) throw std::logic_error("Accelerator::load_state before prepare");
  std::string p = path;
  if (p.empty()) {
    auto latest = latest_checkpoint(s.checkpoint_dir);
    if (!latest) return false;
    p = latest->path;
  }
  if (!std::filesystem::exists(p + "/COMPLETE"))
    throw std::runtime_error("not a complete checkpoint: " + p);
  auto meta = nlohmann::json::parse(read_file(p + "/meta.json"));
  {
    torch::serialize::InputArchive ma;
    ma.load_from(p + "/model.pt");
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      at::Tensor t;
      ma.read("param." + item.key(), t);
      item.value().copy_(t.to(item.value().device()));
    }
    for (auto& item : model->named_buffers()) {
      at::Tensor t;
      if (ma.try_read("buffer." + item.key(), t)) item.value().copy_(t.to(item.value().device()));
    }
  }
  // The C++ LR schedulers keep their step count privately: replay the steps first, then the
  // optimizer's saved state restores the learning rates they produced.
  const int64_t sched_steps = meta.value("scheduler_steps", int64_t{0});
  if (scheduler)
    for (int64_t i = 0; i < sched_steps; ++i) scheduler->step();
  {
    torch::serialize::InputArchive oa;
    oa.load_from(p + "/optimizer.pt", device);
    optimizer->load(oa);
  }
  if (scaler && std::filesystem::exists(p + "/scaler.pt")) {
    torch::serialize::InputArchive sa;
    sa.load_from(p + "/scaler.pt");
    at::Tensor st;
    sa.read("state", st);
    scaler->load_state(st);
  }
  const std::string rd = rank_dir(p, rank);
  if (std::filesystem::exists(rd + "/rng.pt")) {
    torch::serialize::InputArchive ra;
    ra.load_from(rd + "/rng.pt");
    at::Tensor st;
    ra.read("cpu", st);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(st);
    }
    at::Tensor cuda_state;
    if (device.is_cuda() && ra.try_read("cuda", cuda_state)) {
      auto cg = at::globalContext().defaultGenerator(device);
      std::lock_guard<std::mutex> lock(cg.mutex());
      cg.set_state(cuda_state);
    }
  } else if (rank == 0 || true) {
    std::cerr << "[accel] rank " << rank << ": checkpoint " << p
              << " has no RNG state for this rank (world size changed?); keeping the seed\n";
  }
  for (auto& [name, c] : custom) {
    const std::string f = p + "/custom_" + name + ".bin";
    if (std::filesystem::exists(f)) c.load(read_file(f));
  }
  completed_steps = meta.value("step", int64_t{0});
  scheduler_steps = sched_steps;
  save_index = meta.value("save_index", int64_t{0});
  epoch = meta.value("epoch", int64_t{0});
  batch_in_epoch = meta.value("batch_in_epoch", int64_t{0});
  position_restored = true;
  if (rank == 0)
    std::cout << "[accel] resumed from " << p << " (step " << completed_steps << ", epoch "
              << epoch << ", batch " << batch_in_epoch << ")" << std::endl;
  hooks->on_resumed(completed_steps);
  return true;
}

// --- exit codes -----------------------------------------------------------------------------

int run_main(const std::function<void()>& body) {
  try {
    body();
    return 0;
  } catch (...) {
    const Failure f = classify_failure(std::current_exception());
    std::cerr << "[accel] " << f.kind << ": " << f.message << std::endl;
    return f.exit_code;
  }
}

}  // namespace accel

#include "accel/training_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "http_server.h"

namespace accel {

namespace {

double now_unix() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double resident_bytes() {
  std::ifstream in("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  in >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

prometheus::Histogram::BucketBoundaries time_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}

}  // namespace

struct TrainingMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Labels labels;
  prometheus::Counter* steps;
  prometheus::Counter* samples;
  prometheus::Counter* tokens;
  prometheus::Histogram* step_time;
  prometheus::Histogram* data_time;
  prometheus::Histogram* allreduce_time;
  prometheus::Histogram* checkpoint_time;
  prometheus::Gauge* loss;
  prometheus::Gauge* lr;
  prometheus::Gauge* grad_norm;
  prometheus::Gauge* loss_scale;
  prometheus::Gauge* last_step_ts;
  prometheus::Gauge* last_ckpt_step;
  prometheus::Gauge* last_ckpt_ts;
  prometheus::Gauge* attempt;
  prometheus::Gauge* rss;
  prometheus::Gauge* gpu_mem;
  prometheus::Gauge* gpu_reserved;
  prometheus::Gauge* gpu_peak;
  prometheus::Gauge* gpu_util = nullptr;  // registered on the first sample: absent without NVML
  prometheus::Gauge* current_step;
  prometheus::Gauge* total_steps_g;
  prometheus::Gauge* start_ts;

  std::mutex mu;  // guards the progress fields below
  int64_t step = 0;
  int64_t total_steps = 0;
  double last_step_seconds = 0;
  double last_step_unix = 0;
  std::optional<double> last_loss;  // the last loss logged, for /progress
  const char* activity = "training";
  // (time, samples) of recent steps, for a samples/s over a sliding window.
  std::deque<std::pair<double, int64_t>> recent;
  int64_t samples_sum = 0;

  std::unique_ptr<http::Server> server;
  int bound_port = -1;

  int world = 1;

  explicit Impl(const MetricsIdentity& id) : world(std::max(1, id.world_size)) {
    labels = {{"job", id.job},
              {"namespace", id.namespace_},
              {"node_rank", std::to_string(id.node_rank)},
              {"rank", std::to_string(id.rank)}};
    using namespace prometheus;
    auto counter = [&](const char* n, const char* h) {
      return &BuildCounter().Name(n).Help(h).Register(*registry).Add(labels);
    };
    auto gauge = [&](const char* n, const char* h) {
      return &BuildGauge().Name(n).Help(h).Register(*registry).Add(labels);
    };
    auto histogram = [&](const char* n, const char* h) {
      return &BuildHistogram().Name(n).Help(h).Register(*registry).Add(labels, time_buckets());
    };
    steps = counter("accel_train_steps_total", "Optimizer steps completed by this rank.");
    samples = counter("accel_train_samples_total", "Training samples processed by this rank.");
    tokens = counter("accel_train_tokens_total",
                     "Training tokens processed by this rank (0 when unknown).");
    step_time = histogram("accel_train_step_duration_seconds",
                          "Wall time of one optimizer step (all its micro-batches).");
    data_time = histogram("accel_train_data_wait_seconds",
                          "Time between micro-batches spent outside the step (data loading).");
    allreduce_time = histogram("accel_train_allreduce_duration_seconds",
                               "Time from launching a gradient bucket's all-reduce to its completion.");
    checkpoint_time = histogram("accel_checkpoint_save_duration_seconds",
                                "Wall time of save_state on this rank.");
    loss = gauge("accel_train_loss", "Last logged training loss.");
    lr = gauge("accel_train_learning_rate", "Learning rate of the first parameter group.");
    grad_norm = gauge("accel_train_grad_norm", "Total gradient norm from the last clip_grad_norm.");
    loss_scale = gauge("accel_train_loss_scale", "fp16 dynamic loss scale (1 without fp16).");
    last_step_ts = gauge("accel_train_last_step_timestamp_seconds",
                         "Unix time of the last completed optimizer step (hang detection).");
    last_ckpt_step = gauge("accel_checkpoint_last_step", "Step of the last completed checkpoint.");
    last_ckpt_ts = gauge("accel_checkpoint_last_timestamp_seconds",
                         "Unix time of the last completed checkpoint.");
    attempt = gauge("accel_job_attempt",
                    "Gang starts of this job before this one (status.attempt; 0 for the first).");
    rss = gauge("accel_process_resident_memory_bytes", "Resident memory of this rank's process.");
    gpu_mem = gauge("accel_gpu_memory_allocated_bytes",
                    "CUDA memory allocated by this rank's tensors (0 on CPU).");
    gpu_reserved = gauge("accel_gpu_memory_reserved_bytes",
                         "CUDA memory held by this rank's caching allocator (0 on CPU).");
    gpu_peak = gauge("accel_gpu_memory_peak_allocated_bytes",
                     "Most CUDA memory this rank's tensors held at once since start (0 on CPU).");
    current_step = gauge("accel_train_step", "Current optimizer step.");
    total_steps_g = gauge("accel_train_total_steps", "Planned optimizer steps (0 when unknown).");
    start_ts = gauge("accel_process_start_time_seconds", "Unix time this rank started.");
    start_ts->Set(now_unix());
    loss_scale->Set(1);
  }

  double samples_per_second() {
    if (recent.size() < 2) return 0;
    double dt = recent.back().first - recent.front().first;
    int64_t n = 0;
    for (size_t i = 1; i < recent.size(); ++i) n += recent[i].second;
    return dt > 0 ? static_cast<double>(n) / dt : 0;
  }
};

TrainingMetrics::TrainingMetrics(const MetricsIdentity& identity, int port, const std::string& bind)
    : impl_(std::make_unique<Impl>(identity)) {
  if (port < 0) return;
  http::ServerOptions o;
  o.host = bind;
  o.port = port;
  try {
    impl_->server = std::make_unique<http::Server>(
        o, std::map<std::string, http::Handler>{
               {"/metrics",
                [this] { return http::Response{200, "text/plain; version=0.0.4; charset=utf-8", scrape()}; }},
               {"/progress", [this] { return http::Response{200, "application/json", progress_json()}; }}});
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("metrics: ") + e.what());
  }
  impl_->bound_port = impl_->server->port();
}

TrainingMetrics::~TrainingMetrics() { impl_->server.reset(); }

int TrainingMetrics::port() const { return impl_->bound_port; }

void TrainingMetrics::set_total_steps(int64_t total) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->total_steps = total;
  impl_->total_steps_g->Set(static_cast<double>(total));
}

void TrainingMetrics::set_attempt(int64_t a) { impl_->attempt->Set(static_cast<double>(a)); }

void TrainingMetrics::step_completed(int64_t step, double step_seconds, int64_t samples,
                                     int64_t tokens) {
  auto& m = *impl_;
  m.steps->Increment();
  if (samples > 0) m.samples->Increment(static_cast<double>(samples));
  if (tokens > 0) m.tokens->Increment(static_cast<double>(tokens));
  m.step_time->Observe(step_seconds);
  const double t = now_unix();
  m.last_step_ts->Set(t);
  m.current_step->Set(static_cast<double>(step));
  std::lock_guard<std::mutex> lock(m.mu);
  m.step = step;
  m.last_step_seconds = step_seconds;
  m.last_step_unix = t;
  m.recent.emplace_back(t, samples);
  while (m.recent.size() > 50) m.recent.pop_front();
}

void TrainingMetrics::observe_data_wait(double s) { impl_->data_time->Observe(s); }
void TrainingMetrics::observe_allreduce(double s) { impl_->allreduce_time->Observe(s); }
void TrainingMetrics::set_loss(double v) {
  impl_->loss->Set(v);
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->last_loss = v;
}
void TrainingMetrics::set_learning_rate(double v) { impl_->lr->Set(v); }
void TrainingMetrics::set_grad_norm(double v) { impl_->grad_norm->Set(v); }
void TrainingMetrics::set_loss_scale(double v) { impl_->loss_scale->Set(v); }
void TrainingMetrics::set_gpu_memory(double allocated, double reserved, double peak_allocated) {
  impl_->gpu_mem->Set(allocated);
  impl_->gpu_reserved->Set(reserved);
  impl_->gpu_peak->Set(peak_allocated);
}
void TrainingMetrics::set_gpu_utilization(double ratio) {
  auto& m = *impl_;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (!m.gpu_util)
      m.gpu_util = &prometheus::BuildGauge()
                        .Name("accel_gpu_utilization_ratio")
                        .Help("Fraction of the last NVML sample period a kernel ran on this rank's "
                              "GPU (absent without NVML).")
                        .Register(*m.registry)
                        .Add(m.labels);
  }
  m.gpu_util->Set(ratio);
}

void TrainingMetrics::checkpoint_saved(int64_t step, double seconds) {
  impl_->checkpoint_time->Observe(seconds);
  impl_->last_ckpt_step->Set(static_cast<double>(step));
  impl_->last_ckpt_ts->Set(now_unix());
}

void TrainingMetrics::resumed_at(int64_t step) {
  impl_->current_step->Set(static_cast<double>(step));
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->step = step;
}

std::string TrainingMetrics::scrape() {
  impl_->rss->Set(resident_bytes());
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

void TrainingMetrics::set_activity(const char* activity) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->activity = activity;
}

std::string TrainingMetrics::progress_json() {
  auto& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mu);
  const double sps = m.samples_per_second() * m.world;
  double steps_per_s = 0;
  if (m.recent.size() >= 2) {
    double dt = m.recent.back().first - m.recent.front().first;
    if (dt > 0) steps_per_s = static_cast<double>(m.recent.size() - 1) / dt;
  }
  nlohmann::json j{{"step", m.step},
                   {"totalSteps", m.total_steps},
                   {"samplesPerSecond", sps},
                   {"lastStepSeconds", m.last_step_seconds},
                   {"lastStepTime", m.last_step_unix}};
  if (m.last_loss) j["loss"] = *m.last_loss;
  j["activity"] = m.activity;
  if (m.total_steps > 0 && steps_per_s > 0)
    j["etaSeconds"] = static_cast<double>(std::max<int64_t>(0, m.total_steps - m.step)) / steps_per_s;
  return j.dump();
}

}  // namespace accel

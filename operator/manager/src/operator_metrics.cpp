#include "accel/manager/operator_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>

namespace accel::op {

namespace {
const char* const kPhases[] = {"Pending",   "Queued", "Starting",  "Running",
                               "Restarting", "Succeeded", "Failed", "Suspended"};
prometheus::Histogram::BucketBoundaries reconcile_buckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}
prometheus::Histogram::BucketBoundaries startup_buckets() {
  return {1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600};
}
}  // namespace

struct OperatorMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  mutable std::mutex mu;  // prometheus-cpp metrics are thread-safe; mu guards Add() on families

  prometheus::Family<prometheus::Gauge>& jobs =
      prometheus::BuildGauge().Name("accel_operator_jobs").Help("AccelJobs in each phase, all watched namespaces.").Register(*registry);
  prometheus::Family<prometheus::Counter>& created =
      prometheus::BuildCounter().Name("accel_operator_jobs_created_total").Help("AccelJobs whose first gang (attempt 0) was created.").Register(*registry);
  prometheus::Family<prometheus::Counter>& succeeded =
      prometheus::BuildCounter().Name("accel_operator_jobs_succeeded_total").Help("AccelJobs that reached Succeeded.").Register(*registry);
  prometheus::Family<prometheus::Counter>& failed =
      prometheus::BuildCounter().Name("accel_operator_jobs_failed_total").Help("AccelJobs that reached Failed.").Register(*registry);
  prometheus::Family<prometheus::Counter>& finished =
      prometheus::BuildCounter().Name("accel_operator_jobs_finished_total").Help("AccelJobs that finished, by phase.").Register(*registry);
  prometheus::Family<prometheus::Counter>& restarts =
      prometheus::BuildCounter().Name("accel_operator_restarts_total").Help("Gang restarts after failures (they count against maxRestarts), by job and reason.").Register(*registry);
  prometheus::Family<prometheus::Counter>& disruptions =
      prometheus::BuildCounter().Name("accel_operator_disruptions_total").Help("Gang restarts after disruptions (preemption, eviction, deletion, node loss; not counted against maxRestarts), by job and reason.").Register(*registry);
  prometheus::Family<prometheus::Counter>& pods_created =
      prometheus::BuildCounter().Name("accel_operator_pods_created_total").Help("Worker pods created.").Register(*registry);
  prometheus::Family<prometheus::Histogram>& duration =
      prometheus::BuildHistogram().Name("accel_operator_reconcile_duration_seconds").Help("Duration of one reconcile, by result.").Register(*registry);
  prometheus::Family<prometheus::Counter>& total =
      prometheus::BuildCounter().Name("accel_operator_reconcile_total").Help("Reconciles, by result.").Register(*registry);
  prometheus::Family<prometheus::Counter>& errors =
      prometheus::BuildCounter().Name("accel_operator_reconcile_errors_total").Help("Reconciles that met an error, by reason: conflict (status write got 409, requeued), api (another API error), invalid (the AccelJob cannot be read).").Register(*registry);
  prometheus::Family<prometheus::Gauge>& depth =
      prometheus::BuildGauge().Name("accel_operator_workqueue_depth").Help("Keys waiting in the work queue.").Register(*registry);
  prometheus::Family<prometheus::Counter>& adds =
      prometheus::BuildCounter().Name("accel_operator_workqueue_adds_total").Help("Keys added to the work queue.").Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram().Name("accel_operator_workqueue_latency_seconds").Help("Time a key waited in the work queue before a worker took it.").Register(*registry);
  prometheus::Family<prometheus::Histogram>& to_running =
      prometheus::BuildHistogram().Name("accel_operator_time_to_running_seconds").Help("From AccelJob creation to its first Running phase.").Register(*registry);
  prometheus::Family<prometheus::Gauge>& leader =
      prometheus::BuildGauge().Name("accel_operator_leader").Help("1 while this replica holds the leader Lease (or runs without leader election).").Register(*registry);

  prometheus::Counter* adds_c = &adds.Add({});
  double adds_seen = 0;
};

OperatorMetrics::OperatorMetrics() : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  for (const char* p : kPhases) m.jobs.Add({{"phase", p}}).Set(0);
  m.created.Add({});
  m.succeeded.Add({});
  m.failed.Add({});
  for (const char* r : {"conflict", "api", "invalid"}) m.errors.Add({{"reason", r}});
  m.pods_created.Add({});
  m.depth.Add({}).Set(0);
  m.leader.Add({}).Set(0);
  m.latency.Add({}, reconcile_buckets());
  m.to_running.Add({}, startup_buckets());
  for (const char* r : {"success", "error", "requeue"}) {
    m.duration.Add({{"result", r}}, reconcile_buckets());
    m.total.Add({{"result", r}});
  }
}

OperatorMetrics::~OperatorMetrics() = default;

void OperatorMetrics::observe_reconcile(double seconds, const std::string& result) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->duration.Add({{"result", result}}, reconcile_buckets()).Observe(seconds);
  impl_->total.Add({{"result", result}}).Increment();
}

void OperatorMetrics::reconcile_error(const std::string& reason) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->errors.Add({{"reason", reason}}).Increment();
}

void OperatorMetrics::job_created() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->created.Add({}).Increment();
}

void OperatorMetrics::job_finished(const std::string& phase) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->finished.Add({{"phase", phase}}).Increment();
  (phase == "Succeeded" ? impl_->succeeded : impl_->failed).Add({}).Increment();
}

void OperatorMetrics::restart(const std::string& ns, const std::string& name,
                              const std::string& reason) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->restarts.Add({{"job_namespace", ns}, {"job_name", name}, {"reason", reason}}).Increment();
}

void OperatorMetrics::disruption(const std::string& ns, const std::string& name,
                                 const std::string& reason) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->disruptions.Add({{"job_namespace", ns}, {"job_name", name}, {"reason", reason}}).Increment();
}

void OperatorMetrics::pod_created() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->pods_created.Add({}).Increment();
}

void OperatorMetrics::time_to_running(double seconds) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->to_running.Add({}, startup_buckets()).Observe(seconds);
}

void OperatorMetrics::workqueue_latency(double seconds) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->latency.Add({}, reconcile_buckets()).Observe(seconds);
}

void OperatorMetrics::set_workqueue(std::int64_t depth, std::int64_t adds_total) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->depth.Add({}).Set(static_cast<double>(depth));
  double d = static_cast<double>(adds_total) - impl_->adds_seen;
  if (d > 0) {
    impl_->adds_c->Increment(d);
    impl_->adds_seen = static_cast<double>(adds_total);
  }
}

void OperatorMetrics::set_leader(bool leader) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->leader.Add({}).Set(leader ? 1 : 0);
}

void OperatorMetrics::set_jobs_by_phase(const std::map<std::string, int>& counts) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const char* p : kPhases) {
    auto it = counts.find(p);
    impl_->jobs.Add({{"phase", p}}).Set(it == counts.end() ? 0 : it->second);
  }
}

std::string OperatorMetrics::scrape() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  prometheus::TextSerializer serializer;
  return serializer.Serialize(impl_->registry->Collect());
}

}  // namespace accel::op

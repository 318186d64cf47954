// operator_metrics.h — the Prometheus metrics accel-operator exports on /metrics.
//
// Names are the contract with charts/accel-operator (dashboard) and operator/OPERATOR.md.
// Thread-safe: every method may be called from any worker; scrape() serialises in the
// Prometheus text format 0.0.4.
#pragma once
#include <map>
#include <memory>
#include <string>

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace accel::op {

class OperatorMetrics {
 public:
  OperatorMetrics();
  ~OperatorMetrics();
  OperatorMetrics(const OperatorMetrics&) = delete;
  OperatorMetrics& operator=(const OperatorMetrics&) = delete;

  // result: "success", "error" or "requeue".
  void observe_reconcile(double seconds, const std::string& result);
  // One reconcile that met an error, by what kind (accel_operator_reconcile_errors_total{reason}):
  // "conflict" (the status write got 409 Conflict; the key is requeued with backoff),
  // "api" (any other failed API call), "invalid" (the AccelJob cannot be read).
  void reconcile_error(const std::string& reason);
  void job_created();
  void job_finished(const std::string& phase);  // "Succeeded" or "Failed"
  void restart(const std::string& ns, const std::string& name, const std::string& reason);
  void disruption(const std::string& ns, const std::string& name, const std::string& reason);
  void pod_created();
  void time_to_running(double seconds);
  void workqueue_latency(double seconds);
  void set_workqueue(std::int64_t depth, std::int64_t adds_total);
  void set_leader(bool leader);
  // Replaces accel_operator_jobs{phase}: every phase is written (0 when none).
  void set_jobs_by_phase(const std::map<std::string, int>& counts);

  std::string scrape() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel::op

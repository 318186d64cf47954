// job_controller.h — the AccelJob controller loop: informers on AccelJobs, Pods and Services,
// a work queue of job keys, N workers that call the pure reconcile() and execute its Decision.
//
// Executor contract (operator/controller/include/accel/controller/reconcile.h):
//   1. status first, through the status subresource, guarded by the job's resourceVersion, and
//      only when it differs; 409 → drop the actions and requeue at once;
//   2. actions in order: Create* treat AlreadyExists as success, Delete* NotFound as success;
//      DeletePod{force} uses gracePeriodSeconds 0; DeleteAllPods lists the job's pods by
//      pod_selector() and deletes each that is not Terminating yet; RecordEvent goes through
//      the EventRecorder; RequeueAfter is WorkQueue::add_after.
// Any API error besides those requeues the key with the queue's per-key backoff.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "accel/controller/options.h"
#include "accel/kube/client.h"
#include "accel/kube/event_recorder.h"
#include "accel/kube/informer.h"
#include "accel/kube/work_queue.h"
#include "accel/manager/operator_metrics.h"

namespace accel::op {

// The AccelJob resource (accel.dev/v1alpha1, namespaced).
kube::Resource acceljobs_resource();

// Annotation on an AccelJob naming the URL of rank 0's /progress; honoured only with
// ControllerOptions::progress_url_annotation (a testing / escape hatch: the pod IP is not
// reachable from where the operator runs, or there is no pod IP at all).
inline constexpr const char* kProgressUrlAnnotation = "accel.dev/progress-url";

struct ControllerOptions {
  std::string ns;   // "" = all namespaces
  int workers = 2;
  OperatorOptions reconciler;
  std::chrono::milliseconds progress_timeout{1000};
  // How often a Running job with metrics is reconciled again to refresh status.progress
  // (0 = only on events and the reconciler's own timers).
  std::chrono::milliseconds progress_interval{30000};
  bool progress_url_annotation = false;
};

class JobController {
 public:
  // `client`, `events` and `metrics` must outlive the controller.
  JobController(kube::Client& client, kube::EventRecorder& events, OperatorMetrics& metrics,
                ControllerOptions options);
  ~JobController();  // stop()

  // Starts the informers (every replica: a standby keeps its cache warm and is ready).
  void start_informers();
  bool synced() const;
  bool wait_for_sync(std::chrono::milliseconds timeout) const;

  // Starts the workers (the leader only). Once.
  void start_workers();
  // Stops handing out keys, lets in-flight reconciles finish, joins the workers, stops the
  // informers. Idempotent.
  void stop();

  // Reconciles one key now on the calling thread (what a worker does). Returns the result
  // label: "success", "requeue" or "error".
  std::string reconcile_key(const std::string& key);

  // For /metrics: refreshes accel_operator_jobs{phase} and the work-queue gauges.
  void refresh_gauges();

 private:
  void worker_loop();
  void enqueue_job_of(const kube::ObjectPtr& object);

  kube::Client& client_;
  kube::EventRecorder& events_;
  OperatorMetrics& metrics_;
  ControllerOptions options_;
  kube::WorkQueue queue_;
  std::unique_ptr<kube::Informer> jobs_, pods_, services_;
  std::mutex workers_mu_;  // start_workers() vs stop() (a lease won during shutdown)
  std::vector<std::thread> workers_;
  std::atomic<bool> stopped_{false};
  std::mutex latency_mu_;
  double latency_sum_seen_ = 0;
  std::int64_t latency_count_seen_ = 0;
};

}  // namespace accel::op

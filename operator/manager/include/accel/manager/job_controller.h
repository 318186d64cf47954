// job_controller.h — the AccelJob controller loop: informers on AccelJobs, Pods and Services,
// a work queue of job keys, N workers that call the pure reconcile() and carry its Decision out
// through the shared executor (accel/controller/executor.h) against the API server, and a
// poller that reads rank 0's /progress of running jobs off the reconcile path.
//
// The caches keep compact records (records.h), not whole documents.
// The API server as an executor's Cluster: status as a merge patch of what changed, on the
// status subresource, with no resourceVersion precondition (the leader is the status's only
// writer; a user's edit of labels or annotations meanwhile neither conflicts nor is lost); until
// the job's informer brings that write back, the job's reconciles read the status from the
// write's answer, so a reconcile never acts on a status older than its own last write; Create* treat AlreadyExists as success, Delete* NotFound;
// DeletePod{force} uses gracePeriodSeconds 0; DeleteAllPods lists the job's pods by
// pod_selector() and deletes each that is not Terminating yet; events go through the
// EventRecorder.
// Queue bookkeeping lives in the worker loop, as controller-runtime's reconcileHandler does: a
// conflict or an API error retries the key with the queue's per-key backoff; success forgets the
// backoff; a requeue after T is WorkQueue::add_after.
#pragma once
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "accel/controller/options.h"
#include "accel/controller/time.h"
#include "accel/kube/client.h"
#include "accel/kube/event_recorder.h"
#include "accel/kube/informer.h"
#include "accel/kube/work_queue.h"
#include "accel/manager/operator_metrics.h"
#include "accel/manager/records.h"
#include "accel/progress/progress_poller.h"

namespace accel::op {

// The AccelJob resource (accel.dev/v1alpha1, namespaced).
kube::Resource acceljobs_resource();

// Annotation on an AccelJob naming the URL of rank 0's /progress; honoured only with
// ControllerOptions::progress_url_annotation (a testing / escape hatch: the pod IP is not
// reachable from where the operator runs, or there is no pod IP at all).
inline constexpr const char* kProgressUrlAnnotation = "accel.dev/progress-url";

// Whether the cluster serves Kubernetes' gang-scheduling API (PodGroups of
// scheduling.k8s.io/v1alpha2, 1.35+ with the GenericWorkload feature gate), read once from
// discovery at start-up: Native when it does, Unavailable when the group/version or the
// resource is not served. Other API errors propagate (the operator cannot work without the API
// server anyway, and exits so that it is restarted).
GangScheduling detect_gang_scheduling(kube::Client& client);

// Objects this operator created that its caches have not shown yet (a simpler form of client-go's
// ControllerExpectations, by name). A reconcile that runs before the pod informer has delivered
// a pod just created would otherwise create it again and be answered AlreadyExists: a request
// per pod for nothing. An expectation lapses after `ttl`, so a create that never shows up (the
// object deleted before the informer saw it) is tried again then. Thread-safe.
class CreateExpectations {
 public:
  explicit CreateExpectations(std::chrono::milliseconds ttl = std::chrono::seconds(15)) : ttl_(ttl) {}
  // Keys are "<resource>/<namespace>/<name>".
  bool pending(const std::string& key);  // created and not yet seen, within ttl
  void created(const std::string& key);
  void observed(const std::string& key);  // seen by an informer (added, updated or deleted)
  std::size_t size() const;

 private:
  std::chrono::milliseconds ttl_;
  mutable std::mutex mu_;
  std::map<std::string, std::chrono::steady_clock::time_point> created_;
};

struct ControllerOptions {
  std::string ns;   // "" = all namespaces
  int workers = 2;
  OperatorOptions reconciler;
  std::chrono::milliseconds progress_timeout{1000};
  // How often rank 0's /progress of a Running job with metrics is read; a job whose progress
  // moved is reconciled (0 = never read).
  std::chrono::milliseconds progress_interval{30000};
  bool progress_url_annotation = false;
  // How long the status write of a gang's launch (Pending/Restarting -> Starting) is held back:
  // a gang whose pods all run within it goes to Running in one write instead of two. The held
  // status is what the next reconciles see; it is written when anything else changes (a pod
  // runs or fails) or when the delay is over. Losing it (a restart) loses nothing: the gang's
  // pods are observed and the launch is decided again. 0 = written at once.
  std::chrono::milliseconds starting_status_delay{2000};
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

  // Starts the workers (the leader only). Once. Workers take no key before synced(): every
  // reconcile sees the job's pods and services as listed, never an empty cache.
  void start_workers();
  // Stops handing out keys, lets in-flight reconciles finish, joins the workers, stops the
  // informers. Idempotent.
  void stop();

  // What one reconcile asks of the queue (controller-runtime's Result and error).
  struct Result {
    enum class Kind { Success, RequeueAfter, Retry } kind = Kind::Success;
    Duration after{};       // RequeueAfter
    std::string label;      // for metrics: "success", "requeue", "conflict", "error"
  };
  // Reconciles one key now on the calling thread (what a worker does) and returns what the
  // queue should do with it; the worker loop does that.
  Result reconcile_key(const std::string& key);

  // For /metrics: refreshes accel_operator_jobs{phase} and the work-queue gauges.
  void refresh_gauges();

 private:
  void worker_loop();
  using JobInformer = kube::BasicInformer<JobRecord>;
  using PodInformer = kube::BasicInformer<PodRecord>;
  using ServiceInformer = kube::BasicInformer<ServiceRecord>;
  void enqueue_job_of(const std::string& ns, const std::string& job);
  void on_job_event(const JobRecord& record, bool deleted);
  std::vector<ProgressPoller::Target> progress_targets() const;
  // Operator metrics of a status change that was written (jobs created/finished, restarts).
  void record_transition(const api::AccelJobStatus& before, const api::AccelJobStatus& after,
                         const api::AccelJob& job, Time now);

  kube::Client& client_;
  kube::EventRecorder& events_;
  OperatorMetrics& metrics_;
  ControllerOptions options_;
  kube::WorkQueue queue_;
  std::unique_ptr<JobInformer> jobs_;
  std::unique_ptr<PodInformer> pods_;
  std::unique_ptr<ServiceInformer> services_;
  // Status writes the job informer has not brought back yet: key -> the version the write made
  // and the status it wrote.
  struct Written {
    std::string resource_version;
    api::AccelJobStatus status;
  };
  std::mutex written_mu_;
  std::map<std::string, Written> written_;
  // Launches whose status write is held back (starting_status_delay): key -> the job it was
  // decided for, the status decided and when it is written at the latest. Under written_mu_.
  struct Held {
    std::string uid;
    api::AccelJobStatus status;
    Time until;
  };
  std::map<std::string, Held> held_;
  CreateExpectations expected_;
  std::unique_ptr<ProgressPoller> progress_;
  std::mutex workers_mu_;  // start_workers() vs stop() (a lease won during shutdown)
  std::vector<std::thread> workers_;
  std::atomic<bool> stopped_{false};
  std::mutex latency_mu_;
  double latency_sum_seen_ = 0;
  std::int64_t latency_count_seen_ = 0;
};

}  // namespace accel::op

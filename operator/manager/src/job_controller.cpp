#include "accel/manager/job_controller.h"

#include <map>

#include "accel/api/acceljob.h"
#include "accel/controller/executor.h"
#include "accel/controller/naming.h"
#include "accel/controller/observed.h"
#include "accel/controller/reconcile.h"
#include "accel/controller/time.h"
#include "accel/kube/errors.h"
#include "accel/kube/merge_patch.h"
#include "accel/kube/log.h"

namespace accel::op {

using nlohmann::json;

kube::Resource acceljobs_resource() {
  return kube::Resource{"accel.dev", "v1alpha1", "acceljobs", true, "AccelJob"};
}

GangScheduling detect_gang_scheduling(kube::Client& client) {
  const kube::Resource groups = kube::resources::pod_groups();
  json doc;
  try {
    doc = client.request("GET", "/apis/" + groups.group + "/" + groups.version);
  } catch (const kube::NotFoundError&) {
    return GangScheduling::Unavailable;
  }
  if (doc.is_object() && doc.contains("resources") && doc["resources"].is_array())
    for (const auto& r : doc["resources"])
      if (r.is_object() && r.value("name", std::string()) == groups.plural)
        return GangScheduling::Native;
  return GangScheduling::Unavailable;
}

bool CreateExpectations::pending(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = created_.find(key);
  if (it == created_.end()) return false;
  if (std::chrono::steady_clock::now() - it->second < ttl_) return true;
  created_.erase(it);
  return false;
}

void CreateExpectations::created(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  // Lapsed ones go now and then, so the map holds only the last ttl's creations.
  if (created_.size() > 1024)
    for (auto it = created_.begin(); it != created_.end();)
      it = now - it->second >= ttl_ ? created_.erase(it) : std::next(it);
  created_[key] = now;
}

void CreateExpectations::observed(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  created_.erase(key);
}

std::size_t CreateExpectations::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return created_.size();
}

namespace {

std::string pod_expectation(const std::string& ns, const std::string& name) {
  return "pods/" + ns + "/" + name;
}
std::string service_expectation(const std::string& ns, const std::string& name) {
  return "services/" + ns + "/" + name;
}

std::string phase_name(const api::AccelJobStatus& s) {
  return s.phase ? api::to_string(*s.phase) : "";
}

// The write that records a gang's launch and nothing else (ControllerOptions::
// starting_status_delay): Pending or Restarting on the server, Starting decided, the same
// attempt, restart and disruption counts.
bool is_launch(const api::AccelJobStatus& server, const api::AccelJobStatus& decided) {
  const api::JobPhase was = server.phase.value_or(api::JobPhase::Pending);
  return (was == api::JobPhase::Pending || was == api::JobPhase::Restarting) &&
         decided.phase == api::JobPhase::Starting && decided.attempt == server.attempt &&
         decided.restarts == server.restarts && decided.disruptions == server.disruptions;
}

// The API server as the executor's world (executor.h), for one reconcile of one job: `record`
// is the job as the reconcile read it.
class ApiServerCluster final : public Cluster {
 public:
  ApiServerCluster(kube::Client& client, kube::EventRecorder& events, OperatorMetrics& metrics,
                   CreateExpectations& expected, const kube::ObjectReference& job_ref,
                   const json& read_status)
      : client_(client), events_(events), metrics_(metrics), expected_(expected), ref_(job_ref),
        read_(read_status) {}

  // The answer to the status write, when there was one: the job as the server now has it.
  const nlohmann::json& written() const { return written_; }

  // A merge patch of the fields that changed since the status the reconcile read, on the status
  // subresource, without a resourceVersion precondition: the operator's leader is the status's
  // only writer, so an edit of the job's metadata or spec in between (a user's label, Kueue's
  // annotation) neither conflicts nor is overwritten. Reading its own writes before the cache
  // has them is the controller's part (JobController::written_).
  StatusWrite write_status(const api::AccelJob& job, const api::AccelJobStatus& status) override {
    const json patch = kube::merge_patch_between(read_, json(status));
    if (patch.empty()) return StatusWrite::Written;
    kube::PatchOptions po;
    po.subresource = "status";
    try {
      written_ = client_.patch(acceljobs_resource(), job.metadata.namespace_, job.metadata.name,
                               kube::PatchType::Merge, json{{"status", patch}}, po);
      return StatusWrite::Written;
    } catch (const kube::ConflictError&) {
      return StatusWrite::Conflict;
    } catch (const kube::NotFoundError&) {
      return StatusWrite::JobGone;
    }
  }
  // A create the caches have not shown yet is not sent again (CreateExpectations).
  void create_service(const api::AccelJob& job, const json& object) override {
    const std::string key = service_expectation(job.metadata.namespace_, object["metadata"].value("name", ""));
    if (expected_.pending(key)) return;
    try {
      client_.create(kube::resources::services(), job.metadata.namespace_, object);
      expected_.created(key);
    } catch (const kube::ConflictError&) {  // AlreadyExists
    }
  }
  void create_pod(const api::AccelJob& job, const json& object) override {
    const std::string key = pod_expectation(job.metadata.namespace_, object["metadata"].value("name", ""));
    if (expected_.pending(key)) return;
    try {
      client_.create(kube::resources::pods(), job.metadata.namespace_, object);
      expected_.created(key);
      metrics_.pod_created();
    } catch (const kube::ConflictError&) {  // AlreadyExists
    } catch (const kube::ApiError& e) {
      // Refused (Pod Security admission, a ResourceQuota, a webhook): said where the job's
      // owner looks, then retried with the reconcile's backoff (the cause may go away).
      if (e.kind() == kube::ErrorKind::Forbidden || e.kind() == kube::ErrorKind::Invalid)
        events_.record(ref_, kube::EventType::Warning, "FailedCreatePod",
                       "pod " + object["metadata"].value("name", std::string()) +
                           " was refused: " + e.server_message());
      throw;
    }
  }
  void delete_pod(const api::AccelJob& job, const std::string& name, bool force) override {
    remove_pod(job, name, force ? std::optional<std::int64_t>(0) : std::nullopt);
  }
  void delete_all_pods(const api::AccelJob& job, std::optional<std::int64_t> grace_seconds) override {
    kube::ListOptions lo;
    lo.label_selector = pod_selector(job);
    for (const auto& pod : client_.list(kube::resources::pods(), job.metadata.namespace_, lo).items) {
      const json& meta = pod.at("metadata");
      if (meta.contains("deletionTimestamp")) continue;
      remove_pod(job, meta.value("name", std::string()), grace_seconds);
    }
  }
  void remove_pod(const api::AccelJob& job, const std::string& name, std::optional<std::int64_t> grace) {
    kube::DeleteOptions opts;
    opts.grace_period_seconds = grace;
    try {
      client_.remove(kube::resources::pods(), job.metadata.namespace_, name, opts);
    } catch (const kube::NotFoundError&) {
    }
  }
  void record_event(const api::AccelJob&, const RecordEvent& e) override {
    events_.record(ref_, e.type == "Warning" ? kube::EventType::Warning : kube::EventType::Normal,
                   e.reason, e.message);
  }
  void create_pod_group(const api::AccelJob& job, const json& object) override {
    try {
      client_.create(kube::resources::pod_groups(), job.metadata.namespace_, object);
    } catch (const kube::ConflictError&) {  // AlreadyExists
    }
  }
  void delete_pod_group(const api::AccelJob& job, const std::string& name) override {
    try {
      client_.remove(kube::resources::pod_groups(), job.metadata.namespace_, name);
    } catch (const kube::NotFoundError&) {
    }
  }
  void delete_job(const api::AccelJob& job) override {
    kube::DeleteOptions opts;
    opts.propagation_policy = "Background";
    opts.precondition_uid = job.metadata.uid;
    try {
      client_.remove(acceljobs_resource(), job.metadata.namespace_, job.metadata.name, opts);
    } catch (const kube::NotFoundError&) {
    }
  }

 private:
  kube::Client& client_;
  kube::EventRecorder& events_;
  OperatorMetrics& metrics_;
  CreateExpectations& expected_;
  const kube::ObjectReference& ref_;
  const json& read_;  // .status as the server had it when the reconcile read the job
  json written_;
};

}  // namespace

JobController::JobController(kube::Client& client, kube::EventRecorder& events,
                             OperatorMetrics& metrics, ControllerOptions options)
    : client_(client), events_(events), metrics_(metrics), options_(std::move(options)) {
  kube::InformerOptions job_opts;
  jobs_ = std::make_unique<JobInformer>(client_, acceljobs_resource(), options_.ns, job_opts);
  kube::InformerOptions owned;
  owned.label_selector = kLabelJobName;  // exists
  owned.index_labels = {kLabelJobName};
  pods_ = std::make_unique<PodInformer>(client_, kube::resources::pods(), options_.ns, owned);
  services_ =
      std::make_unique<ServiceInformer>(client_, kube::resources::services(), options_.ns, owned);

  // A job's own change (created, edited, our status write coming back) waits its turn; a change
  // of its pods or Services moves an existing job on and goes first (work_queue.h).
  JobInformer::Handlers job_handlers;
  job_handlers.on_add = [this](const JobInformer::Ptr& o) { on_job_event(*o, false); };
  job_handlers.on_update = [this](const JobInformer::Ptr&, const JobInformer::Ptr& o) {
    on_job_event(*o, false);
  };
  job_handlers.on_delete = [this](const JobInformer::Ptr& o) { on_job_event(*o, true); };
  jobs_->add_handlers(job_handlers);

  PodInformer::Handlers pod_handlers;
  pod_handlers.on_add = [this](const PodInformer::Ptr& o) {
    expected_.observed(pod_expectation(o->ns, o->observed.name));
    enqueue_job_of(o->ns, o->job_name);
  };
  pod_handlers.on_update = [this](const PodInformer::Ptr& old_o, const PodInformer::Ptr& o) {
    expected_.observed(pod_expectation(o->ns, o->observed.name));
    if (old_o->job_name != o->job_name) enqueue_job_of(old_o->ns, old_o->job_name);
    enqueue_job_of(o->ns, o->job_name);
  };
  pod_handlers.on_delete = [this](const PodInformer::Ptr& o) {
    expected_.observed(pod_expectation(o->ns, o->observed.name));
    enqueue_job_of(o->ns, o->job_name);
  };
  pods_->add_handlers(pod_handlers);

  ServiceInformer::Handlers service_handlers;
  service_handlers.on_add = [this](const ServiceInformer::Ptr& o) {
    expected_.observed(service_expectation(o->ns, o->name));
    enqueue_job_of(o->ns, o->job_name);
  };
  service_handlers.on_update = [this](const ServiceInformer::Ptr& old_o,
                                      const ServiceInformer::Ptr& o) {
    expected_.observed(service_expectation(o->ns, o->name));
    if (old_o->job_name != o->job_name) enqueue_job_of(old_o->ns, old_o->job_name);
    enqueue_job_of(o->ns, o->job_name);
  };
  service_handlers.on_delete = [this](const ServiceInformer::Ptr& o) {
    expected_.observed(service_expectation(o->ns, o->name));
    enqueue_job_of(o->ns, o->job_name);
  };
  services_->add_handlers(service_handlers);

  if (options_.progress_interval.count() > 0)
    progress_ = std::make_unique<ProgressPoller>(
        [this] { return progress_targets(); }, [this](const std::string& key) { queue_.add(key); },
        options_.progress_interval, options_.progress_timeout);
}

JobController::~JobController() { stop(); }

void JobController::enqueue_job_of(const std::string& ns, const std::string& job) {
  if (job.empty()) return;
  queue_.add(kube::object_key(ns, job), kube::WorkQueue::Priority::High);
}

void JobController::on_job_event(const JobRecord& record, bool deleted) {
  const std::string key = kube::object_key(record.ref.ns, record.ref.name);
  {
    // The cache now holds our last status write (that very version, or a later one that carries
    // the same status): reconciles read it from there again.
    std::lock_guard<std::mutex> lock(written_mu_);
    if (auto it = written_.find(key); it != written_.end()) {
      if (deleted || it->second.resource_version == record.ref.resource_version ||
          (record.job && json(record.job->status) == json(it->second.status)))
        written_.erase(it);
    }
  }
  queue_.add(key);
}

void JobController::start_informers() {
  jobs_->start();
  pods_->start();
  services_->start();
}

bool JobController::synced() const {
  return jobs_->has_synced() && pods_->has_synced() && services_->has_synced();
}

bool JobController::wait_for_sync(std::chrono::milliseconds timeout) const {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  return jobs_->wait_for_sync(left()) && left().count() > 0 && pods_->wait_for_sync(left()) &&
         left().count() > 0 && services_->wait_for_sync(left());
}

void JobController::start_workers() {
  std::lock_guard<std::mutex> lock(workers_mu_);
  if (!workers_.empty() || stopped_.load()) return;
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
  if (progress_) progress_->start();
}

void JobController::stop() {
  {
    std::lock_guard<std::mutex> lock(workers_mu_);  // no start_workers() after this
    if (stopped_.exchange(true)) return;
  }
  if (progress_) progress_->stop();
  queue_.shut_down();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  jobs_->stop();
  pods_->stop();
  services_->stop();
}

void JobController::worker_loop() {
  // No reconcile before every cache has listed once (controller-runtime's WaitForCacheSync): a
  // job read before its pods are would look as if it had none, and launch a gang while another
  // one is still Terminating.
  while (!stopped_.load() && !wait_for_sync(std::chrono::milliseconds(200))) {
  }
  while (auto key = queue_.get()) {
    {
      std::lock_guard<std::mutex> lock(latency_mu_);
      auto s = queue_.stats();
      if (s.queue_latency_count > latency_count_seen_) {
        double d = (s.queue_latency_seconds_sum - latency_sum_seen_) /
                   static_cast<double>(s.queue_latency_count - latency_count_seen_);
        for (auto i = latency_count_seen_; i < s.queue_latency_count; ++i)
          metrics_.workqueue_latency(d);
        latency_sum_seen_ = s.queue_latency_seconds_sum;
        latency_count_seen_ = s.queue_latency_count;
      }
    }
    auto start = std::chrono::steady_clock::now();
    const Result result = reconcile_key(*key);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    metrics_.observe_reconcile(took.count(), result.label == "conflict" ? "requeue" : result.label);
    switch (result.kind) {
      case Result::Kind::Success:
        queue_.forget(*key);
        break;
      case Result::Kind::RequeueAfter:
        queue_.forget(*key);
        queue_.add_after(*key, std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::max(result.after, Duration(std::chrono::milliseconds(1)))));
        break;
      case Result::Kind::Retry:
        queue_.add_rate_limited(*key);
        break;
    }
    queue_.done(*key);
  }
}

void JobController::refresh_gauges() {
  std::map<std::string, int> counts;
  for (const auto& r : jobs_->cache().list())
    counts[r->job && r->job->status.phase ? api::to_string(*r->job->status.phase) : "Pending"]++;
  metrics_.set_jobs_by_phase(counts);
  auto s = queue_.stats();
  metrics_.set_workqueue(s.depth, s.adds_total);
}

std::vector<ProgressPoller::Target> JobController::progress_targets() const {
  std::vector<ProgressPoller::Target> targets;
  for (const auto& record : jobs_->cache().list()) {
    if (!record->job) continue;
    const api::AccelJob& job = *record->job;
    const std::int64_t port = job.spec.metrics.port.value_or(0);
    if (job.status.phase != api::JobPhase::Running || port <= 0) continue;
    const std::string key = kube::object_key(job.metadata.namespace_, job.metadata.name);
    auto ann = job.metadata.annotations.find(kProgressUrlAnnotation);
    if (options_.progress_url_annotation && ann != job.metadata.annotations.end()) {
      targets.push_back({key, ann->second});
      continue;
    }
    for (const auto& pod : pods_->cache().by_label(kLabelJobName, job.metadata.name)) {
      if (pod->ns != job.metadata.namespace_ || pod->job_uid != job.metadata.uid) continue;
      if (pod->observed.node_rank == 0 && pod->observed.attempt == job.status.attempt &&
          !pod->pod_ip.empty())
        targets.push_back({key, "http://" + pod->pod_ip + ":" + std::to_string(port) + "/progress"});
    }
  }
  return targets;
}

JobController::Result JobController::reconcile_key(const std::string& key) {
  auto record = jobs_->cache().get(key);
  if (!record) {
    if (progress_) progress_->forget(key);
    {
      std::lock_guard<std::mutex> lock(written_mu_);
      held_.erase(key);
    }
    return {Result::Kind::Success, {}, "success"};  // deleted: the garbage collector removes what it owned
  }
  if (!record->job) {
    kube::log(kube::LogLevel::Error, "AccelJob " + key + " cannot be read: " + record->error);
    events_.record(record->ref, kube::EventType::Warning, "InvalidObject", record->error);
    metrics_.reconcile_error("invalid");
    // Not retried: the next change of the object reconciles it again.
    return {Result::Kind::Success, {}, "error"};
  }
  api::AccelJob job = *record->job;
  json read_status = json::object();  // the server's, for the merge patch
  std::optional<Held> held;
  {
    // Our own last status write, until the cache has it (on_job_event).
    std::lock_guard<std::mutex> lock(written_mu_);
    if (auto it = written_.find(key); it != written_.end()) job.status = it->second.status;
    if (record->has_status || written_.count(key)) read_status = json(job.status);
    if (auto it = held_.find(key); it != held_.end()) {
      if (it->second.uid == job.metadata.uid)
        held = it->second;
      else
        held_.erase(it);  // a job of the same name made since
    }
  }
  api::apply_defaults(job);
  const std::string ns = job.metadata.namespace_;
  const std::string name = job.metadata.name;

  try {
    // What exists: the job's pods and services from the caches (this incarnation only), and
    // the newest /progress the poller read.
    ObservedState observed;
    for (const auto& pod : pods_->cache().by_label(kLabelJobName, name))
      if (pod->ns == ns && pod->job_uid == job.metadata.uid) observed.pods.push_back(pod->observed);
    for (const auto& svc : services_->cache().by_label(kLabelJobName, name))
      if (svc->ns == ns && svc->job_uid == job.metadata.uid) observed.services.push_back(svc->name);
    if (progress_ && job.status.phase == api::JobPhase::Running) observed.progress = progress_->latest(key);

    const Time now = std::chrono::system_clock::now();
    // The reconciler sees a held launch as decided; the executor compares with the server's.
    api::AccelJob seen = job;
    if (held) seen.status = held->status;
    const Decision decision = reconcile(seen, observed, now, options_.reconciler);
    ApiServerCluster cluster(client_, events_, metrics_, expected_, record->ref, read_status);
    const bool hold = options_.starting_status_delay.count() > 0 &&
                      is_launch(job.status, decision.status) && (!held || now < held->until);
    const Time until = held ? held->until : now + options_.starting_status_delay;
    // Held: the executor is shown the decided status, so it carries out the actions only.
    api::AccelJob before = job;
    if (hold) before.status = decision.status;
    Outcome outcome = execute(before, decision, cluster);
    {
      std::lock_guard<std::mutex> lock(written_mu_);
      if (hold)
        held_[key] = {job.metadata.uid, decision.status, until};
      else if (outcome.kind != Outcome::Kind::Conflict)
        held_.erase(key);
      if (const json& w = cluster.written(); w.is_object() && w.contains("metadata"))
        written_[key] = {w["metadata"].value("resourceVersion", std::string()), decision.status};
    }
    if (hold) {
      const auto left = std::chrono::duration_cast<Duration>(until - now);
      if (!outcome.requeue_after || *outcome.requeue_after > left) outcome.requeue_after = left;
    }
    if (outcome.kind == Outcome::Kind::Conflict) {
      kube::log(kube::LogLevel::Debug, "reconcile " + key + ": status write conflicted; requeued");
      metrics_.reconcile_error("conflict");
      return {Result::Kind::Retry, {}, "conflict"};
    }
    if (outcome.kind == Outcome::Kind::JobGone) {
      std::lock_guard<std::mutex> lock(written_mu_);
      written_.erase(key);
      held_.erase(key);
      return {Result::Kind::Success, {}, "success"};
    }
    if (outcome.status_written) record_transition(job.status, decision.status, job, now);
    if (outcome.requeue_after) return {Result::Kind::RequeueAfter, *outcome.requeue_after, "requeue"};
    return {Result::Kind::Success, {}, "success"};
  } catch (const std::exception& e) {
    kube::log(kube::LogLevel::Error, "reconcile " + key + ": " + e.what());
    metrics_.reconcile_error("api");
    return {Result::Kind::Retry, {}, "error"};
  }
}

void JobController::record_transition(const api::AccelJobStatus& o, const api::AccelJobStatus& n,
                                       const api::AccelJob& job, Time now) {
  const std::string op = phase_name(o), np = phase_name(n);
  // A held launch goes from Pending to Running in one write.
  const auto created = [](const std::string& p) { return p == "Starting" || p == "Running"; };
  if (created(np) && !created(op) && n.attempt == 0 && n.restarts == 0) metrics_.job_created();
  if ((np == "Succeeded" || np == "Failed") && op != np) metrics_.job_finished(np);
  if (n.restarts > o.restarts)
    metrics_.restart(job.metadata.namespace_, job.metadata.name,
                     n.lastFailure ? n.lastFailure->reason : "Unknown");
  if (n.disruptions > o.disruptions)
    metrics_.disruption(job.metadata.namespace_, job.metadata.name,
                        n.lastFailure ? n.lastFailure->reason : "Unknown");
  if (np == "Running" && op != "Running" && n.restarts == 0 && n.attempt == 0) {
    if (auto created = parse_rfc3339(job.metadata.creationTimestamp))
      metrics_.time_to_running(std::chrono::duration<double>(now - *created).count());
  }
}

}  // namespace accel::op

#include "accel/manager/job_controller.h"

#include <cpprest/http_client.h>

#include <map>
#include <variant>

#include "accel/api/acceljob.h"
#include "accel/controller/naming.h"
#include "accel/controller/observed.h"
#include "accel/controller/reconcile.h"
#include "accel/controller/time.h"
#include "accel/kube/errors.h"
#include "accel/kube/log.h"

namespace accel::op {

using nlohmann::json;

kube::Resource acceljobs_resource() {
  return kube::Resource{"accel.dev", "v1alpha1", "acceljobs", true, "AccelJob"};
}

namespace {

std::string label_of(const json& object, const std::string& key) {
  const json* labels = object.contains("metadata") ? &object["metadata"] : nullptr;
  if (!labels || !labels->contains("labels") || !(*labels)["labels"].is_object()) return "";
  auto it = (*labels)["labels"].find(key);
  return it != (*labels)["labels"].end() && it->is_string() ? it->get<std::string>() : "";
}

std::string meta_string(const json& object, const std::string& key) {
  auto m = object.find("metadata");
  if (m == object.end() || !m->is_object()) return "";
  auto it = m->find(key);
  return it != m->end() && it->is_string() ? it->get<std::string>() : "";
}

std::string phase_name(const api::AccelJobStatus& s) {
  return s.phase ? api::to_string(*s.phase) : "";
}

// GET `url` (rank 0's /progress) with a short timeout; nullopt on any failure.
std::optional<api::Progress> read_progress(const std::string& url,
                                           std::chrono::milliseconds timeout) {
  try {
    web::http::client::http_client_config config;
    config.set_timeout(timeout);
    web::http::client::http_client http(utility::conversions::to_string_t(url), config);
    auto response = http.request(web::http::methods::GET).get();
    if (response.status_code() != web::http::status_codes::OK) return std::nullopt;
    auto body = response.extract_utf8string(true).get();
    return progress_from_json(json::parse(body, nullptr, false));
  } catch (const std::exception& e) {
    kube::log(kube::LogLevel::Debug, "progress: GET " + url + " failed: " + e.what());
    return std::nullopt;
  }
}

}  // namespace

JobController::JobController(kube::Client& client, kube::EventRecorder& events,
                             OperatorMetrics& metrics, ControllerOptions options)
    : client_(client), events_(events), metrics_(metrics), options_(std::move(options)) {
  kube::InformerOptions job_opts;
  jobs_ = std::make_unique<kube::Informer>(client_, acceljobs_resource(), options_.ns, job_opts);
  kube::InformerOptions owned;
  owned.label_selector = kLabelJobName;  // exists
  owned.index_labels = {kLabelJobName};
  pods_ = std::make_unique<kube::Informer>(client_, kube::resources::pods(), options_.ns, owned);
  services_ =
      std::make_unique<kube::Informer>(client_, kube::resources::services(), options_.ns, owned);

  kube::InformerHandlers job_handlers;
  job_handlers.on_add = [this](const kube::ObjectPtr& o) { queue_.add(kube::object_key(*o)); };
  job_handlers.on_update = [this](const kube::ObjectPtr&, const kube::ObjectPtr& o) {
    queue_.add(kube::object_key(*o));
  };
  job_handlers.on_delete = [this](const kube::ObjectPtr& o) { queue_.add(kube::object_key(*o)); };
  jobs_->add_handlers(job_handlers);

  kube::InformerHandlers owned_handlers;
  owned_handlers.on_add = [this](const kube::ObjectPtr& o) { enqueue_job_of(o); };
  owned_handlers.on_update = [this](const kube::ObjectPtr& old_o, const kube::ObjectPtr& o) {
    enqueue_job_of(old_o);
    enqueue_job_of(o);
  };
  owned_handlers.on_delete = [this](const kube::ObjectPtr& o) { enqueue_job_of(o); };
  pods_->add_handlers(owned_handlers);
  services_->add_handlers(owned_handlers);
}

JobController::~JobController() { stop(); }

void JobController::enqueue_job_of(const kube::ObjectPtr& object) {
  if (!object) return;
  std::string job = label_of(*object, kLabelJobName);
  if (job.empty()) return;
  queue_.add(kube::object_key(meta_string(*object, "namespace"), job));
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
  for (auto* inf : {jobs_.get(), pods_.get(), services_.get()}) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !inf->wait_for_sync(left)) return false;
  }
  return true;
}

void JobController::start_workers() {
  std::lock_guard<std::mutex> lock(workers_mu_);
  if (!workers_.empty() || stopped_.load()) return;
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void JobController::stop() {
  {
    std::lock_guard<std::mutex> lock(workers_mu_);  // no start_workers() after this
    if (stopped_.exchange(true)) return;
  }
  queue_.shut_down();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
  jobs_->stop();
  pods_->stop();
  services_->stop();
}

void JobController::worker_loop() {
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
    std::string result = reconcile_key(*key);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    metrics_.observe_reconcile(took.count(), result);
    queue_.done(*key);
  }
}

void JobController::refresh_gauges() {
  std::map<std::string, int> counts;
  for (const auto& o : jobs_->cache().list()) {
    std::string phase = "Pending";
    auto st = o->find("status");
    if (st != o->end() && st->is_object() && st->contains("phase") && (*st)["phase"].is_string())
      phase = (*st)["phase"].get<std::string>();
    counts[phase]++;
  }
  metrics_.set_jobs_by_phase(counts);
  auto s = queue_.stats();
  metrics_.set_workqueue(s.depth, s.adds_total);
}

std::string JobController::reconcile_key(const std::string& key) {
  auto object = jobs_->cache().get(key);
  if (!object) {
    queue_.forget(key);  // deleted: the garbage collector removes what it owned
    return "success";
  }
  api::AccelJob job;
  try {
    job = object->get<api::AccelJob>();
  } catch (const std::exception& e) {
    kube::log(kube::LogLevel::Error, "AccelJob " + key + " cannot be read: " + e.what());
    events_.record(*object, kube::EventType::Warning, "InvalidObject", e.what());
    queue_.forget(key);  // the next change of the object reconciles it again
    metrics_.reconcile_error("invalid");
    return "error";
  }
  api::apply_defaults(job);
  const std::string ns = job.metadata.namespace_;
  const std::string name = job.metadata.name;

  try {
    // What exists: the job's pods and services from the caches (this incarnation only).
    ObservedState observed;
    std::string rank0_ip;
    for (const auto& pod : pods_->cache().by_label(kLabelJobName, name)) {
      if (meta_string(*pod, "namespace") != ns) continue;
      if (label_of(*pod, kLabelJobUid) != job.metadata.uid) continue;
      observed.pods.push_back(observed_pod_from_json(*pod));
      const auto& p = observed.pods.back();
      if (p.node_rank == 0 && p.attempt == job.status.attempt)
        rank0_ip = pod->value("/status/podIP"_json_pointer, std::string());
    }
    for (const auto& svc : services_->cache().by_label(kLabelJobName, name)) {
      if (meta_string(*svc, "namespace") != ns) continue;
      if (label_of(*svc, kLabelJobUid) != job.metadata.uid) continue;
      observed.services.push_back(meta_string(*svc, "name"));
    }
    const std::int64_t metrics_port = job.spec.metrics.port.value_or(0);
    if (job.status.phase == api::JobPhase::Running && metrics_port > 0) {
      std::string url;
      auto ann = job.metadata.annotations.find(kProgressUrlAnnotation);
      if (options_.progress_url_annotation && ann != job.metadata.annotations.end())
        url = ann->second;
      else if (!rank0_ip.empty())
        url = "http://" + rank0_ip + ":" + std::to_string(metrics_port) + "/progress";
      if (!url.empty()) observed.progress = read_progress(url, options_.progress_timeout);
    }

    const Time now = std::chrono::system_clock::now();
    Decision decision = reconcile(job, observed, now, options_.reconciler);

    // 1. Status first, guarded by resourceVersion.
    json old_status = job.status;
    json new_status = decision.status;
    if (old_status != new_status) {
      json updated = *object;
      updated["status"] = new_status;
      try {
        client_.update_status(acceljobs_resource(), updated);
      } catch (const kube::ConflictError&) {
        kube::log(kube::LogLevel::Debug, "reconcile " + key + ": status write conflicted; requeued");
        metrics_.reconcile_error("conflict");
        queue_.add_rate_limited(key);  // our cache is behind; the actions are dropped
        return "requeue";
      } catch (const kube::NotFoundError&) {
        queue_.forget(key);
        return "success";
      }
      const auto& o = job.status;
      const auto& n = decision.status;
      const std::string op = phase_name(o), np = phase_name(n);
      if (np == "Starting" && op != "Starting" && n.attempt == 0 && n.restarts == 0)
        metrics_.job_created();
      if ((np == "Succeeded" || np == "Failed") && op != np) metrics_.job_finished(np);
      if (n.restarts > o.restarts)
        metrics_.restart(ns, name, n.lastFailure ? n.lastFailure->reason : "Unknown");
      if (np == "Running" && op != "Running" && n.restarts == 0 && n.attempt == 0) {
        if (auto created = parse_rfc3339(job.metadata.creationTimestamp))
          metrics_.time_to_running(std::chrono::duration<double>(now - *created).count());
      }
    }

    // 2. The actions, in order.
    std::optional<Duration> requeue;
    for (const auto& action : decision.actions) {
      std::visit(
          [&](const auto& a) {
            using A = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<A, CreateService>) {
              try {
                client_.create(kube::resources::services(), ns, a.object);
              } catch (const kube::ConflictError&) {
              }
            } else if constexpr (std::is_same_v<A, CreatePod>) {
              try {
                client_.create(kube::resources::pods(), ns, a.object);
                metrics_.pod_created();
              } catch (const kube::ConflictError&) {
              }
            } else if constexpr (std::is_same_v<A, DeletePod>) {
              kube::DeleteOptions opts;
              if (a.force) opts.grace_period_seconds = 0;
              try {
                client_.remove(kube::resources::pods(), ns, a.name, opts);
              } catch (const kube::NotFoundError&) {
              }
            } else if constexpr (std::is_same_v<A, DeleteAllPods>) {
              kube::ListOptions lo;
              lo.label_selector = pod_selector(job);
              for (const auto& pod : client_.list(kube::resources::pods(), ns, lo).items) {
                if (pod.contains("metadata") && pod["metadata"].contains("deletionTimestamp"))
                  continue;
                try {
                  client_.remove(kube::resources::pods(), ns, meta_string(pod, "name"));
                } catch (const kube::NotFoundError&) {
                }
              }
            } else if constexpr (std::is_same_v<A, RequeueAfter>) {
              requeue = a.after;
            } else if constexpr (std::is_same_v<A, RecordEvent>) {
              events_.record(*object,
                             a.type == "Warning" ? kube::EventType::Warning
                                                 : kube::EventType::Normal,
                             a.reason, a.message);
            } else if constexpr (std::is_same_v<A, DeleteJob>) {
              kube::DeleteOptions opts;
              opts.propagation_policy = "Background";
              opts.precondition_uid = job.metadata.uid;
              try {
                client_.remove(acceljobs_resource(), ns, name, opts);
              } catch (const kube::NotFoundError&) {
              }
            }
          },
          action);
    }
    queue_.forget(key);
    // A Running job's status.progress is refreshed every progress_interval even without events.
    if (decision.status.phase == api::JobPhase::Running && metrics_port > 0 &&
        options_.progress_interval.count() > 0 &&
        (!requeue || *requeue > options_.progress_interval))
      requeue = options_.progress_interval;
    if (requeue) {
      queue_.add_after(key, std::max(*requeue, Duration(1)));
      return "requeue";
    }
    return "success";
  } catch (const std::exception& e) {
    kube::log(kube::LogLevel::Error, "reconcile " + key + ": " + e.what());
    metrics_.reconcile_error("api");
    queue_.add_rate_limited(key);
    return "error";
  }
}

}  // namespace accel::op

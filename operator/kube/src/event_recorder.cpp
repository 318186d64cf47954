#include "accel/kube/event_recorder.h"

#include <cstdio>
#include <optional>

#include "accel/kube/errors.h"
#include "accel/kube/log.h"
#include "time_format.h"

namespace accel::kube {

ObjectReference ObjectReference::from_object(const nlohmann::json& obj) {
  ObjectReference r;
  if (!obj.is_object()) return r;
  r.api_version = obj.value("apiVersion", "");
  r.kind = obj.value("kind", "");
  auto m = obj.value("metadata", nlohmann::json::object());
  r.ns = m.value("namespace", "");
  r.name = m.value("name", "");
  r.uid = m.value("uid", "");
  r.resource_version = m.value("resourceVersion", "");
  return r;
}

nlohmann::json ObjectReference::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  auto put = [&](const char* k, const std::string& v) {
    if (!v.empty()) j[k] = v;
  };
  put("apiVersion", api_version);
  put("kind", kind);
  put("namespace", ns);
  put("name", name);
  put("uid", uid);
  put("resourceVersion", resource_version);
  return j;
}

EventRecorder::EventRecorder(Client& client, EventRecorderOptions options)
    : client_(client), options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

EventRecorder::~EventRecorder() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventRecorder::record(const nlohmann::json& object, EventType type, const std::string& reason,
                           const std::string& message) noexcept {
  try {
    record(ObjectReference::from_object(object), type, reason, message);
  } catch (...) {
  }
}

void EventRecorder::record(const ObjectReference& ref, EventType type, const std::string& reason,
                           const std::string& message) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    if (queue_.size() >= options_.max_queued) {
      failed_++;
      log(LogLevel::Warning, "event dropped (queue full): " + reason + " on " + ref.kind + " " +
                                 ref.ns + "/" + ref.name);
      return;
    }
    queue_.push_back({ref, type, reason, message, std::chrono::system_clock::now()});
    cv_.notify_all();
  } catch (...) {
    // best effort: never throw into the caller
  }
}

bool EventRecorder::flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_cv_.wait_for(lock, timeout, [&] { return queue_.empty() && !busy_; });
}

std::size_t EventRecorder::written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return written_;
}

std::size_t EventRecorder::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void EventRecorder::run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping and drained
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    write(p);
    lock.lock();
    busy_ = false;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  idle_cv_.notify_all();
}

void EventRecorder::write(const Pending& p) {
  const auto events = resources::events();
  const std::string type = p.type == EventType::Warning ? "Warning" : "Normal";
  const std::string ts = detail::format_time(p.when);
  const std::string ns = p.ref.ns.empty() ? "default" : p.ref.ns;
  const std::size_t key = std::hash<std::string>{}(p.ref.kind + "/" + ns + "/" + p.ref.name + "/" +
                                                   p.ref.uid + "|" + type + "|" + p.reason + "|" +
                                                   p.message);
  bool ok = false;
  try {
    std::optional<Seen> seen;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = seen_.find(key); it != seen_.end()) seen = it->second;
    }
    if (seen) {
      try {
        nlohmann::json patch = {{"count", seen->count + 1}, {"lastTimestamp", ts}};
        client_.patch(events, seen->ns, seen->name, PatchType::Merge, patch);
        std::lock_guard<std::mutex> lock(mu_);
        seen_[key].count = seen->count + 1;
        ok = true;
      } catch (const NotFoundError&) {
        // The Event expired or was deleted: fall through and create a new one.
      }
    }
    if (!ok) {
      char suffix[32];
      std::snprintf(suffix, sizeof suffix, ".%llx",
                    static_cast<unsigned long long>(
                        std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count()));
      std::string name = (p.ref.name.empty() ? "event" : p.ref.name) + suffix;
      nlohmann::json ev = {
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"involvedObject", p.ref.to_json()},
          {"reason", p.reason},
          {"message", p.message},
          {"type", type},
          {"source", {{"component", options_.component}}},
          {"count", 1},
          {"firstTimestamp", ts},
          {"lastTimestamp", ts},
          {"reportingComponent", options_.component},
          {"reportingInstance", options_.host}};
      if (!options_.host.empty()) ev["source"]["host"] = options_.host;
      client_.create(events, ns, ev);
      std::lock_guard<std::mutex> lock(mu_);
      if (seen_.size() > 4096) seen_.clear();  // bound memory; repeats start a new Event
      seen_[key] = Seen{ns, name, 1};
      ok = true;
    }
  } catch (const std::exception& e) {
    log(LogLevel::Warning, "event " + p.reason + " on " + p.ref.kind + " " + ns + "/" +
                               p.ref.name + " not written: " + e.what());
  }
  std::lock_guard<std::mutex> lock(mu_);
  (ok ? written_ : failed_)++;
}

}  // namespace accel::kube

// event_recorder.h — core/v1 Events about objects, best effort (like client-go's recorder).
//
// record() never throws and never blocks on the network: it queues the event (dropping it,
// with a log line, when max_queued are already waiting) and a background thread writes it.
// A repeat of the same (object, type, reason, message) within the recorder's lifetime
// patches the existing Event's count and lastTimestamp instead of creating a new one
// (creating a fresh one if that Event was deleted meanwhile).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <unordered_map>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "accel/kube/client.h"

namespace accel::kube {

enum class EventType { Normal, Warning };

// The involvedObject of an Event.
struct ObjectReference {
  std::string api_version, kind, ns, name, uid, resource_version;
  // From an object's apiVersion, kind and metadata.
  static ObjectReference from_object(const nlohmann::json& object);
  nlohmann::json to_json() const;
};

struct EventRecorderOptions {
  std::string component = "accel-operator";  // source.component / reportingComponent
  std::string host;                          // source.host (optional)
  std::size_t max_queued = 1000;
};

class EventRecorder {
 public:
  // `client` must outlive the recorder.
  EventRecorder(Client& client, EventRecorderOptions options = {});
  ~EventRecorder();  // writes what is queued (bounded by the client's timeouts), then stops

  void record(const ObjectReference& object, EventType type, const std::string& reason,
              const std::string& message) noexcept;
  void record(const nlohmann::json& object, EventType type, const std::string& reason,
              const std::string& message) noexcept;
  // Waits until everything recorded so far was written (or failed); false on timeout.
  bool flush(std::chrono::milliseconds timeout);

  std::size_t written() const;  // Events created or patched
  std::size_t failed() const;   // writes that failed (logged)

 private:
  struct Pending {
    ObjectReference ref;
    EventType type;
    std::string reason, message;
    std::chrono::system_clock::time_point when;
  };
  struct Seen {
    std::string ns, name;
    long long count;
  };
  void run();
  void write(const Pending& p);

  Client& client_;
  EventRecorderOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<Pending> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::size_t written_ = 0, failed_ = 0;
  // hash of the aggregation key -> the Event written for it (a hash, not the key: one entry per
  // job and reason costs ~100 bytes instead of ~300)
  std::unordered_map<std::size_t, Seen> seen_;
  std::thread thread_;
};

}  // namespace accel::kube

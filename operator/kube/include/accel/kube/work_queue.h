// work_queue.h — the reconciler's queue of object keys (client-go's rate-limited workqueue).
//
// Guarantees: a key is handed out to at most one worker at a time; a key added several times
// while waiting is handed out once; a key added while being processed is handed out again
// after done(key). add_after delays a key; add_rate_limited delays it by the per-key
// exponential backoff until forget(key). All methods are thread-safe.
//
// Two lanes: a key added with Priority::High is handed out before every key waiting at Normal
// (and a Normal key that is added again at High moves to the high lane). The operator adds keys
// at High when a job's own pods or Services changed, so the reconcile that moves a running job
// on (e.g. its status to Running) does not wait behind the first reconciles of hundreds of newer
// jobs; those are Normal, in arrival order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "accel/kube/rate_limiter.h"

namespace accel::kube {

struct WorkQueueOptions {
  std::chrono::milliseconds base_delay{5};        // first add_rate_limited delay
  std::chrono::milliseconds max_delay{1000000};   // cap of the backoff (1000 s like client-go)
};

// Counters for the operator to export (e.g. as workqueue_* Prometheus metrics).
struct WorkQueueStats {
  std::int64_t depth = 0;                  // keys ready to be handed out
  std::int64_t waiting = 0;                // keys delayed by add_after / add_rate_limited
  std::int64_t in_flight = 0;              // handed out, not yet done()
  std::int64_t adds_total = 0;             // add() calls that were not dropped as duplicates
  std::int64_t retries_total = 0;          // add_rate_limited() calls
  double queue_latency_seconds_sum = 0;    // time from add to get
  std::int64_t queue_latency_count = 0;
  double work_duration_seconds_sum = 0;    // time from get to done
  std::int64_t work_duration_count = 0;
};

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Priority { Normal, High };
  explicit WorkQueue(WorkQueueOptions options = {});
  ~WorkQueue();  // shut_down()

  void add(const std::string& key, Priority priority = Priority::Normal);
  void add_after(const std::string& key, std::chrono::milliseconds delay);
  void add_rate_limited(const std::string& key);
  void forget(const std::string& key);
  int num_requeues(const std::string& key) const;

  // Blocks for the next key; nullopt once shut_down() was called (keys still queued are
  // dropped, like client-go's ShutDown). Call done(key) when finished with it.
  std::optional<std::string> get();
  // As get(), but gives up (nullopt) after `timeout`.
  std::optional<std::string> get_for(std::chrono::milliseconds timeout);
  void done(const std::string& key);

  void shut_down();
  bool shutting_down() const;
  // Keys ready to be handed out; promotes delayed keys that are due first (hence not const).
  std::size_t len();
  WorkQueueStats stats();  // promotes due delayed keys first, like len()

 private:
  void add_locked(const std::string& key, Priority priority);
  void push_locked(const std::string& key, Priority priority);
  std::int64_t ready_locked() const;
  void promote_due_locked(Clock::time_point now);
  std::optional<std::string> get_until(std::optional<Clock::time_point> deadline);

  ExponentialBackoffRateLimiter limiter_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool shutting_down_ = false;
  // The lanes may hold stale entries (a key moved to the high lane, or already handed out):
  // get() skips an entry whose key is not dirty, or is being processed.
  std::deque<std::string> queue_, urgent_;
  std::map<std::string, Priority> dirty_;  // waiting to be handed out, at this priority
  std::set<std::string> processing_;
  // Keys in both dirty_ and processing_ (re-added while a worker has them), so that the depth
  // is dirty_.size() minus these without a walk over every waiting key (stats() runs on every
  // get()).
  std::int64_t dirty_in_flight_ = 0;
  // Delayed keys: ready time per key (earliest wins) and the ordered schedule.
  std::map<std::string, Clock::time_point> waiting_;
  std::set<std::pair<Clock::time_point, std::string>> schedule_;
  std::map<std::string, Clock::time_point> added_at_;
  std::map<std::string, Clock::time_point> started_at_;
  WorkQueueStats stats_;
};

}  // namespace accel::kube

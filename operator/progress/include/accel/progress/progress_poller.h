// progress_poller.h — reads rank 0's /progress of every running job, off the reconcile path.
//
// A reconcile must not wait on a pod's HTTP server: one slow or hung pod would hold a worker
// and delay every job behind it. So the poller starts a round every `interval` that asks every
// target's /progress (up to kThreadsPerRound requests at once, each bounded by `timeout` from
// connect to the last byte: a hung, dripping or slow rank is given up on after it), keeps the
// newest document per job, and calls `changed(key)` when a job's progress moved, as an informer
// event would; the reconcile then reads latest(key). The operator (operator/manager) and
// `accel run` (operator/local) both use it.
//
// Isolation between jobs: rounds start on time and do not wait for each other's stragglers; a
// target still in flight is not asked again until its request ends; targets whose last request
// failed are asked after the others. So a healthy job is read every `interval` (plus its own
// answer's time) however many targets hang, and a hostile one costs one thread for at most
// `timeout` per round it is asked in.
#pragma once

#include <chrono>
#include <condition_variable>
#include <atomic>
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "accel/api/acceljob.h"

namespace accel::op {

// The largest /progress body read (a real one is ~200 bytes).
inline constexpr std::size_t kMaxProgressBodyBytes = 64 * 1024;

// Reads the body of a /progress answer (progress_from_json of its JSON); nullopt when it is not
// JSON, not the document, or larger than kMaxProgressBodyBytes. Never throws.
std::optional<api::Progress> parse_progress_body(const std::string& body);

// GET `url` (a rank's /progress) and read it (progress_from_json); nullopt on any failure:
// no answer within `timeout`, a status other than 200, a body that is not the document, or one
// larger than 64 KiB. Never throws.
std::optional<api::Progress> fetch_progress(const std::string& url,
                                            std::chrono::milliseconds timeout);

class ProgressPoller {
 public:
  struct Target {
    std::string key;  // the job's key (namespace/name)
    std::string url;  // rank 0's /progress
  };
  using TargetsFn = std::function<std::vector<Target>()>;
  using ChangedFn = std::function<void(const std::string& key)>;
  using FetchFn = std::function<std::optional<api::Progress>(const std::string& url)>;

  // `targets` is asked at the start of each round and `changed` from the round's threads (rounds
  // may overlap: both must be safe to call from more than one thread).
  // `fetch` defaults to fetch_progress with `timeout`.
  ProgressPoller(TargetsFn targets, ChangedFn changed, std::chrono::milliseconds interval,
                 std::chrono::milliseconds timeout, FetchFn fetch = {});
  ~ProgressPoller();  // stop()
  ProgressPoller(const ProgressPoller&) = delete;
  ProgressPoller& operator=(const ProgressPoller&) = delete;

  void start();  // once
  void stop();   // joins the thread; idempotent
  // Requests one round runs at once.
  static constexpr std::size_t kThreadsPerRound = 16;

  // One round now, on the calling thread (what the loop starts every interval); returns when
  // its requests have ended. Skips targets in flight from another round.
  void poll_once();

  // The newest progress read for `key`, if any.
  std::optional<api::Progress> latest(const std::string& key) const;
  void forget(const std::string& key);

 private:
  void loop();

  TargetsFn targets_;
  ChangedFn changed_;
  std::chrono::milliseconds interval_, timeout_;
  FetchFn fetch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, api::Progress> latest_;
  std::set<std::string> in_flight_;  // keys being asked now
  std::set<std::string> failing_;    // keys whose last request failed
  struct Round {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::list<Round> rounds_;  // started by loop(), joined by it
  std::thread thread_;
};

}  // namespace accel::op

// progress_poller.h — reads rank 0's /progress of every running job, off the reconcile path.
//
// A reconcile must not wait on a pod's HTTP server: one slow or hung pod would hold a worker
// and delay every job behind it. So one poller thread asks every target's /progress about every
// `interval` (all requests in flight at once, each bounded by `timeout`), keeps the newest
// document per job, and calls `changed(key)` when a job's progress moved, as an informer event
// would; the reconcile then reads latest(key). The operator (operator/manager) and `accel run`
// (operator/local) both use it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
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

  // `targets` is asked at each round (from the poller's thread); `changed` is called from it.
  // `fetch` defaults to fetch_progress with `timeout`.
  ProgressPoller(TargetsFn targets, ChangedFn changed, std::chrono::milliseconds interval,
                 std::chrono::milliseconds timeout, FetchFn fetch = {});
  ~ProgressPoller();  // stop()
  ProgressPoller(const ProgressPoller&) = delete;
  ProgressPoller& operator=(const ProgressPoller&) = delete;

  void start();  // once
  void stop();   // joins the thread; idempotent
  // One round now, on the calling thread (what the thread does every interval).
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
  std::thread thread_;
};

}  // namespace accel::op

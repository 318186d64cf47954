// accel/tracking.h — experiment trackers: where `Accelerator::log(values, step)` goes.
//
// A Tracker writes one run to one backend:
//   tensorboard  TFRecord event files  <run_dir>/events.out.tfevents.<secs>.<host>.<pid>.<n>
//   jsonl        <run_dir>/metrics.jsonl, one JSON object per log call
//   mlflow       an MLflow tracking server over its REST API (http or https)
//   wandb        a W&B offline run <dir>/wandb/offline-run-<time>-<id>/run-<id>.wandb,
//                uploadable later with `wandb sync`
// Each format is checked by its real reader (tests/integration/trackers).
//
// A TrackerHub owns the trackers of one run and shields training from them: log() only
// appends to a bounded in-memory queue per tracker; one background thread per tracker
// delivers the queue in order, retries failures with capped exponential backoff, warns once
// per failure streak, and never throws into training. When a queue is full the OLDEST
// undelivered entries are dropped and counted. finish() flushes within a deadline and
// reports, per tracker, what was delivered and what was dropped.
//
// Only the main process writes: a hub built with is_main_process=false does nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace accel {

// What a tracker needs to open a run.
struct RunInfo {
  std::string run_name;                              // e.g. "gpt20260101120000"
  std::string run_dir;                               // <logging_dir>/<run_name>; created by start
  std::string project;                               // the project / experiment name
  std::map<std::string, std::string> hyperparameters;  // logged once, at start
};

// One `log` call, stamped when training made it (not when it was delivered).
struct LogEntry {
  int64_t step = 0;
  double wall_time = 0;  // seconds since the Unix epoch
  std::map<std::string, double> values;
};

// Thrown by a Tracker when delivery failed. `permanent` errors (the server rejected the
// request as invalid, or a setting is wrong) are not retried: the hub drops what failed and
// reports the message. Others (server down, timeout, disk full) are retried with backoff.
// `delivered` counts the leading entries of the batch that did get through before the failure.
class TrackerError : public std::runtime_error {
 public:
  explicit TrackerError(const std::string& message, bool permanent = false, size_t delivered = 0)
      : std::runtime_error(message), permanent_(permanent), delivered_(delivered) {}
  bool permanent() const { return permanent_; }
  size_t delivered() const { return delivered_; }

 private:
  bool permanent_;
  size_t delivered_;
};

// One backend. The hub calls a tracker from one thread only, in this order:
// start (until it succeeds), log_batch (repeatedly), finish. Any call may throw; the hub retries
// the same call with the same arguments unless the error is permanent, so a tracker must make
// a retried call harmless (file trackers roll back a partial write; MLflow resumes where its
// run creation stopped, and the server ignores a metric it already has).
class Tracker {
 public:
  virtual ~Tracker() = default;
  // "tensorboard", "jsonl", "mlflow", "wandb" (used in reports and warnings).
  virtual std::string name() const = 0;
  virtual void start(const RunInfo& run) = 0;
  // Delivers the entries in order, durably enough that a crash after return loses nothing
  // the backend acknowledged (files are flushed to the OS).
  virtual void log_batch(const std::vector<LogEntry>& entries) = 0;
  // Convenience for direct use without a hub.
  void log(const std::map<std::string, double>& values, int64_t step);
  // Closes the run: success marks it finished, otherwise failed.
  virtual void finish(bool success) = 0;
};

// What make_trackers needs. Per-tracker settings (keys per type, all optional):
//   mlflow:      tracking_uri (else env MLFLOW_TRACKING_URI; required), experiment_name
//                (default: project), run_name (default: the hub's run name),
//                timeout_seconds (per request, default 30).
//                Auth only from env: MLFLOW_TRACKING_TOKEN (bearer) or
//                MLFLOW_TRACKING_USERNAME/PASSWORD (basic); never logged.
//                MLFLOW_TRACKING_INSECURE_TLS=true disables certificate checks for https.
//   wandb:       project (default: project), entity, mode (offline; "online" is written
//                offline too, with a note to `wandb sync`), dir (default: the run dir),
//                run_id (default: random 8 characters). WANDB_API_KEY is never read or written.
//   tensorboard: (none)
//   jsonl:       (none)
// Unknown keys are rejected (naming the key and the tracker) so that typos do not pass.
struct TrackerSettings {
  std::string logging_dir = ".";
  // The run's folder name below logging_dir (required; the configuration resolves one: the
  // run_name key, or run_name_prefix + the UTC start time).
  std::string run_name = "run";
  std::string project;
  std::map<std::string, std::map<std::string, std::string>> per_tracker;  // type -> key -> value
  // The process environment variables trackers honour (MLFLOW_TRACKING_URI, _TOKEN, _USERNAME,
  // _PASSWORD, _INSECURE_TLS), as ResolvedConfig::environment has them.
  std::map<std::string, std::string> environment;
};

// The trackers of one run and where the run lives.
struct TrackerSet {
  std::string run_name;
  std::string run_dir;
  std::vector<std::unique_ptr<Tracker>> trackers;
};

// Builds the trackers named in log_with ("tensorboard", "wandb", "mlflow", "jsonl", "all"
// = every one of them whose required settings are present; duplicates collapse). Nothing is
// written yet. Throws std::invalid_argument naming the bad entry or setting (e.g. an unknown
// tracker type, an unknown setting key, mlflow without a tracking URI, an empty run name).
TrackerSet make_trackers(const std::vector<std::string>& log_with, const TrackerSettings& settings);


// How the hub queues and retries.
struct HubOptions {
  size_t queue_capacity = 10000;  // entries per tracker before the oldest are dropped
  size_t max_batch = 500;         // entries handed to one log_batch call
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds finish_deadline{30000};  // default for finish()
  // Where warnings go (one line each, no newline); default: stderr with an "[accel] " prefix.
  std::function<void(const std::string&)> warn;
};

// The delay before retry number `attempt` (1 = the first retry): initial * 2^(attempt-1),
// capped at max_backoff.
std::chrono::milliseconds retry_delay(int attempt, std::chrono::milliseconds initial,
                                      std::chrono::milliseconds max_backoff);

// What one tracker did over the run.
struct TrackerReport {
  std::string name;
  size_t logged = 0;     // entries handed to the hub for this tracker
  size_t delivered = 0;  // entries the tracker acknowledged
  size_t dropped = 0;    // logged - delivered: queue overflow, permanent errors, finish deadline
  size_t dropped_overflow = 0;  // of which: the queue was full
  size_t failures = 0;          // failed attempts (each retry that failed counts)
  bool started = false;         // start() succeeded
  bool finished = false;        // finish() succeeded
  std::string error;            // the last unresolved or permanent error; empty when none
};

class TrackerHub {
 public:
  // Takes ownership. With is_main_process=false the trackers are discarded and every call
  // is a no-op (finish returns an empty report list).
  TrackerHub(TrackerSet trackers, bool is_main_process, HubOptions options = {});
  // Finishes (success unless an exception is in flight) if finish() was not called.
  ~TrackerHub();
  TrackerHub(const TrackerHub&) = delete;
  TrackerHub& operator=(const TrackerHub&) = delete;

  // Starts one delivery thread per tracker; each opens its run (retrying) before logging.
  // Call once; later calls are ignored.
  void start(const std::string& project, const std::map<std::string, std::string>& hyperparameters);
  // Queues the values for every tracker and returns at once. Never throws for tracker
  // trouble. Entries logged before start() are delivered after the run is opened.
  void log(const std::map<std::string, double>& values, int64_t step);
  // Delivers what is queued, then closes each run, giving up at the deadline (a call in
  // progress then may overrun it by its own timeout). Undelivered entries count as dropped.
  // Idempotent: later calls return the first report.
  std::vector<TrackerReport> finish(bool success);
  std::vector<TrackerReport> finish(bool success, std::chrono::milliseconds deadline);

  const std::string& run_name() const { return run_name_; }
  const std::string& run_dir() const { return run_dir_; }
  // A snapshot of the counters so far (for progress pages and tests).
  std::vector<TrackerReport> report() const;

 private:
  class Worker;
  bool active_;
  std::string run_name_, run_dir_;
  HubOptions options_;
  std::vector<std::unique_ptr<Worker>> workers_;
  bool started_ = false;
  bool finished_ = false;
  std::vector<TrackerReport> final_report_;
};

}  // namespace accel

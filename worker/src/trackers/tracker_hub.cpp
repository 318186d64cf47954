// TrackerHub: one delivery thread and one bounded queue per tracker.
//
// A worker's life: open the run (retrying), then deliver the queue in batches in order, then,
// once finish() is asked for, deliver what is left and close the run, all within the finish
// deadline. A failed call is retried with capped exponential backoff; the batch it was
// delivering goes back to the front of the queue between attempts, so that overflow
// (dropping the oldest undelivered entries) applies to it as well.
#include <condition_variable>
#include <deque>
#include <exception>
#include <iostream>
#include <mutex>
#include <thread>

#include "accel/tracking.h"

namespace accel {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds retry_delay(int attempt, std::chrono::milliseconds initial,
                                      std::chrono::milliseconds max_backoff) {
  if (initial.count() <= 0) return std::chrono::milliseconds(0);
  auto d = initial;
  for (int i = 1; i < attempt && d < max_backoff; ++i) d *= 2;
  return std::min(d, max_backoff);
}

class TrackerHub::Worker {
 public:
  Worker(std::unique_ptr<Tracker> tracker, const HubOptions& options)
      : tracker_(std::move(tracker)), options_(options) {
    report_.name = tracker_->name();
  }

  ~Worker() {
    if (thread_.joinable()) {
      request_finish(false, Clock::now());
      thread_.join();
    }
  }

  void start(RunInfo run) {
    run_ = std::move(run);
    thread_ = std::thread([this] { run_loop(); });
  }

  void push(const LogEntry& entry) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finish_requested_) return;
    queue_.push_back(entry);
    ++report_.logged;
    trim_locked();
    cv_.notify_all();
  }

  void request_finish(bool success, Clock::time_point deadline) {
    std::lock_guard<std::mutex> lock(mu_);
    if (finish_requested_) return;
    finish_requested_ = true;
    success_ = success;
    deadline_ = deadline;
    kick_ = true;  // a worker in backoff tries once more at once
    cv_.notify_all();
  }

  // Waits for the thread (if any) and returns the final counts.
  TrackerReport join() {
    const bool had_thread = thread_.joinable();
    if (had_thread) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    TrackerReport r = report_;
    r.dropped = r.logged - r.delivered;
    const size_t unsent = r.dropped - r.dropped_overflow - dropped_rejected_;
    if (unsent > 0 || !r.started || (r.started && !r.finished)) {
      std::string why = !had_thread     ? "TrackerHub::start was never called"
                        : !r.started    ? "the run was never opened"
                        : unsent > 0    ? "finish deadline passed with " + std::to_string(unsent) +
                                           " entries undelivered"
                                        : "the run was not closed before the finish deadline";
      if (!permanent_error_) r.error = r.error.empty() ? why : why + "; last error: " + r.error;
    }
    return r;
  }

  TrackerReport snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    TrackerReport r = report_;
    r.dropped = report_.dropped_overflow + dropped_rejected_;
    return r;
  }

 private:
  void warn(const std::string& message) {
    const std::string line = "tracker " + report_.name + ": " + message;
    if (options_.warn) options_.warn(line);
    else std::cerr << ("[accel] " + line + "\n") << std::flush;
  }

  // Drops the oldest entries beyond the capacity. Caller holds mu_.
  void trim_locked() {
    size_t dropped = 0;
    while (queue_.size() > options_.queue_capacity) {
      queue_.pop_front();
      ++dropped;
    }
    if (dropped == 0) return;
    report_.dropped_overflow += dropped;
    if (!overflow_warned_) {
      overflow_warned_ = true;
      warn("queue full (" + std::to_string(options_.queue_capacity) +
           " entries): dropping the oldest undelivered entries until it catches up");
    }
  }

  void on_failure(const std::string& error) {
    std::lock_guard<std::mutex> lock(mu_);
    ++report_.failures;
    report_.error = error;
    if (!in_streak_) {
      in_streak_ = true;
      warn(error + " (retrying with backoff; training goes on, nothing logged so far is lost "
                   "unless the queue overflows)");
    }
  }

  void on_success() {
    std::lock_guard<std::mutex> lock(mu_);
    if (in_streak_) {
      warn("recovered; delivering what was queued");
      in_streak_ = false;
      overflow_warned_ = false;
    }
    if (!permanent_error_) report_.error.clear();
  }

  // Waits before retry `attempt`. Returns false when the finish deadline has passed.
  bool backoff(int attempt) {
    std::unique_lock<std::mutex> lock(mu_);
    auto until = Clock::now() + retry_delay(attempt, options_.initial_backoff, options_.max_backoff);
    if (finish_requested_) until = std::min(until, deadline_);
    cv_.wait_until(lock, until, [&] { return kick_; });
    kick_ = false;
    return !(finish_requested_ && Clock::now() >= deadline_);
  }

  bool past_deadline() {
    std::lock_guard<std::mutex> lock(mu_);
    return finish_requested_ && Clock::now() >= deadline_;
  }

  // Runs `call` until it succeeds, fails permanently (returns false) or the deadline passes.
  template <typename F>
  bool with_retries(F&& call) {
    for (int attempt = 1;; ++attempt) {
      try {
        call();
        on_success();
        return true;
      } catch (const TrackerError& e) {
        if (e.permanent()) {
          std::lock_guard<std::mutex> lock(mu_);
          permanent_error_ = true;
          report_.error = e.what();
          warn(std::string(e.what()) + " (not retried)");
          return false;
        }
        on_failure(e.what());
      } catch (const std::exception& e) {
        on_failure(e.what());
      }
      if (!backoff(attempt)) return false;
    }
  }

  void run_loop() {
    if (!with_retries([&] { tracker_->start(run_); }))
      return;  // nothing can be delivered; join() counts what was queued as dropped
    {
      std::lock_guard<std::mutex> lock(mu_);
      report_.started = true;
    }
    deliver();
    if (past_deadline()) return;
    bool success;
    {
      std::lock_guard<std::mutex> lock(mu_);
      success = success_;
    }
    if (with_retries([&] { tracker_->finish(success); })) {
      std::lock_guard<std::mutex> lock(mu_);
      report_.finished = true;
    }
  }

  void deliver() {
    int attempt = 0;
    for (;;) {
      std::vector<LogEntry> batch;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || finish_requested_; });
        if (queue_.empty()) return;  // finishing and drained
        if (finish_requested_ && Clock::now() >= deadline_) return;
        const size_t n = std::min(queue_.size(), std::max<size_t>(1, options_.max_batch));
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + static_cast<long>(n)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<long>(n));
      }
      size_t delivered = 0, rejected = 0;
      std::string error;
      bool permanent = false, failed = false;
      try {
        tracker_->log_batch(batch);
        delivered = batch.size();
      } catch (const TrackerError& e) {
        failed = true;
        permanent = e.permanent();
        error = e.what();
        delivered = std::min(e.delivered(), batch.size());
        if (permanent && delivered < batch.size()) rejected = 1;  // the entry that failed
      } catch (const std::exception& e) {
        failed = true;
        error = e.what();
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        report_.delivered += delivered;
        dropped_rejected_ += rejected;
        // What was not delivered goes back to the front, oldest first, and overflow applies.
        const size_t back_from = delivered + rejected;
        queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin() + static_cast<long>(back_from)),
                      std::make_move_iterator(batch.end()));
        trim_locked();
      }
      if (!failed) {
        attempt = 0;
        on_success();
        continue;
      }
      if (permanent) {
        std::lock_guard<std::mutex> lock(mu_);
        ++report_.failures;
        report_.error = error;
        permanent_error_ = true;
        warn(error + " (entry dropped, not retried)");
        continue;
      }
      on_failure(error);
      if (!backoff(++attempt)) return;
    }
  }

  std::unique_ptr<Tracker> tracker_;
  HubOptions options_;
  RunInfo run_;
  std::thread thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LogEntry> queue_;
  TrackerReport report_;
  size_t dropped_rejected_ = 0;
  bool finish_requested_ = false, success_ = true, kick_ = false;
  Clock::time_point deadline_{};
  bool in_streak_ = false, overflow_warned_ = false, permanent_error_ = false;
};

TrackerHub::TrackerHub(TrackerSet trackers, bool is_main_process, HubOptions options)
    : active_(is_main_process), run_name_(trackers.run_name), run_dir_(trackers.run_dir),
      options_(std::move(options)) {
  if (!active_) return;
  for (auto& t : trackers.trackers)
    if (t) workers_.push_back(std::make_unique<Worker>(std::move(t), options_));
}

TrackerHub::~TrackerHub() {
  if (active_ && !finished_) {
    try {
      finish(std::uncaught_exceptions() == 0);
    } catch (...) {
    }
  }
}

void TrackerHub::start(const std::string& project,
                       const std::map<std::string, std::string>& hyperparameters) {
  if (!active_ || started_ || finished_) return;
  started_ = true;
  RunInfo run{run_name_, run_dir_, project, hyperparameters};
  for (auto& w : workers_) w->start(run);
}

void TrackerHub::log(const std::map<std::string, double>& values, int64_t step) {
  if (!active_ || finished_ || workers_.empty()) return;
  try {
    LogEntry e;
    e.step = step;
    e.wall_time = std::chrono::duration<double>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    e.values = values;
    for (auto& w : workers_) w->push(e);
  } catch (const std::exception& e) {  // e.g. out of memory: training matters more than a row
    std::cerr << "[accel] trackers: a log entry was lost: " << e.what() << std::endl;
  }
}

std::vector<TrackerReport> TrackerHub::finish(bool success) {
  return finish(success, options_.finish_deadline);
}

std::vector<TrackerReport> TrackerHub::finish(bool success, std::chrono::milliseconds deadline) {
  if (!active_) return {};
  if (finished_) return final_report_;
  finished_ = true;
  const auto until = Clock::now() + deadline;
  for (auto& w : workers_) w->request_finish(success, until);
  for (auto& w : workers_) {
    final_report_.push_back(w->join());
  }
  return final_report_;
}

std::vector<TrackerReport> TrackerHub::report() const {
  if (finished_) return final_report_;
  std::vector<TrackerReport> out;
  for (auto& w : workers_) out.push_back(w->snapshot());
  return out;
}

}  // namespace accel

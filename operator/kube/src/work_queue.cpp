#include "accel/kube/work_queue.h"

namespace accel::kube {

namespace {
double seconds_between(WorkQueue::Clock::time_point a, WorkQueue::Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

WorkQueue::WorkQueue(WorkQueueOptions options) : limiter_(options.base_delay, options.max_delay) {}

WorkQueue::~WorkQueue() { shut_down(); }

void WorkQueue::push_locked(const std::string& key, Priority priority) {
  (priority == Priority::High ? urgent_ : queue_).push_back(key);
  cv_.notify_one();
}

void WorkQueue::add_locked(const std::string& key, Priority priority) {
  if (shutting_down_) return;
  if (auto it = dirty_.find(key); it != dirty_.end()) {  // already waiting to be handed out
    if (priority == Priority::High && it->second == Priority::Normal) {
      it->second = Priority::High;  // its entry in the normal lane goes stale
      if (!processing_.count(key)) push_locked(key, Priority::High);
    }
    return;
  }
  stats_.adds_total++;
  dirty_.emplace(key, priority);
  added_at_.emplace(key, Clock::now());
  if (processing_.count(key)) {  // done() will queue it again
    ++dirty_in_flight_;
    return;
  }
  push_locked(key, priority);
}

std::int64_t WorkQueue::ready_locked() const {
  return static_cast<std::int64_t>(dirty_.size()) - dirty_in_flight_;
}

void WorkQueue::promote_due_locked(Clock::time_point now) {
  while (!schedule_.empty() && schedule_.begin()->first <= now) {
    std::string key = schedule_.begin()->second;
    schedule_.erase(schedule_.begin());
    waiting_.erase(key);
    add_locked(key, Priority::Normal);
  }
}

void WorkQueue::add(const std::string& key, Priority priority) {
  std::lock_guard<std::mutex> lock(mu_);
  add_locked(key, priority);
}

void WorkQueue::add_after(const std::string& key, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_) return;
  if (delay.count() <= 0) {
    add_locked(key, Priority::Normal);
    return;
  }
  auto ready = Clock::now() + delay;
  auto it = waiting_.find(key);
  if (it != waiting_.end()) {
    if (it->second <= ready) return;  // an earlier delivery is already scheduled
    schedule_.erase({it->second, key});
    it->second = ready;
  } else {
    waiting_.emplace(key, ready);
  }
  schedule_.insert({ready, key});
  cv_.notify_all();  // a get() may need to wake earlier now
}

void WorkQueue::add_rate_limited(const std::string& key) {
  auto delay = limiter_.when(key);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.retries_total++;
  }
  add_after(key, delay);
}

void WorkQueue::forget(const std::string& key) { limiter_.forget(key); }

int WorkQueue::num_requeues(const std::string& key) const { return limiter_.num_requeues(key); }

std::optional<std::string> WorkQueue::get() { return get_until(std::nullopt); }

std::optional<std::string> WorkQueue::get_for(std::chrono::milliseconds timeout) {
  return get_until(Clock::now() + timeout);
}

std::optional<std::string> WorkQueue::get_until(std::optional<Clock::time_point> deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (shutting_down_) return std::nullopt;
    auto now = Clock::now();
    promote_due_locked(now);
    // Drop stale entries at the lanes' fronts; a live one is handed out.
    auto live = [&](std::deque<std::string>& lane) {
      while (!lane.empty() &&
             (!dirty_.count(lane.front()) || processing_.count(lane.front())))
        lane.pop_front();
      return !lane.empty();
    };
    if (live(urgent_) || live(queue_)) break;
    if (deadline && now >= *deadline) return std::nullopt;
    std::optional<Clock::time_point> wake = deadline;
    if (!schedule_.empty() && (!wake || schedule_.begin()->first < *wake))
      wake = schedule_.begin()->first;
    if (wake)
      cv_.wait_until(lock, *wake);
    else
      cv_.wait(lock);
  }
  auto& lane = urgent_.empty() ? queue_ : urgent_;
  std::string key = std::move(lane.front());
  lane.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  auto now = Clock::now();
  if (auto it = added_at_.find(key); it != added_at_.end()) {
    stats_.queue_latency_seconds_sum += seconds_between(it->second, now);
    stats_.queue_latency_count++;
    added_at_.erase(it);
  }
  started_at_[key] = now;
  return key;
}

void WorkQueue::done(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!processing_.erase(key)) return;
  if (auto it = started_at_.find(key); it != started_at_.end()) {
    stats_.work_duration_seconds_sum += seconds_between(it->second, Clock::now());
    stats_.work_duration_count++;
    started_at_.erase(it);
  }
  if (auto it = dirty_.find(key); it != dirty_.end()) {
    --dirty_in_flight_;
    if (!shutting_down_) push_locked(key, it->second);
  }
}

void WorkQueue::shut_down() {
  std::lock_guard<std::mutex> lock(mu_);
  shutting_down_ = true;
  cv_.notify_all();
}

bool WorkQueue::shutting_down() const {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_;
}

std::size_t WorkQueue::len() {
  std::lock_guard<std::mutex> lock(mu_);
  promote_due_locked(Clock::now());
  return static_cast<std::size_t>(ready_locked());
}

WorkQueueStats WorkQueue::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  promote_due_locked(Clock::now());
  WorkQueueStats s = stats_;
  s.depth = ready_locked();
  s.waiting = static_cast<std::int64_t>(waiting_.size());
  s.in_flight = static_cast<std::int64_t>(processing_.size());
  return s;
}

}  // namespace accel::kube

#include "accel/progress/progress_poller.h"

#include <cpprest/http_client.h>

#include <algorithm>
#include <atomic>

#include "accel/controller/observed.h"

namespace accel::op {

namespace {
bool same(const api::Progress& a, const api::Progress& b) {
  return a.step == b.step && a.totalSteps == b.totalSteps &&
         a.samplesPerSecond == b.samplesPerSecond && a.etaSeconds == b.etaSeconds &&
         a.lastStepTime == b.lastStepTime && a.loss == b.loss;
}
}  // namespace

std::optional<api::Progress> parse_progress_body(const std::string& body) {
  if (body.size() > kMaxProgressBodyBytes) return std::nullopt;
  return progress_from_json(nlohmann::json::parse(body, nullptr, false));
}

std::optional<api::Progress> fetch_progress(const std::string& url,
                                            std::chrono::milliseconds timeout) {
  try {
    web::http::client::http_client_config config;
    config.set_timeout(timeout);
    web::http::client::http_client http(utility::conversions::to_string_t(url), config);
    auto response = http.request(web::http::methods::GET).get();
    if (response.status_code() != web::http::status_codes::OK) return std::nullopt;
    if (response.headers().content_length() > kMaxProgressBodyBytes) return std::nullopt;
    return parse_progress_body(response.extract_utf8string(true).get());
  } catch (const std::exception&) {
    return std::nullopt;  // unreachable, timed out, reset: no progress this round
  }
}

ProgressPoller::ProgressPoller(TargetsFn targets, ChangedFn changed,
                               std::chrono::milliseconds interval,
                               std::chrono::milliseconds timeout, FetchFn fetch)
    : targets_(std::move(targets)),
      changed_(std::move(changed)),
      interval_(interval),
      timeout_(timeout),
      fetch_(std::move(fetch)) {
  if (!fetch_) fetch_ = [t = timeout_](const std::string& url) { return fetch_progress(url, t); };
}

ProgressPoller::~ProgressPoller() { stop(); }

void ProgressPoller::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { loop(); });
}

void ProgressPoller::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ProgressPoller::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const auto started = std::chrono::steady_clock::now();
    // Rounds do not wait for each other: this one's stragglers (a hung or dripping rank, at most
    // `timeout`) finish on their own thread while the next round starts on time and asks every
    // other target again.
    for (auto it = rounds_.begin(); it != rounds_.end();) {
      if (it->done->load()) {
        it->thread.join();
        it = rounds_.erase(it);
      } else {
        ++it;
      }
    }
    auto done = std::make_shared<std::atomic<bool>>(false);
    rounds_.push_back({std::thread([this, done] {
                         poll_once();
                         done->store(true);
                       }),
                       done});
    cv_.wait_until(lock, started + interval_, [this] { return stop_; });
  }
  std::list<Round> rounds = std::move(rounds_);
  lock.unlock();
  for (auto& r : rounds) r.thread.join();
}

void ProgressPoller::poll_once() {
  std::vector<Target> targets;
  {
    // A target still in flight from an earlier round is not asked again; those whose last
    // answer failed go last, so healthy ranks are never queued behind hostile ones.
    std::vector<Target> all = targets_();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : all)
      if (!in_flight_.count(t.key)) targets.push_back(std::move(t));
    std::stable_partition(targets.begin(), targets.end(),
                          [this](const Target& t) { return !failing_.count(t.key); });
    for (const auto& t : targets) in_flight_.insert(t.key);
  }
  if (targets.empty()) return;
  // A few threads share the round: one unreachable pod costs one of them `timeout`, not the
  // round, and never a reconcile.
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i = next++; i < targets.size(); i = next++) {
      auto p = fetch_(targets[i].url);
      bool moved = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        in_flight_.erase(targets[i].key);
        if (!p) {
          failing_.insert(targets[i].key);
          continue;
        }
        failing_.erase(targets[i].key);
        auto it = latest_.find(targets[i].key);
        moved = it == latest_.end() || !same(it->second, *p);
        latest_[targets[i].key] = *p;
      }
      if (moved && changed_) changed_(targets[i].key);
    }
  };
  const std::size_t threads = std::min<std::size_t>(kThreadsPerRound, targets.size());
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
}

std::optional<api::Progress> ProgressPoller::latest(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = latest_.find(key);
  if (it == latest_.end()) return std::nullopt;
  return it->second;
}

void ProgressPoller::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  latest_.erase(key);
  failing_.erase(key);
}

}  // namespace accel::op

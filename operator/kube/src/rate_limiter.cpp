#include "accel/kube/rate_limiter.h"

#include <algorithm>

namespace accel::kube {

ExponentialBackoffRateLimiter::ExponentialBackoffRateLimiter(std::chrono::milliseconds base,
                                                             std::chrono::milliseconds cap)
    : base_(base), cap_(cap) {}

std::chrono::milliseconds ExponentialBackoffRateLimiter::when(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  int exp = failures_[key]++;
  // base * 2^exp without overflow: stop doubling once past the cap.
  auto d = base_;
  for (int i = 0; i < exp && d < cap_; ++i) d *= 2;
  return std::min(d, cap_);
}

void ExponentialBackoffRateLimiter::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  failures_.erase(key);
}

int ExponentialBackoffRateLimiter::num_requeues(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

}  // namespace accel::kube

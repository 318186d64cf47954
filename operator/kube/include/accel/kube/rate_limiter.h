// rate_limiter.h — per-key exponential backoff (client-go's ItemExponentialFailureRateLimiter).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace accel::kube {

// when(key) returns base * 2^(failures so far) capped at `cap`, then counts one more failure;
// forget(key) resets the count (call it when the key was processed successfully).
class ExponentialBackoffRateLimiter {
 public:
  explicit ExponentialBackoffRateLimiter(
      std::chrono::milliseconds base = std::chrono::milliseconds(5),
      std::chrono::milliseconds cap = std::chrono::seconds(1000));
  std::chrono::milliseconds when(const std::string& key);
  void forget(const std::string& key);
  int num_requeues(const std::string& key) const;

 private:
  std::chrono::milliseconds base_, cap_;
  mutable std::mutex mu_;
  std::map<std::string, int> failures_;
};

}  // namespace accel::kube

// token_source.h — the bearer token for each request, following a rotated token file.
#pragma once

#include <mutex>
#include <string>

namespace accel::kube {

// Returns `static_token` if non-empty; else the trimmed contents of `token_file`, re-read
// whenever the file's modification time or size changes (kubelet rotates projected
// service-account tokens by replacing the file). Thread-safe. An unreadable file keeps the
// last good token and only throws (std::runtime_error naming the file) if there never was one.
class TokenSource {
 public:
  TokenSource(std::string static_token, std::string token_file);
  std::string current();
  bool empty() const { return token_.empty() && file_.empty(); }

 private:
  std::string token_, file_;
  std::mutex mu_;
  std::string cached_;
  long long seen_mtime_ns_ = -1;
  long long seen_size_ = -1;
};

}  // namespace accel::kube

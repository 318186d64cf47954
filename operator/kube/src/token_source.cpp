#include "accel/kube/token_source.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace accel::kube {

TokenSource::TokenSource(std::string static_token, std::string token_file)
    : token_(std::move(static_token)), file_(std::move(token_file)) {}

std::string TokenSource::current() {
  if (!token_.empty() || file_.empty()) return token_;
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st {};
  if (::stat(file_.c_str(), &st) == 0) {
    long long mtime = static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
    long long size = static_cast<long long>(st.st_size);
    if (mtime != seen_mtime_ns_ || size != seen_size_ || cached_.empty()) {
      std::ifstream in(file_);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string t = ss.str();
      while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
      if (in && !t.empty()) {
        cached_ = t;
        seen_mtime_ns_ = mtime;
        seen_size_ = size;
      }
    }
  }
  if (cached_.empty())
    throw std::runtime_error("bearer token file " + file_ + " is missing, unreadable or empty");
  return cached_;
}

}  // namespace accel::kube

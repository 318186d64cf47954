#include "time_format.h"

#include <ctime>
#include <cstdio>

namespace accel::kube::detail {

namespace {
std::string format(std::chrono::system_clock::time_point t, bool micro) {
  using namespace std::chrono;
  auto secs = time_point_cast<seconds>(t);
  if (secs > t) secs -= seconds(1);
  auto us = duration_cast<microseconds>(t - secs).count();
  std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf);
  if (micro) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(us));
    out += frac;
  }
  return out + "Z";
}
}  // namespace

std::string format_time(std::chrono::system_clock::time_point t) { return format(t, false); }
std::string format_micro_time(std::chrono::system_clock::time_point t) { return format(t, true); }

}  // namespace accel::kube::detail

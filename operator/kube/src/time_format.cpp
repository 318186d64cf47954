#include "time_format.h"

#include <date/date.h>

namespace accel::kube::detail {

std::string format_time(std::chrono::system_clock::time_point t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(t));
}

std::string format_micro_time(std::chrono::system_clock::time_point t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::microseconds>(t));
}

}  // namespace accel::kube::detail

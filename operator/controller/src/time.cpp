// time.cpp — RFC 3339 <-> Time with Howard Hinnant's date library (the reference
// implementation of C++20's <chrono> calendar and formatting): no C library time-zone state,
// so pure and thread-safe.
#include "accel/controller/time.h"

#include <cctype>
#include <sstream>

#include <date/date.h>

namespace accel::op {

std::string format_rfc3339(Time t) {
  return date::format("%FT%TZ", std::chrono::floor<std::chrono::seconds>(t));
}

std::optional<Time> parse_rfc3339(const std::string& s) {
  // A '.' must start a fraction: date::parse would read "00.Z" as whole seconds.
  const auto dot = s.find('.');
  if (dot != std::string::npos && (dot + 1 >= s.size() || !std::isdigit(static_cast<unsigned char>(s[dot + 1]))))
    return std::nullopt;
  for (const char* format : {"%FT%TZ", "%FT%T%Ez"}) {
    std::istringstream in(s);
    date::sys_time<std::chrono::nanoseconds> t;
    in >> date::parse(format, t);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof())
      return std::chrono::time_point_cast<Time::duration>(t);
  }
  return std::nullopt;
}

std::int64_t ceil_seconds(Duration d) {
  const std::int64_t ms = d.count();
  return ms <= 0 ? 0 : (ms + 999) / 1000;
}

}  // namespace accel::op

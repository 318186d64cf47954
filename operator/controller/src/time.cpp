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

namespace {

// YYYY-MM-DDTHH:MM:SS[.d{1,9}](Z|+HH[:MM]|-HH[:MM]), checked before date::parse sees the text: it
// reads the seconds field as a long double, and for too many digits ("03:0111111111") it
// converts a NaN to an integer (undefined behaviour; found by fuzzing the /progress reader). A
// '.' must start a fraction too: date::parse would read "00.Z" as whole seconds.
bool has_rfc3339_shape(const std::string& s) {
  const auto digits = [&](std::size_t at, std::size_t n) {
    if (at + n > s.size()) return false;
    for (std::size_t i = at; i < at + n; ++i)
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    return true;
  };
  const auto is = [&](std::size_t at, char c) { return at < s.size() && s[at] == c; };
  if (!(digits(0, 4) && is(4, '-') && digits(5, 2) && is(7, '-') && digits(8, 2) && is(10, 'T') &&
        digits(11, 2) && is(13, ':') && digits(14, 2) && is(16, ':') && digits(17, 2)))
    return false;
  // date::parse reads into nanoseconds since 1970 as int64, which end in 2262: a later year
  // overflowed (undefined behaviour; found by fuzzing). 1678 is where they begin.
  const int year = std::stoi(s.substr(0, 4));
  if (year < 1678 || year > 2261) return false;
  std::size_t i = 19;
  if (is(i, '.')) {
    const std::size_t start = ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
    if (i == start || i - start > 9) return false;
  }
  if (is(i, 'Z')) return i + 1 == s.size();
  if (!((is(i, '+') || is(i, '-')) && digits(i + 1, 2))) return false;
  return i + 3 == s.size() || (is(i + 3, ':') && digits(i + 4, 2) && i + 6 == s.size());
}

}  // namespace

std::optional<Time> parse_rfc3339(const std::string& s) {
  if (!has_rfc3339_shape(s)) return std::nullopt;
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

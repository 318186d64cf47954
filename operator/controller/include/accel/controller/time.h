// time.h — the reconciler's notion of time: wall-clock instants and RFC 3339 text.
//
// The reconciler never reads a clock: callers pass `now`. Kubernetes timestamps are RFC 3339
// with second precision ("2024-05-01T12:00:00Z"), so format_rfc3339 truncates to seconds.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace accel::op {

using Time = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;

// "YYYY-MM-DDTHH:MM:SSZ" in UTC, truncated to whole seconds.
std::string format_rfc3339(Time t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)" (what kube-apiserver writes; the
// offset's minutes may be left out); std::nullopt for anything else, including an invalid
// date, a leap second or an empty string.
std::optional<Time> parse_rfc3339(const std::string& text);

// Whole seconds, rounded up: how long a requeue must wait so that the timer has fired.
std::int64_t ceil_seconds(Duration d);

}  // namespace accel::op

// time_format.h — Kubernetes timestamps.
#pragma once

#include <chrono>
#include <string>

namespace accel::kube::detail {

// metav1.Time: "2006-01-02T15:04:05Z" (UTC, whole seconds).
std::string format_time(std::chrono::system_clock::time_point t);
// metav1.MicroTime: "2006-01-02T15:04:05.000000Z".
std::string format_micro_time(std::chrono::system_clock::time_point t);

}  // namespace accel::kube::detail

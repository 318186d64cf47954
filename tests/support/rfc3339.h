// rfc3339.h — timestamps in the form Kubernetes objects carry them.
#pragma once

#include <ctime>
#include <string>

namespace accel::testing {

// The current UTC time as RFC 3339 to the second ("2024-05-01T12:00:00Z", metav1.Time).
inline std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace accel::testing

// backoff.cpp — see backoff.h.
#include "accel/controller/backoff.h"

#include <algorithm>
#include <cmath>

namespace accel::op {

Duration backoff_for(std::int64_t restarts, const api::BackoffSpec& policy) {
  const double initial =
      static_cast<double>(std::max<std::int64_t>(0, policy.initialSeconds.value_or(10)));
  const double cap =
      static_cast<double>(std::max<std::int64_t>(0, policy.maxSeconds.value_or(300)));
  const double factor = std::max(1.0, policy.factor.value_or(2.0));
  // pow() may give inf for large exponents; min() with the cap keeps it finite.
  const double seconds = std::min(
      cap, initial * std::pow(factor, static_cast<double>(std::max<std::int64_t>(0, restarts))));
  return Duration(static_cast<std::int64_t>(std::llround(seconds * 1000.0)));
}

}  // namespace accel::op

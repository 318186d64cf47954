// backoff.h — the delay between a gang's failure and the next attempt.
#pragma once

#include <cstdint>

#include "accel/api/acceljob.h"
#include "accel/controller/time.h"

namespace accel::op {

// initialSeconds * factor^restarts, at most maxSeconds, where `restarts` is the number of
// restarts before this one (0 for the first restart, which waits initialSeconds). Unset fields
// take the CRD defaults (10 s, 300 s, 2.0). Never negative, never overflows (large `restarts`
// give maxSeconds); a negative `restarts` counts as 0.
Duration backoff_for(std::int64_t restarts, const api::BackoffSpec& policy);

}  // namespace accel::op

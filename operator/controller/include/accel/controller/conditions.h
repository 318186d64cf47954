// conditions.h — status.conditions with Kubernetes semantics: at most one condition per type;
// lastTransitionTime changes only when status changes (reason and message may change freely).
#pragma once

#include <string>
#include <vector>

#include "accel/api/acceljob.h"
#include "accel/controller/time.h"

namespace accel::op {

// Condition types of an AccelJob.
inline constexpr const char* kCondCreated = "Created";
inline constexpr const char* kCondRunning = "Running";
inline constexpr const char* kCondRestarting = "Restarting";
inline constexpr const char* kCondSucceeded = "Succeeded";
inline constexpr const char* kCondFailed = "Failed";
inline constexpr const char* kCondSuspended = "Suspended";
// All-or-nothing placement of the current attempt (GANG.md): absent with --gang-scheduling=off.
inline constexpr const char* kCondGangScheduled = "GangScheduled";
// Waiting for quota in a Kueue LocalQueue (KUEUE.md): absent for jobs that name no queue.
inline constexpr const char* kCondQueued = "Queued";

// The condition of `type`, or nullptr.
const api::Condition* find_condition(const std::vector<api::Condition>& conditions,
                                     const std::string& type);
api::Condition* find_condition(std::vector<api::Condition>& conditions, const std::string& type);
// True when a condition of `type` exists with status "True".
bool condition_is_true(const std::vector<api::Condition>& conditions, const std::string& type);

// Sets (or appends) the condition of `type`. lastTransitionTime becomes `now` when the
// condition is new or its status differs; otherwise it is kept.
void set_condition(std::vector<api::Condition>& conditions, const std::string& type, bool status,
                   const std::string& reason, const std::string& message, Time now);
// Sets the condition to False only when it exists (absent conditions stay absent).
void clear_condition(std::vector<api::Condition>& conditions, const std::string& type,
                     const std::string& reason, const std::string& message, Time now);

}  // namespace accel::op

// reconcile.h — the AccelJob state machine as one pure function.
//
// reconcile(job, observed, now) reads the job (spec and the status written by the previous
// reconcile, which is the machine's only memory), what exists now, and the time, and returns
// what to do and the new status. It is level-triggered: it trusts no earlier event, so it is
// safe to call any number of times and after a crash. operator/controller/RECONCILER.md has the
// states, transitions and actions as a table.
//
// Contract for the executor (operator/kube/, or `accel run`'s in-process store):
//   1. Write Decision::status through the status subresource first, with the job's
//      resourceVersion as precondition, and only when it differs from job.status. On a
//      conflict, drop the actions and reconcile again. Writing status first means a crash
//      between the two steps never loses a restart count or repeats one: the actions are
//      recomputed from the new status.
//   2. Then carry out the actions in order. Create* treat AlreadyExists as success (names are
//      deterministic); Delete* treat NotFound as success. RequeueAfter is at most one, last.
//   3. A watch event on the job or any of its pods/services reconciles again.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/api/acceljob.h"
#include "accel/controller/observed.h"
#include "accel/controller/options.h"
#include "accel/controller/time.h"

namespace accel::op {

// Create the headless Service (object from desired_service()).
struct CreateService {
  nlohmann::json object;
};
// Create one worker pod (object from desired_pod()).
struct CreatePod {
  nlohmann::json object;
};
// Delete one pod; force = gracePeriodSeconds 0 (only for pods stuck Terminating).
struct DeletePod {
  std::string name;
  bool force = false;
};
// Delete every pod of the job, any attempt: the pods matching pod_selector(job), with the
// pods' own grace period (the workers checkpoint in it: suspend, disruptions, clean-up), or
// with `grace_seconds` after a failure (a gang that lost a rank cannot checkpoint: it only needs
// to end, and a short grace keeps the restart quick).
struct DeleteAllPods {
  std::optional<std::int64_t> grace_seconds;
};
// Reconcile this job again after `after`, even without a watch event: a timer matters.
struct RequeueAfter {
  Duration after;
};
// A Kubernetes Event on the AccelJob. type is "Normal" or "Warning"; reason is CamelCase.
struct RecordEvent {
  std::string type;
  std::string reason;
  std::string message;
};
// Delete the AccelJob itself (ttlSecondsAfterFinished ran out); garbage collection follows.
struct DeleteJob {};
// Native gang scheduling: create one attempt's PodGroup (object from desired_pod_group()),
// always before that attempt's pods.
struct CreatePodGroup {
  nlohmann::json object;
};
// Delete an earlier attempt's PodGroup (Kubernetes keeps it, through its protection finalizer,
// until no pod names it).
struct DeletePodGroup {
  std::string name;
};

using Action = std::variant<CreateService, CreatePod, DeletePod, DeleteAllPods, RequeueAfter,
                            RecordEvent, DeleteJob, CreatePodGroup, DeletePodGroup>;

// One line per action, for logs and table tests: "CreateService gpt", "CreatePod gpt-a0-n1",
// "DeletePod gpt-a0-n1", "DeletePod gpt-a0-n1 force", "DeleteAllPods", "RequeueAfter 20s"
// (whole seconds, rounded up), "Event Warning ConfigError", "DeleteJob", "CreatePodGroup gpt-a0",
// "DeletePodGroup gpt-a0".
std::string describe(const Action& action);

struct Decision {
  std::vector<Action> actions;
  api::AccelJobStatus status;

  // The RequeueAfter action's delay, if there is one.
  std::optional<Duration> requeue_after() const;
  // describe() of every action, in order.
  std::vector<std::string> summary() const;
};

// Reason strings written to conditions, lastFailure.reason and Events, besides the
// exit-code reasons of api::exit_reason() ("ConfigError", "Signal9", ...).
namespace reason {
inline constexpr const char* kOOMKilled = "OOMKilled";
inline constexpr const char* kDisruption = "DisruptionTarget";  // when the condition has no reason
inline constexpr const char* kEvicted = "Evicted";
inline constexpr const char* kPodDeleted = "PodDeleted";  // a gang pod vanished or is being deleted
inline constexpr const char* kPodFailed = "PodFailed";    // failed with no exit code to read
inline constexpr const char* kStartupTimeout = "StartupTimeout";
inline constexpr const char* kStalled = "Stalled";
inline constexpr const char* kDeadlineExceeded = "DeadlineExceeded";
inline constexpr const char* kMaxRestartsExceeded = "MaxRestartsExceeded";
inline constexpr const char* kInvalidSpec = "InvalidSpec";
// Condition GangScheduled (native gang scheduling, GANG.md).
inline constexpr const char* kWaitingForPlacement = "WaitingForPlacement";
inline constexpr const char* kUnschedulable = "Unschedulable";
inline constexpr const char* kGangPlaced = "GangPlaced";
inline constexpr const char* kGangSchedulingUnavailable = "GangSchedulingUnavailable";
}  // namespace reason

// The state machine. `job` must be defaulted (api::apply_defaults; std::logic_error otherwise) and carry
// metadata.name, uid, namespace and generation. Never throws for anything a user can write:
// a spec that cannot become pods fails the job with reason InvalidSpec.
Decision reconcile(const api::AccelJob& job, const ObservedState& observed, Time now,
                   const OperatorOptions& options = {});

}  // namespace accel::op

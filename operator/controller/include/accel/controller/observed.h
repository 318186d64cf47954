// observed.h — what the reconciler sees of the world: the job's pods and services (from the
// informer cache) and rank 0's latest /progress. Plain values; observed_pod_from_json() maps
// a core/v1 Pod to them so the Kubernetes side and `accel run`'s in-process store agree.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/api/acceljob.h"
#include "accel/controller/time.h"

namespace accel::op {

enum class PodPhase { Pending, Running, Succeeded, Failed, Unknown };
std::string to_string(PodPhase);
// Kubernetes spelling ("Running"); anything else is Unknown.
PodPhase parse_pod_phase(const std::string&);

struct PodCondition {
  std::string type;    // e.g. "DisruptionTarget", "Ready"
  std::string status;  // "True", "False", "Unknown"
  std::string reason;  // e.g. "PreemptionByScheduler", "EvictionByEvictionAPI"
  std::string message;
};

// The worker container's final state (state.terminated).
struct Termination {
  int exit_code = 0;
  std::string reason;   // e.g. "Error", "OOMKilled", "Completed"
  std::string message;  // the container's termination message, if any
  std::optional<Time> finished_at;
};

struct ObservedPod {
  std::string name;
  std::int64_t attempt = -1;    // label accel.dev/attempt; -1 when missing or not a number
  std::int64_t node_rank = -1;  // label accel.dev/node-rank; -1 when missing or not a number
  PodPhase phase = PodPhase::Pending;
  std::string reason;  // status.reason, e.g. "Evicted", "DeadlineExceeded"
  std::string message;
  std::optional<Termination> terminated;  // container "worker", once it has terminated
  std::vector<PodCondition> conditions;
  std::optional<Time> created;             // metadata.creationTimestamp
  std::optional<Time> deletion_timestamp;  // set: the pod is Terminating
  std::vector<std::string> scheduling_gates;  // spec.schedulingGates[].name (e.g. Kueue's admission)

  bool terminating() const { return deletion_timestamp.has_value(); }
  bool finished() const { return phase == PodPhase::Succeeded || phase == PodPhase::Failed; }
  // The condition of this type whose status is "True", or nullptr.
  const PodCondition* true_condition(const std::string& type) const;
};

struct ObservedState {
  std::vector<ObservedPod> pods;          // every pod owned by the job, any attempt, any state
  std::vector<std::string> services;      // names of the job's Services that exist
  std::optional<api::Progress> progress;  // rank 0's /progress, when it could be read now
};

// Reads the fields above from a core/v1 Pod object. Missing fields keep their defaults;
// unreadable timestamps are treated as absent. Never throws on a well-formed JSON object.
ObservedPod observed_pod_from_json(const nlohmann::json& pod);

// Reads the worker's /progress document (worker/METRICS.md: step, totalSteps,
// samplesPerSecond, etaSeconds, lastStepTime as Unix seconds) into status.progress's form,
// lastStepTime as RFC 3339 (an RFC 3339 string is accepted too). std::nullopt when `doc` is
// not an object or has no integer "step".
std::optional<api::Progress> progress_from_json(const nlohmann::json& doc);

}  // namespace accel::op

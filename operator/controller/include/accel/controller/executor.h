// executor.h — carrying out a reconcile Decision, written once for every world it runs in.
//
// reconcile() (reconcile.h) decides what should happen; execute() makes it so, following
// reconcile.h's contract: status first (only when it changed, guarded by the job's
// resourceVersion; a conflict drops the actions), then the actions in order, then at most one
// requeue. The world is a Cluster: the Kubernetes API server (operator/manager) or this
// machine's processes (operator/local, behind `accel run`). Both observe the world into the
// same ObservedState (observed.h), so a pod means the same thing to the reconciler in both.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "accel/api/acceljob.h"
#include "accel/controller/reconcile.h"
#include "accel/controller/time.h"

namespace accel::op {

// What an executor needs from the world. Implementations report "already there" / "already
// gone" as success (names are deterministic, so a repeated create is the same object) and
// throw for anything else (the caller retries the key with backoff).
class Cluster {
 public:
  virtual ~Cluster() = default;

  enum class StatusWrite { Written, Conflict, JobGone };
  // Writes `status` through the job's status subresource, guarded by the job's
  // resourceVersion: Conflict when the stored job changed since it was read.
  virtual StatusWrite write_status(const api::AccelJob& job, const api::AccelJobStatus& status) = 0;
  virtual void create_service(const api::AccelJob& job, const nlohmann::json& object) = 0;
  virtual void create_pod(const api::AccelJob& job, const nlohmann::json& object) = 0;
  // force: grace period 0 (a pod stuck Terminating on a lost node).
  virtual void delete_pod(const api::AccelJob& job, const std::string& name, bool force) = 0;
  // Every pod of the job that is not already terminating (pod_selector(job)), with the pods'
  // own grace period or `grace_seconds`.
  virtual void delete_all_pods(const api::AccelJob& job, std::optional<std::int64_t> grace_seconds) = 0;
  virtual void record_event(const api::AccelJob& job, const RecordEvent& event) = 0;
  virtual void delete_job(const api::AccelJob& job) = 0;
  // Native gang scheduling only (OperatorOptions::gang).
  virtual void create_pod_group(const api::AccelJob& job, const nlohmann::json& object) = 0;
  virtual void delete_pod_group(const api::AccelJob& job, const std::string& name) = 0;
};

struct Outcome {
  enum class Kind {
    Done,      // status (if changed) and every action carried out
    Conflict,  // the status write conflicted: nothing else was done; reconcile again
    JobGone,   // the job was deleted meanwhile: nothing to do
  } kind = Kind::Done;
  bool status_written = false;
  std::optional<Duration> requeue_after;  // the Decision's RequeueAfter, if any
};

// Carries out `decision` for `job` (as it was read: spec and the status the decision started
// from) against `cluster`. Exceptions from the cluster propagate; what was done before stays
// done, and a reconcile of the new state repeats nothing (reconcile.h).
Outcome execute(const api::AccelJob& job, const Decision& decision, Cluster& cluster);

}  // namespace accel::op

#include "accel/controller/executor.h"

#include <type_traits>
#include <variant>

namespace accel::op {

Outcome execute(const api::AccelJob& job, const Decision& decision, Cluster& cluster) {
  Outcome outcome;
  // 1. Status first: a crash after this write recomputes the actions from the new status, so a
  //    restart is never lost or counted twice.
  if (nlohmann::json(job.status) != nlohmann::json(decision.status)) {
    switch (cluster.write_status(job, decision.status)) {
      case Cluster::StatusWrite::Conflict:
        outcome.kind = Outcome::Kind::Conflict;
        return outcome;
      case Cluster::StatusWrite::JobGone:
        outcome.kind = Outcome::Kind::JobGone;
        return outcome;
      case Cluster::StatusWrite::Written:
        outcome.status_written = true;
        break;
    }
  }
  // 2. The actions, in order. 3. At most one requeue (reconcile() emits it last).
  for (const auto& action : decision.actions) {
    std::visit(
        [&](const auto& a) {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<A, CreateService>) {
            cluster.create_service(job, a.object);
          } else if constexpr (std::is_same_v<A, CreatePod>) {
            cluster.create_pod(job, a.object);
          } else if constexpr (std::is_same_v<A, DeletePod>) {
            cluster.delete_pod(job, a.name, a.force);
          } else if constexpr (std::is_same_v<A, DeleteAllPods>) {
            cluster.delete_all_pods(job, a.grace_seconds);
          } else if constexpr (std::is_same_v<A, RecordEvent>) {
            cluster.record_event(job, a);
          } else if constexpr (std::is_same_v<A, DeleteJob>) {
            cluster.delete_job(job);
          } else if constexpr (std::is_same_v<A, CreatePodGroup>) {
            cluster.create_pod_group(job, a.object);
          } else if constexpr (std::is_same_v<A, DeletePodGroup>) {
            cluster.delete_pod_group(job, a.name);
          } else if constexpr (std::is_same_v<A, RequeueAfter>) {
            outcome.requeue_after = a.after;
          }
        },
        action);
  }
  return outcome;
}

}  // namespace accel::op

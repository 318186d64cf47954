// options.h — operator-wide settings the reconciler needs (flags of accel-operator, or the
// defaults `accel run` uses). Plain values; every field has a working default.
#pragma once

#include <cstdint>
#include <string>

#include "accel/controller/time.h"

namespace accel::op {

// How a gang's pods reach the scheduler (operator/controller/GANG.md).
enum class GangScheduling {
  // Pods are created one by one and placed independently (`accel run`, or --gang-scheduling=off).
  Off,
  // Kubernetes' own gang scheduling (scheduling.k8s.io/v1alpha2, 1.35+): one PodGroup per attempt
  // with minCount = nodes; every pod names it in spec.schedulingGroup, so kube-scheduler places
  // all pods of the attempt or none.
  Native,
  // Asked for (--gang-scheduling=auto) but the cluster does not serve the PodGroup API: pods are
  // placed one by one as with Off, and every job says so in its GangScheduled condition and an Event.
  Unavailable,
};

struct OperatorOptions {
  // argv[0] of every worker container: the pod runs `<entrypoint> launch -- <command> <args>`.
  std::string entrypoint = "accel";
  // Empty: MASTER_ADDR is "<job>-n0.<job>", resolved through the pod's DNS search path (works
  // with any cluster domain). Set (e.g. "cluster.local"): the fully qualified
  // "<job>-n0.<job>.<namespace>.svc.<domain>", which saves the search-path lookups.
  std::string cluster_domain;
  // Add prometheus.io/scrape|port|path annotations to pods that serve /metrics.
  bool prometheus_annotations = true;
  // TCPStore rendezvous port of node 0 (MASTER_PORT), also a port of the headless Service.
  int rendezvous_port = 29500;
  // Grace period of the old gang's pods when the operator restarts it after a failure
  // (DeleteAllPods): the gang cannot checkpoint without the failed rank.
  std::int64_t failure_teardown_grace_seconds = 10;
  // A pod still present this long after its deletionTimestamp plus the grace period is
  // considered stuck on a dead node and is force-deleted (grace 0).
  Duration force_delete_after = std::chrono::seconds(30);
  GangScheduling gang = GangScheduling::Off;
  // Honour a job's kueue.x-k8s.io/queue-name label (KUEUE.md): its pods form one Kueue plain-pod
  // group per attempt and the job is Queued while Kueue holds them. Off: the label is ignored.
  bool kueue = true;
};

}  // namespace accel::op

// naming.h — the names and labels the operator derives from a job. One place, so the
// reconciler, the Kubernetes side (selectors) and tests agree.
//
//   Service   <job>                      headless, selects the job's pods
//   Pod       <job>-a<attempt>-n<node>   attempt in the name: a new gang never collides with
//                                        a terminating old one
//   hostname  <job>-n<node>              stable across attempts; with subdomain <job> the DNS
//                                        name is <job>-n<node>.<job>.<namespace>.svc
//   PodGroup  <job>-a<attempt>           native gang scheduling: one per attempt, so a new gang
//                                        never waits on the old one's group
// Job names are DNS-1035 labels of at most 50 characters (api validation), so hostnames stay
// within the 63 characters of a DNS label.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "accel/api/acceljob.h"
#include "accel/controller/options.h"

namespace accel::op {

inline constexpr const char* kLabelJobName = "accel.dev/job-name";
inline constexpr const char* kLabelJobUid = "accel.dev/job-uid";
inline constexpr const char* kLabelNodeRank = "accel.dev/node-rank";
inline constexpr const char* kLabelAttempt = "accel.dev/attempt";
inline constexpr const char* kWorkerContainer = "worker";
// The worker's scratch emptyDir (at api::kScratchDir), so a read-only image still has a /tmp.
inline constexpr const char* kScratchVolume = "accel-scratch";
inline constexpr const char* kRendezvousPortName = "rendezvous";
inline constexpr const char* kMetricsPortName = "metrics";
// Kueue (KUEUE.md): a job labelled with a queue has its pods queued as one plain-pod group per
// attempt, admitted all together through the admission scheduling gate.
inline constexpr const char* kKueueQueueLabel = "kueue.x-k8s.io/queue-name";
inline constexpr const char* kKueuePriorityClassLabel = "kueue.x-k8s.io/priority-class";
inline constexpr const char* kKueuePodGroupLabel = "kueue.x-k8s.io/pod-group-name";
inline constexpr const char* kKueueGroupTotalCount = "kueue.x-k8s.io/pod-group-total-count";
inline constexpr const char* kKueueRetriableInGroup = "kueue.x-k8s.io/retriable-in-group";
inline constexpr const char* kKueueAdmissionGate = "kueue.x-k8s.io/admission";
// Kubernetes' gang-scheduling API (1.35+, alpha; feature gate GenericWorkload).
inline constexpr const char* kPodGroupApiVersion = "scheduling.k8s.io/v1alpha2";

std::string service_name(const api::AccelJob& job);
std::string pod_name(const api::AccelJob& job, std::int64_t attempt, std::int64_t node_rank);
std::string pod_hostname(const api::AccelJob& job, std::int64_t node_rank);
std::string pod_group_name(const api::AccelJob& job, std::int64_t attempt);
// The Kueue LocalQueue the job names (label kueue.x-k8s.io/queue-name), or "" (also when the
// operator's Kueue integration is off).
std::string kueue_queue(const api::AccelJob& job, const OperatorOptions& options);
// MASTER_ADDR: node 0's DNS name, short or fully qualified (see OperatorOptions::cluster_domain).
std::string master_addr(const api::AccelJob& job, const OperatorOptions& options);

// Labels on every object of the job: job name and uid.
std::map<std::string, std::string> job_labels(const api::AccelJob& job);
// Label selector (Kubernetes string form) matching every pod of this job and no other, also
// not the pods of an earlier job of the same name: "accel.dev/job-name=x,accel.dev/job-uid=u".
std::string pod_selector(const api::AccelJob& job);

}  // namespace accel::op

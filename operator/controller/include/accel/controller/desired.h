// desired.h — desired(): the Kubernetes objects one attempt of an AccelJob consists of.
//
// Pure: the same (job, attempt, options) always gives byte-identical JSON (keys sorted by
// nlohmann::json, lists in a fixed order), so the output is golden-testable and the reconciler
// can create objects idempotently by name. No secret value ever appears: secretKeyRef env is
// copied as valueFrom, and labels/annotations carry only names and numbers.
//
// What a worker pod gets (see RECONCILER.md for why):
//   name <job>-a<attempt>-n<node>, hostname <job>-n<node>, subdomain <job>;
//   restartPolicy Never (the operator restarts the whole gang, never one pod in place);
//   labels accel.dev/{job-name, job-uid, node-rank, attempt}; a controller ownerReference;
//   one container "worker": image, command [entrypoint, "launch", "--"] + spec.command +
//   spec.args, env = api::node_env(job, node, attempt, master_addr, rendezvous_port) then one
//   valueFrom per trackers[].secretRef (see tracker_secret_env_name) then spec.env,
//   resources = spec.resources with limits["nvidia.com/gpu"] = gpusPerNode when > 0,
//   ports rendezvous (node 0 only) and, when spec.metrics.port > 0, one per process:
//   "metrics" = metrics.port, "metrics-<r>" = metrics.port + r (the worker binds these), template
//   volumeMounts plus the checkpoint volume mounted at checkpoint.dir;
//   template nodeSelector, tolerations, volumes, serviceAccountName, priorityClassName;
//   terminationGracePeriodSeconds from options; prometheus.io annotations when enabled;
//   with native gang scheduling, spec.schedulingGroup.podGroupName = the attempt's PodGroup.
// The PodGroup (native gang scheduling only): <job>-a<attempt>, the job's labels plus the
// attempt, a controller ownerReference, schedulingPolicy.gang.minCount = nodes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/api/acceljob.h"
#include "accel/controller/options.h"

namespace accel::op {

struct DesiredObjects {
  nlohmann::json service;            // the headless Service
  std::vector<nlohmann::json> pods;  // node 0 .. nodes-1
  std::optional<nlohmann::json> pod_group;  // with GangScheduling::Native only
};

// The objects of attempt `attempt` (0-based, = status.attempt; workers see it as
// ACCEL_RESTART_COUNT). The job must be defaulted (api::apply_defaults). Throws std::invalid_argument
// naming the field when the spec cannot be turned into pods: attempt < 0, metadata.name or
// metadata.uid empty, spec.checkpoint.volume not in spec.template.volumes, or the metrics
// ports (metrics.port .. metrics.port + procsPerNode - 1) include the rendezvous port or pass
// 65535. The Service carries the rendezvous port and the same metrics ports.
DesiredObjects desired(const api::AccelJob& job, std::int64_t attempt,
                       const OperatorOptions& options);

// Throws std::invalid_argument naming spec.metrics.port when the metrics ports include this
// operator's rendezvous port or pass 65535: the one reason desired() fails that the CRD cannot
// see (the rendezvous port is the operator's flag, not the spec's).
void check_metrics_ports(const api::AccelJob& job, const OperatorOptions& options);

// The pieces of desired(), for callers that need one object.
nlohmann::json desired_service(const api::AccelJob& job, const OperatorOptions& options);
nlohmann::json desired_pod(const api::AccelJob& job, std::int64_t attempt, std::int64_t node_rank,
                           const OperatorOptions& options);
nlohmann::json desired_pod_group(const api::AccelJob& job, std::int64_t attempt);

// The ownerReference every object of the job carries (controller and blockOwnerDeletion true),
// so deleting the AccelJob garbage-collects its Service and Pods.
nlohmann::json owner_reference(const api::AccelJob& job);

// Env var a tracker's secretRef is exposed as: the variable the tracker's own client reads
// (wandb: WANDB_API_KEY, mlflow: MLFLOW_TRACKING_TOKEN), else ACCEL_TRACKER_<TYPE>_SECRET.
std::string tracker_secret_env_name(api::TrackerType type);

}  // namespace accel::op

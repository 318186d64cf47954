// fixtures.h — jobs, pods and times shared by the controller unit tests.
#pragma once

#include <string>

#include "accel/api/acceljob.h"
#include "accel/controller/naming.h"
#include "accel/controller/observed.h"
#include "accel/controller/time.h"

namespace accel::op::testing {

inline std::string example_path(const std::string& file) {
  return std::string(ACCEL_SOURCE_DIR) + "/examples/" + file;
}

// examples/gpt-2node-cpu.yaml as the API server hands it over: namespace, uid, generation.
inline api::AccelJob cpu_job() {
  api::AccelJob job = api::load_acceljob_file(example_path("gpt-2node-cpu.yaml"));
  job.metadata.namespace_ = "research";
  job.metadata.uid = "6f1c2f0e-0000-4000-8000-000000000001";
  job.metadata.generation = 1;
  api::apply_defaults(job);  // as the operator does where it reads a job
  return job;
}

// examples/mlp-gpu.yaml: one node with 8 GPUs.
inline api::AccelJob gpu_job() {
  api::AccelJob job = api::load_acceljob_file(example_path("mlp-gpu.yaml"));
  job.metadata.namespace_ = "vision";
  job.metadata.uid = "6f1c2f0e-0000-4000-8000-000000000002";
  job.metadata.generation = 1;
  api::apply_defaults(job);
  return job;
}

// T0 + s seconds; T0 = 2025-01-01T00:00:00Z.
inline Time t(std::int64_t s) {
  return *parse_rfc3339("2025-01-01T00:00:00Z") + std::chrono::seconds(s);
}

// A pod of `job`'s gang `attempt` at `node`, as observed_pod_from_json would report it.
inline ObservedPod pod(const api::AccelJob& job, std::int64_t attempt, std::int64_t node,
                       PodPhase phase, Time created = t(0)) {
  ObservedPod p;
  p.name = pod_name(job, attempt, node);
  p.attempt = attempt;
  p.node_rank = node;
  p.phase = phase;
  p.created = created;
  return p;
}

// The same pod after its worker container exited with `code`.
inline ObservedPod exited(ObservedPod p, int code, Time finished,
                          const std::string& container_reason = "") {
  p.phase = code == 0 ? PodPhase::Succeeded : PodPhase::Failed;
  p.terminated = Termination{
      code, container_reason.empty() ? (code == 0 ? "Completed" : "Error") : container_reason, "",
      finished};
  return p;
}

inline ObservedPod deleting(ObservedPod p, Time since) {
  p.deletion_timestamp = since;
  return p;
}

}  // namespace accel::op::testing

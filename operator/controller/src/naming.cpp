// naming.cpp — see naming.h.
#include "accel/controller/naming.h"

namespace accel::op {

std::string service_name(const api::AccelJob& job) { return job.metadata.name; }

std::string pod_name(const api::AccelJob& job, std::int64_t attempt, std::int64_t node_rank) {
  return job.metadata.name + "-a" + std::to_string(attempt) + "-n" + std::to_string(node_rank);
}

std::string pod_group_name(const api::AccelJob& job, std::int64_t attempt) {
  return job.metadata.name + "-a" + std::to_string(attempt);
}

std::string kueue_queue(const api::AccelJob& job, const OperatorOptions& options) {
  if (!options.kueue) return "";
  auto it = job.metadata.labels.find(kKueueQueueLabel);
  return it == job.metadata.labels.end() ? "" : it->second;
}

std::string pod_hostname(const api::AccelJob& job, std::int64_t node_rank) {
  return job.metadata.name + "-n" + std::to_string(node_rank);
}

std::string master_addr(const api::AccelJob& job, const OperatorOptions& options) {
  std::string addr = pod_hostname(job, 0) + "." + service_name(job);
  if (!options.cluster_domain.empty())
    addr += "." + job.metadata.namespace_ + ".svc." + options.cluster_domain;
  return addr;
}

std::map<std::string, std::string> job_labels(const api::AccelJob& job) {
  return {{kLabelJobName, job.metadata.name}, {kLabelJobUid, job.metadata.uid}};
}

std::string pod_selector(const api::AccelJob& job) {
  std::string out;
  for (const auto& [k, v] : job_labels(job)) out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

}  // namespace accel::op

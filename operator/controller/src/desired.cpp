// desired.cpp — desired(): job -> headless Service + one Pod per node. See desired.h.
#include "accel/controller/desired.h"

#include <stdexcept>

#include "accel/api/env_contract.h"
#include "accel/controller/naming.h"

namespace accel::op {
namespace {

using json = nlohmann::json;


void require_identity(const api::AccelJob& job) {
  if (job.metadata.name.empty())
    throw std::invalid_argument(
        "metadata.name: empty; the operator derives pod and service names from it");
  if (job.metadata.uid.empty())
    throw std::invalid_argument("metadata.uid of AccelJob '" + job.metadata.name +
                                "': empty; owner references need the uid the API server assigned");
}

json object_meta(const api::AccelJob& job, const std::string& name,
                 const std::map<std::string, std::string>& labels) {
  json meta = {
      {"name", name}, {"labels", labels}, {"ownerReferences", json::array({owner_reference(job)})}};
  if (!job.metadata.namespace_.empty()) meta["namespace"] = job.metadata.namespace_;
  return meta;
}

json port(const char* name, std::int64_t number) {
  return {{"name", name}, {"containerPort", number}, {"protocol", "TCP"}};
}

json secret_env(const std::string& name, const api::SecretKeySelector& ref) {
  return {{"name", name},
          {"valueFrom", {{"secretKeyRef", {{"name", ref.name}, {"key", ref.key}}}}}};
}

json env_list(const api::AccelJob& job, std::int64_t attempt, std::int64_t node,
              const OperatorOptions& options) {
  json env = json::array();
  for (const auto& [k, v] : api::node_env(job, static_cast<int>(node), static_cast<int>(attempt),
                                          master_addr(job, options), options.rendezvous_port))
    env.push_back({{"name", k}, {"value", v}});
  auto user_sets = [&](const std::string& name) {
    for (const auto& e : job.spec.env)
      if (e.name == name) return true;
    return false;
  };
  // /metrics binds the pod's own IP, not every interface: pods sharing a host network
  // (hostNetwork, the e2e node agent) then do not collide on metrics.port. (spec.env cannot
  // override it: ACCEL_* names are reserved.)
  env.push_back({{"name", "ACCEL_METRICS_HOST"},
                   {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}});
  // A tracker credential the user already wires through spec.env explicitly is left to them.
  for (const auto& t : job.spec.trackers) {
    if (!t.secretRef) continue;
    const std::string name = tracker_secret_env_name(t.type);
    if (!user_sets(name)) env.push_back(secret_env(name, *t.secretRef));
  }
  for (const auto& e : job.spec.env) {
    if (e.valueFrom && e.valueFrom->secretKeyRef)
      env.push_back(secret_env(e.name, *e.valueFrom->secretKeyRef));
    else
      env.push_back({{"name", e.name}, {"value", e.value.value_or("")}});
  }
  return env;
}

// One /metrics port per training process: metrics.port + local rank (the worker binds
// exactly these), named "metrics", "metrics-1", ... for PodMonitor port selection.
std::vector<std::pair<std::string, std::int64_t>> metrics_ports(const api::AccelJobSpec& s) {
  std::vector<std::pair<std::string, std::int64_t>> out;
  const std::int64_t base = *s.metrics.port;
  if (base <= 0) return out;
  for (std::int64_t r = 0; r < *s.procsPerNode; ++r)
    out.emplace_back(r == 0 ? std::string(kMetricsPortName)
                            : std::string(kMetricsPortName) + "-" + std::to_string(r),
                     base + r);
  return out;
}


json resources(const api::AccelJobSpec& s) {
  json r = json::object();
  std::map<std::string, std::string> limits = s.resources.limits;
  std::map<std::string, std::string> requests = s.resources.requests;
  // spec.gpusPerNode decides the GPUs. An extended resource's request must equal its limit
  // (the API server rejects the pod otherwise; left out, it defaults to the limit), so a GPU
  // request the user wrote is overwritten too.
  if (*s.gpusPerNode > 0) {
    limits["nvidia.com/gpu"] = std::to_string(*s.gpusPerNode);
    if (requests.count("nvidia.com/gpu")) requests["nvidia.com/gpu"] = limits["nvidia.com/gpu"];
  }
  if (!requests.empty()) r["requests"] = requests;
  if (!limits.empty()) r["limits"] = limits;
  return r;
}

// The scratch emptyDir at /tmp, unless a volumeMount of the template already covers /tmp.
bool wants_scratch(const api::AccelJobSpec& s) {
  if (s.template_.volumeMounts.is_array())
    for (const auto& m : s.template_.volumeMounts)
      if (m.is_object() && api::mount_covers(m.value("mountPath", ""), api::kScratchDir))
        return false;
  return true;
}

json volume_mounts(const api::AccelJob& job, bool scratch) {
  const api::AccelJobSpec& s = job.spec;
  json mounts = s.template_.volumeMounts.is_array() ? s.template_.volumeMounts : json::array();
  if (scratch)
    mounts.push_back({{"name", kScratchVolume}, {"mountPath", api::kScratchDir}});
  if (!s.checkpoint.volume || s.checkpoint.volume->empty()) return mounts;
  const std::string& volume = *s.checkpoint.volume;
  bool declared = false;
  if (s.template_.volumes.is_array())
    for (const auto& v : s.template_.volumes)
      if (v.is_object() && v.value("name", "") == volume) declared = true;
  if (!declared)
    throw std::invalid_argument(
        "spec.checkpoint.volume of AccelJob '" + job.metadata.name + "': '" + volume +
        "' is not a volume of spec.template.volumes; add it there or unset checkpoint.volume");
  const std::string dir = s.checkpoint.dir.value_or("/workspace/checkpoints");
  for (const auto& m : mounts)
    if (m.is_object() && m.value("name", "") == volume && api::mount_covers(m.value("mountPath", ""), dir))
      return mounts;
  mounts.push_back({{"name", volume}, {"mountPath", dir}});
  return mounts;
}

// Pod- and container-level securityContext from spec.template.securityContext (defaulted).
std::pair<json, json> security_contexts(const api::SecurityContextSpec& c) {
  json pod = {{"runAsNonRoot", *c.runAsNonRoot}, {"seccompProfile", {{"type", *c.seccompProfile}}}};
  if (c.runAsUser) pod["runAsUser"] = *c.runAsUser;
  if (c.runAsGroup) pod["runAsGroup"] = *c.runAsGroup;
  if (c.fsGroup) pod["fsGroup"] = *c.fsGroup;
  json caps = json::object();
  if (c.capabilities.drop && !c.capabilities.drop->empty()) caps["drop"] = *c.capabilities.drop;
  if (!c.capabilities.add.empty()) caps["add"] = c.capabilities.add;
  json container = {{"allowPrivilegeEscalation", *c.allowPrivilegeEscalation},
                    {"readOnlyRootFilesystem", *c.readOnlyRootFilesystem}};
  if (!caps.empty()) container["capabilities"] = caps;
  return {pod, container};
}

}  // namespace

void check_metrics_ports(const api::AccelJob& job, const OperatorOptions& options) {
  const auto ports = metrics_ports(job.spec);
  if (ports.empty()) return;
  const std::int64_t first = ports.front().second, last = ports.back().second;
  if (last > 65535)
    throw std::invalid_argument("spec.metrics.port of AccelJob '" + job.metadata.name + "': " +
                                std::to_string(first) + " + " + std::to_string(ports.size() - 1) +
                                " (one port per process) passes 65535; choose a lower port");
  if (options.rendezvous_port >= first && options.rendezvous_port <= last)
    throw std::invalid_argument("spec.metrics.port of AccelJob '" + job.metadata.name +
                                "': ports " + std::to_string(first) + ".." + std::to_string(last) +
                                " (one per process) include the rendezvous port " +
                                std::to_string(options.rendezvous_port) + "; choose another port");
}

std::string tracker_secret_env_name(api::TrackerType type) {
  switch (type) {
    case api::TrackerType::WandB:
      return "WANDB_API_KEY";
    case api::TrackerType::MLflow:
      return "MLFLOW_TRACKING_TOKEN";
    default:
      break;
  }
  return api::tracker_setting_env_name(type, "secret");
}

json owner_reference(const api::AccelJob& job) {
  return {{"apiVersion", api::kApiVersion}, {"kind", api::kKind}, {"name", job.metadata.name},
          {"uid", job.metadata.uid},        {"controller", true}, {"blockOwnerDeletion", true}};
}

json desired_service(const api::AccelJob& job, const OperatorOptions& options) {
  api::require_defaulted(job, "desired_service");
  require_identity(job);
  check_metrics_ports(job, options);
  json ports = json::array({{{"name", kRendezvousPortName},
                             {"port", options.rendezvous_port},
                             {"targetPort", options.rendezvous_port},
                             {"protocol", "TCP"}}});
  for (const auto& [name, number] : metrics_ports(job.spec))
    ports.push_back(
        {{"name", name}, {"port", number}, {"targetPort", number}, {"protocol", "TCP"}});
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", object_meta(job, service_name(job), job_labels(job))},
          {"spec",
           {{"clusterIP", "None"},
            // Ranks resolve node 0 before any pod is Ready (workers have no readiness probe).
            {"publishNotReadyAddresses", true},
            {"selector", job_labels(job)},
            {"ports", ports}}}};
}

json desired_pod(const api::AccelJob& job, std::int64_t attempt, std::int64_t node,
                 const OperatorOptions& options) {
  api::require_defaulted(job, "desired_pod");
  require_identity(job);
  const api::AccelJobSpec& s = job.spec;
  if (attempt < 0)
    throw std::invalid_argument("attempt " + std::to_string(attempt) + " is negative");
  const std::int64_t metrics = *s.metrics.port;
  check_metrics_ports(job, options);

  auto labels = job_labels(job);
  labels[kLabelNodeRank] = std::to_string(node);
  labels[kLabelAttempt] = std::to_string(attempt);
  json annotations = json::object();
  if (const std::string queue = kueue_queue(job, options); !queue.empty()) {
    // Kueue's plain-pod group (KUEUE.md): one group per attempt, admitted whole; a group whose
    // pods have all ended is finished (retriable-in-group "false"), so a failed attempt's quota is
    // released and the next attempt queues as a group of its own instead of "replacing" pods.
    labels[kKueueQueueLabel] = queue;
    labels[kKueuePodGroupLabel] = pod_group_name(job, attempt);
    if (auto p = job.metadata.labels.find(kKueuePriorityClassLabel); p != job.metadata.labels.end())
      labels[kKueuePriorityClassLabel] = p->second;
    annotations[kKueueGroupTotalCount] = std::to_string(*s.nodes);
    annotations[kKueueRetriableInGroup] = "false";
  }
  json meta = object_meta(job, pod_name(job, attempt, node), labels);
  if (options.prometheus_annotations && metrics > 0) {
    annotations["prometheus.io/scrape"] = "true";
    annotations["prometheus.io/port"] = std::to_string(metrics);
    annotations["prometheus.io/path"] = "/metrics";
  }
  if (!annotations.empty()) meta["annotations"] = annotations;

  json command = json::array({options.entrypoint, "launch", "--"});
  for (const auto& c : s.command) command.push_back(c);
  for (const auto& a : s.args) command.push_back(a);

  json ports = json::array();
  if (node == 0) ports.push_back(port(kRendezvousPortName, options.rendezvous_port));
  for (const auto& [name, number] : metrics_ports(s)) ports.push_back(port(name.c_str(), number));

  json container = {{"name", kWorkerContainer},
                    {"image", s.image},
                    {"command", command},
                    {"env", env_list(job, attempt, node, options)}};
  if (!s.workingDir.empty()) container["workingDir"] = s.workingDir;
  if (!ports.empty()) container["ports"] = ports;
  json res = resources(s);
  if (!res.empty()) container["resources"] = res;
  const bool scratch = wants_scratch(s);
  json mounts = volume_mounts(job, scratch);
  if (!mounts.empty()) container["volumeMounts"] = mounts;
  auto [pod_security, container_security] = security_contexts(s.template_.securityContext);
  container["securityContext"] = container_security;

  json spec = {{"hostname", pod_hostname(job, node)},
               {"subdomain", service_name(job)},
               {"restartPolicy", "Never"},
               // Service links would add one env var per Service in the namespace to every rank.
               {"enableServiceLinks", false},
               {"terminationGracePeriodSeconds", *job.spec.template_.terminationGracePeriodSeconds},
               {"securityContext", pod_security},
               {"containers", json::array({container})}};
  const api::PodTemplateSpec& t = s.template_;
  if (!t.nodeSelector.empty()) spec["nodeSelector"] = t.nodeSelector;
  if (t.tolerations.is_array() && !t.tolerations.empty()) spec["tolerations"] = t.tolerations;
  json volumes = t.volumes.is_array() ? t.volumes : json::array();
  if (scratch) volumes.push_back({{"name", kScratchVolume}, {"emptyDir", json::object()}});
  if (!volumes.empty()) spec["volumes"] = volumes;
  if (!t.serviceAccountName.empty()) spec["serviceAccountName"] = t.serviceAccountName;
  if (!t.priorityClassName.empty()) spec["priorityClassName"] = t.priorityClassName;
  if (options.gang == GangScheduling::Native)
    spec["schedulingGroup"] = {{"podGroupName", pod_group_name(job, attempt)}};

  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", meta}, {"spec", spec}};
}

json desired_pod_group(const api::AccelJob& job, std::int64_t attempt) {
  api::require_defaulted(job, "desired_pod_group");
  require_identity(job);
  auto labels = job_labels(job);
  labels[kLabelAttempt] = std::to_string(attempt);
  // The gang is the whole attempt: minCount = nodes, so the scheduler binds no pod until it has
  // found room for all of them, and then binds them together.
  return {{"apiVersion", kPodGroupApiVersion},
          {"kind", "PodGroup"},
          {"metadata", object_meta(job, pod_group_name(job, attempt), labels)},
          {"spec", {{"schedulingPolicy", {{"gang", {{"minCount", *job.spec.nodes}}}}}}}};
}

DesiredObjects desired(const api::AccelJob& job, std::int64_t attempt,
                       const OperatorOptions& options) {
  api::require_defaulted(job, "desired");
  DesiredObjects out;
  out.service = desired_service(job, options);
  for (std::int64_t n = 0; n < *job.spec.nodes; ++n)
    out.pods.push_back(desired_pod(job, attempt, n, options));
  if (options.gang == GangScheduling::Native) out.pod_group = desired_pod_group(job, attempt);
  return out;
}

}  // namespace accel::op

#include "accel/kube/resource.h"

#include <stdexcept>

namespace accel::kube {

std::string Resource::api_version() const {
  return group.empty() ? version : group + "/" + version;
}

std::string Resource::collection_path(const std::string& ns) const {
  std::string base = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (!namespaced) {
    if (!ns.empty())
      throw std::invalid_argument(plural + " is cluster-scoped but namespace '" + ns +
                                  "' was given");
    return base + "/" + plural;
  }
  if (ns.empty()) return base + "/" + plural;  // across all namespaces (list/watch)
  return base + "/namespaces/" + ns + "/" + plural;
}

std::string Resource::object_path(const std::string& ns, const std::string& name) const {
  if (name.empty()) throw std::invalid_argument(plural + ": object name is empty");
  if (namespaced && ns.empty())
    throw std::invalid_argument(plural + " '" + name + "' is namespaced: namespace is empty");
  return collection_path(ns) + "/" + name;
}

namespace resources {
Resource config_maps() { return {"", "v1", "configmaps", true, "ConfigMap"}; }
Resource pods() { return {"", "v1", "pods", true, "Pod"}; }
Resource services() { return {"", "v1", "services", true, "Service"}; }
Resource events() { return {"", "v1", "events", true, "Event"}; }
Resource namespaces() { return {"", "v1", "namespaces", false, "Namespace"}; }
Resource leases() { return {"coordination.k8s.io", "v1", "leases", true, "Lease"}; }
Resource pod_groups() { return {"scheduling.k8s.io", "v1alpha2", "podgroups", true, "PodGroup"}; }
}  // namespace resources

}  // namespace accel::kube

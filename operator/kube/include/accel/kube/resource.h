// resource.h — which REST collection a call addresses, and the paths it lives at.
#pragma once

#include <string>

namespace accel::kube {

// A resource as the API serves it: {group, version, plural, namespaced}. group "" is core/v1.
struct Resource {
  std::string group;    // "" for core, "coordination.k8s.io", "accel.dev", ...
  std::string version;  // "v1"
  std::string plural;   // "configmaps"
  bool namespaced = true;
  std::string kind;     // "ConfigMap" — informational (apiVersion/kind of created objects)

  // "v1" or "<group>/<version>", the apiVersion of its objects.
  std::string api_version() const;
  // /api/v1/namespaces/<ns>/configmaps; an empty namespace lists across all namespaces.
  // Throws std::invalid_argument for a namespaced resource used without a namespace where one
  // is required (object paths) or for a cluster-scoped one given a namespace.
  std::string collection_path(const std::string& ns) const;
  std::string object_path(const std::string& ns, const std::string& name) const;
};

namespace resources {
Resource config_maps();
Resource pods();
Resource services();
Resource events();       // core/v1 Events
Resource namespaces();
Resource leases();       // coordination.k8s.io/v1
Resource pod_groups();   // scheduling.k8s.io/v1alpha2 (gang scheduling, Kubernetes 1.35+)
}  // namespace resources

}  // namespace accel::kube

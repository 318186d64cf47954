// kwok.h — fake nodes for tests of scheduling: KWOK (sigs.k8s.io/kwok) keeps Nodes alive (Ready,
// heartbeats, leases) and moves the pods bound to them to Running without running anything, so
// the real kube-scheduler places pods on nodes whose allocatable a test chooses (e.g. one
// nvidia.com/gpu each), and ends deleted pods as a kubelet does (phase Failed, then removed).
// KWOK runs through scripts/controlplane.sh start-kwok and stops with the
// control plane, also when the test process dies.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "control_plane.h"

namespace accel::testing {

class KwokNodes {
 public:
  // Starts KWOK against `cp` (which must run kube-scheduler: ControlPlaneOptions::with_controllers).
  explicit KwokNodes(const ControlPlane& cp);
  ~KwokNodes();  // deletes the nodes it added
  KwokNodes(const KwokNodes&) = delete;
  KwokNodes& operator=(const KwokNodes&) = delete;

  // Adds a Node with these labels and this allocatable (and capacity): `resources` override the
  // defaults cpu 32, memory 256Gi, pods 110, e.g. {{"nvidia.com/gpu", "1"}}. Returns once KWOK
  // reports it Ready with that allocatable; throws std::runtime_error otherwise.
  void add_node(const std::string& name, const std::map<std::string, std::string>& labels,
                const std::map<std::string, std::string>& resources);
  void remove_node(const std::string& name);

 private:
  const ControlPlane& cp_;
  std::vector<std::string> nodes_;
};

}  // namespace accel::testing

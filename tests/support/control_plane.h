// control_plane.h — the one fixture through which tests use a real control plane.
//
// ControlPlane starts kube-apiserver + etcd (and, when asked, kube-controller-manager and
// kube-scheduler) built by scripts/build-kube.sh, on free loopback ports, through
// scripts/controlplane.sh, in a fresh temporary folder. The destructor stops everything;
// if the test process dies first, the script's watcher does. Binaries must be built:
// the test fails with the command to run when they are not.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "accel/subprocess.h"

namespace accel::testing {

struct ControlPlaneOptions {
  bool with_controllers = false;  // kube-controller-manager + kube-scheduler
  // With controllers: how long a node may miss heartbeats before the node lifecycle
  // controller marks it NotReady (Unknown) and taints it unreachable; 0 = the
  // controller-manager's default (50 s). Also checks nodes every second when set.
  std::chrono::seconds node_monitor_grace_period{0};
  // Kubernetes' own gang scheduling: the GenericWorkload and GangScheduling feature gates and
  // the scheduling.k8s.io/v1alpha2 API (Workload, PodGroup). Off, as on most clusters today.
  bool gang_scheduling = false;
};

class ControlPlane {
 public:
  explicit ControlPlane(ControlPlaneOptions options = {});
  ~ControlPlane();
  ControlPlane(const ControlPlane&) = delete;
  ControlPlane& operator=(const ControlPlane&) = delete;

  const std::string& dir() const { return dir_; }
  // Admin kubeconfig with a client certificate; kubeconfig_token() uses a bearer token.
  std::string kubeconfig() const { return dir_ + "/kubeconfig"; }
  std::string kubeconfig_token() const { return dir_ + "/kubeconfig-token"; }
  std::string server() const;       // https://127.0.0.1:PORT
  std::string ca_file() const { return dir_ + "/pki/ca.crt"; }
  std::string kubectl_path() const;  // kubectl of the same version as the apiserver
  std::string kwok_dir() const;      // the kwok binary and its stage definitions (kwok.h)

  // Runs kubectl against this control plane (admin, client certificate).
  CommandResult kubectl(const std::vector<std::string>& args,
                        std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

  // Stops and restarts kube-apiserver (same port, same etcd): watches see the connection drop.
  void restart_apiserver();
  // Stops etcd, waits `downtime` (the apiserver stays up and answers errors meanwhile), then
  // starts it again on the same data dir and ports: every write and quorum read fails while it
  // is down, watches stay open but see nothing.
  void restart_etcd(std::chrono::seconds downtime);

 private:
  std::string value_of(const std::string& key) const;  // from DIR/env
  std::string dir_;
};

// Repository root (for scripts/ and examples/).
std::string source_dir();

}  // namespace accel::testing

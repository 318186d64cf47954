// kueue.h — a real Kueue (sigs.k8s.io/kueue, built by `scripts/build-kube.sh kueue`) for tests
// that need queueing, quotas and preemption.
//
// Kueue starts through scripts/kueue.sh as a process beside a ControlPlane: its CRDs are
// applied, its webhooks are served on a free loopback port with a serving certificate the
// script generates, and webhook configurations derived from Kueue's own manifests point at it
// with `url:` clients. It runs with the control plane's admin kubeconfig and manages pods only
// in namespaces carrying `namespace_label` (tests/support/KUEUE.md lists every difference from
// Kueue's default install). The constructor returns once the apiserver's calls reach the
// webhook; the destructor stops Kueue and removes its webhook configurations; if the test
// process dies first, the script's watcher stops it. The binary must be built: the test fails
// with the command to run when it is not.
#pragma once

#include <string>

#include "control_plane.h"

namespace accel::testing {

struct KueueOptions {
  // KEY=VALUE: the namespaces whose pods (and Jobs) Kueue manages. Kueue's pod webhooks and its
  // managedJobsNamespaceSelector match only these, so kube-system and the namespaces of other
  // tests' pods are never touched.
  std::string namespace_label = "accel.dev/kueue=enabled";
};

class Kueue {
 public:
  // Starts Kueue against `cp`, which must outlive this object (a member declared after the
  // ControlPlane is destroyed before it). Throws std::runtime_error with the script's output
  // (which names the build command when the binary is missing) when Kueue does not start.
  explicit Kueue(const ControlPlane& cp, KueueOptions options = {});
  ~Kueue();
  Kueue(const Kueue&) = delete;
  Kueue& operator=(const Kueue&) = delete;

  // DIR of scripts/kueue.sh: config.yaml (Kueue's Configuration), logs/kueue.log, pki/, env.
  const std::string& dir() const { return dir_; }
  std::string log_file() const { return dir_ + "/logs/kueue.log"; }
  const std::string& namespace_label() const { return options_.namespace_label; }
  std::string namespace_label_key() const;
  std::string namespace_label_value() const;
  int webhook_port() const;

 private:
  KueueOptions options_;
  std::string dir_;
};

}  // namespace accel::testing

// node_agent.h — a test kubelet: runs the pods bound to one Node as host processes.
//
// The agent registers a Node (Ready, with capacity) and keeps it alive the way a kubelet does
// (a coordination Lease in kube-node-lease renewed every few seconds, plus the Ready
// condition's heartbeat), so the node-lifecycle controller neither taints nor evicts it.
// It watches pods whose spec.nodeName is that node and, for each one:
//   - gives it its own loopback IP (127.A.B.C, never one handed out before: pod_ips.h) and
//     writes status.podIP/podIPs/hostIP;
//   - resolves its first container's env (value; valueFrom fieldRef metadata.name,
//     metadata.namespace, metadata.uid, spec.nodeName, spec.serviceAccountName, status.podIP,
//     status.hostIP; secretKeyRef and configMapKeyRef read through the API);
//   - gives a pod that names a service account (spec.serviceAccountName, unless
//     automountServiceAccountToken is false) its credentials: a TokenRequest token bound to it,
//     written with the cluster CA into a kubeconfig named by KUBECONFIG (the in-cluster path
//     /var/run/secrets/... cannot be redirected, so KUBERNETES_SERVICE_HOST is not set);
//   - runs command + args as a host process (argv[0] mapped to a build binary, the build's
//     binary folders first on PATH, HOME and the working directory in the pod's own folder),
//     with pod DNS names resolvable through libnss_wrapper (LD_PRELOAD, NSS_WRAPPER_HOSTS: a
//     hosts file the agent rewrites with every pod's name, hostname, hostname.subdomain and
//     its .<ns>, .<ns>.svc, .<ns>.svc.cluster.local forms; NSS_WRAPPER_HOSTNAME = the pod's
//     hostname, so the process sees its own name and address);
//   - reports phase Running with a running, started, ready containerStatus, and on exit
//     Succeeded / Failed with state.terminated (exitCode, 128+signal for a signal, reason);
//   - on deletion (deletionTimestamp) sends SIGTERM to the process group, SIGKILL after the
//     grace period, then deletes the pod object with grace 0, as the kubelet finishes it;
//   - once the pod's main process has ended, SIGKILLs whatever the pod started that still runs
//     (as the end of a container's PID 1 ends its PID namespace) and waits until it is gone
//     before reporting the end: those are the processes whose environment carries
//     ACCEL_E2E_POD_UID=<the pod's uid>, which finds ranks too, though `accel launch` starts
//     each in a process group of its own.
// Not done: images, containers, namespaces, cgroups, volumes (paths are used as they are on
// the host), probes (ready as soon as started), init/sidecar containers, restarts
// (restartPolicy is treated as Never), resource limits.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/kube/client.h"
#include "accel/kube/informer.h"
#include "accel/subprocess.h"

namespace accel::testing {

struct NodeAgentOptions {
  std::string node_name = "e2e-node";
  std::string work_dir;  // pod folders, logs, hosts file, kubeconfigs (must exist)
  std::string server;    // https://127.0.0.1:PORT, written into pods' kubeconfigs
  std::string ca_file;   // the cluster CA (PEM file), ditto
  // Container argv[0] -> absolute path of the binary that stands for it. Unmapped names are
  // looked up in PATH; the folders of the mapped binaries come first on it.
  // (An absolute argv[0], as an image's ENTRYPOINT has, is mapped by its file name.)
  std::map<std::string, std::string> binaries;
  // Image repository (no registry, no tag: "accel-operator") -> its ENTRYPOINT, used as a
  // container runtime does when the container sets no command.
  std::map<std::string, std::vector<std::string>> entrypoints;
};

class NodeAgent {
 public:
  // `client` (admin credentials) must outlive the agent. Registers the Node (throws if the
  // API refuses) and starts the heartbeat and pod threads.
  NodeAgent(kube::Client& client, NodeAgentOptions options);
  // Stops the threads and kills every process still running (SIGTERM, then SIGKILL).
  ~NodeAgent();
  NodeAgent(const NodeAgent&) = delete;
  NodeAgent& operator=(const NodeAgent&) = delete;

  // PID of the process running pod ns/name (the pod's main process, leader of its process
  // group), if it runs now.
  std::optional<pid_t> pid_of(const std::string& ns, const std::string& name) const;
  // IP the agent gave pod ns/name ("" if none yet).
  std::string ip_of(const std::string& ns, const std::string& name) const;
  // Where pod ns/name's stdout+stderr go (every pod incarnation appends to its own file).
  std::string log_path(const std::string& ns, const std::string& name) const;
  std::string log_of(const std::string& ns, const std::string& name) const;
  // Every pod log the agent wrote plus the agent's own log, for failure messages.
  std::string all_logs() const;
  // Processes started so far / running now (all pods).
  int started() const { return started_.load(); }
  int running() const;

 private:
  struct PodRun;
  void heartbeat_loop();
  void pod_loop();
  void sync_once();
  void sync_pod(const nlohmann::json& pod);
  void start_pod(const nlohmann::json& pod, PodRun& run);
  void finish_pod(const nlohmann::json& pod, PodRun& run);
  void end_leftovers(const PodRun& run) const;
  void write_hosts_file();
  std::map<std::string, std::string> resolve_env(const nlohmann::json& pod, const PodRun& run);
  std::string service_account_kubeconfig(const nlohmann::json& pod, const std::string& dir);
  void log(const std::string& line) const;
  void heartbeat();

  kube::Client& client_;
  NodeAgentOptions options_;
  std::unique_ptr<kube::Informer> informer_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<PodRun>> runs_;  // by pod uid
  std::string hosts_;  // what the hosts file holds (pod thread only)
  std::atomic<bool> stopping_{false};
  std::atomic<int> started_{0};
  std::thread heartbeat_thread_, pod_thread_;
};

}  // namespace accel::testing

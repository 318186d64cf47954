// local_cluster.h — `accel run`'s world: an in-process store of the job's Service and Pods as
// the API server would hold them, and a "kubelet" that runs each pod as local processes and
// writes their status back into the pod objects the way a kubelet reports it.
//
// It is the Cluster the shared executor (accel/controller/executor.h) acts on, and it is
// observed with the operator's own observed_pod_from_json(): the reconciler sees a local pod
// exactly as it sees one on Kubernetes. What differs from a cluster, and how it is mapped
// (loopback for DNS names and pod IPs, one block of metrics ports per node, absolute paths under
// the run directory, secretKeyRef values from this environment), is PodEnvironment's job.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "accel/api/acceljob.h"
#include "accel/controller/executor.h"
#include "accel/controller/observed.h"
#include "accel/subprocess.h"

namespace accel::local {

// How a pod object's container becomes a process here.
struct PodEnvironment {
  std::string run_dir;  // pods' working directory; absolute spec paths go below it
  std::int64_t procs_per_node = 1;
  std::int64_t metrics_port = 0;  // node n's ranks serve metrics_port + n*procs_per_node ...
  // Called once per variable that comes from a Secret or ConfigMap and is not set here.
  std::function<void(const std::string& line)> note;

  // The path a pod would see at `path`, placed on this machine: absolute paths go under run_dir
  // (as if a volume were mounted there); relative ones stay relative to it.
  std::string host_path(const std::string& path) const;
  // The process environment of the pod's worker container (its env list, resolved).
  std::map<std::string, std::string> env_of(const api::AccelJob& job,
                                            const nlohmann::json& pod) const;

 private:
  mutable std::set<std::string> warned_;
};

class LocalCluster final : public op::Cluster {
 public:
  // `say` prints one line (events, start failures).
  LocalCluster(PodEnvironment env, op::Duration grace, std::function<void(const std::string&)> say);
  ~LocalCluster() override;  // kills what still runs (no process outlives the runner)

  // --- op::Cluster: what the executor asks for ---
  StatusWrite write_status(const api::AccelJob& job, const api::AccelJobStatus& status) override;
  void create_service(const api::AccelJob& job, const nlohmann::json& object) override;
  void create_pod(const api::AccelJob& job, const nlohmann::json& object) override;
  void delete_pod(const api::AccelJob& job, const std::string& name, bool force) override;
  void delete_all_pods(const api::AccelJob& job, std::optional<std::int64_t> grace_seconds) override;
  void record_event(const api::AccelJob& job, const op::RecordEvent& event) override;
  void delete_job(const api::AccelJob& job) override;
  // `accel run` places every pod on this machine at once: there is no scheduler to group for,
  // and the reconciler never asks (OperatorOptions::gang is Off here).
  void create_pod_group(const api::AccelJob&, const nlohmann::json&) override {}
  void delete_pod_group(const api::AccelJob&, const std::string&) override {}

  // --- the kubelet's part ---
  // Reaps processes that ended (status phase, exit code, finishedAt), SIGKILLs those whose
  // grace period ran out, and removes deleted pods whose processes are gone.
  void sync(op::Time now);
  // The job's pods and services as the reconciler sees them (observed.h).
  op::ObservedState observe() const;
  // The status the last write_status stored (the in-process job's status subresource).
  const api::AccelJobStatus& status() const { return status_; }

  bool any_process_running() const;
  // SIGTERM to every process, SIGKILL after `grace` (or at once when `hurry()` says so); waits.
  void stop_everything(op::Duration grace, const std::function<bool()>& hurry);
  // The log file of a pod, by name (also after the pod is gone).
  std::string log_path(const std::string& pod) const;

 private:
  struct Pod {
    nlohmann::json object;  // as the API server would hold it, status written by sync()
    std::unique_ptr<Subprocess> process;  // null once reaped (or never started)
    op::Time kill_at{};                   // Terminating: SIGKILL from then on
  };
  void terminate(Pod& pod, bool force, op::Time now, std::optional<op::Duration> grace = std::nullopt);
  void finish(Pod& pod, int exit_code, op::Time now);

  PodEnvironment env_;
  op::Duration grace_;
  std::function<void(const std::string&)> say_;
  std::map<std::string, Pod> pods_;
  std::set<std::string> services_;
  api::AccelJobStatus status_;
};

}  // namespace accel::local

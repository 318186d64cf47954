#include "local_cluster.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "accel/controller/naming.h"

namespace accel::local {

namespace fs = std::filesystem;
using nlohmann::json;

std::string PodEnvironment::host_path(const std::string& path) const {
  if (path.empty() || path[0] != '/') return path;  // relative: under the run directory (cwd)
  return (fs::path(run_dir) / path.substr(1)).string();
}

std::map<std::string, std::string> PodEnvironment::env_of(const api::AccelJob& job,
                                                          const json& pod) const {
  std::map<std::string, std::string> env;
  const json& container = pod["spec"]["containers"][0];
  const std::string pod_name = pod["metadata"]["name"].get<std::string>();
  // MASTER_ADDR: node 0's DNS name (short or fully qualified) is this machine.
  const std::string master = op::pod_hostname(job, 0) + "." + op::service_name(job);
  const auto node_rank = op::observed_pod_from_json(pod).node_rank;
  for (const auto& e : container.value("env", json::array())) {
    const std::string name = e.value("name", "");
    if (e.contains("value")) {
      std::string value = e["value"].get<std::string>();
      if (value == master || value.rfind(master + ".", 0) == 0) value = "127.0.0.1";
      // Every "node" shares this host: node n's processes take the next block of metrics ports.
      if (name == "ACCEL_METRICS_PORT" && metrics_port > 0)
        value = std::to_string(metrics_port + node_rank * procs_per_node);
      if (name == "ACCEL_CHECKPOINT_DIR" || name == "ACCEL_PROJECT_DIR" ||
          name == "ACCEL_LOGGING_DIR" || name == "ACCEL_FLIGHT_RECORDER_DIR")
        value = host_path(value);
      env[name] = value;
      continue;
    }
    const json& from = e.value("valueFrom", json::object());
    if (from.contains("fieldRef")) {
      const std::string field = from["fieldRef"].value("fieldPath", "");
      if (field == "metadata.name")
        env[name] = pod_name;
      else if (field == "metadata.namespace")
        env[name] = job.metadata.namespace_;
      else if (field == "status.podIP" || field == "status.hostIP")
        env[name] = "127.0.0.1";
      else if (field == "spec.nodeName")
        env[name] = "localhost";
      continue;
    }
    // secretKeyRef / configMapKeyRef: there is no API server to read them from. The value is
    // taken from this process's environment under the same name (inherited), never printed.
    if (!std::getenv(name.c_str()) && warned_.insert(name).second && note) {
      const bool secret = from.contains("secretKeyRef");
      const json& ref =
          secret ? from["secretKeyRef"] : from.value("configMapKeyRef", json::object());
      note("note: env " + name + " comes from " + (secret ? "secret " : "configMap ") +
           ref.value("name", "?") + " key " + ref.value("key", "?") + "; set " + name +
           " in this environment to pass it to the ranks");
    }
  }
  return env;
}

LocalCluster::LocalCluster(PodEnvironment env, op::Duration grace,
                           std::function<void(const std::string&)> say)
    : env_(std::move(env)), grace_(grace), say_(std::move(say)) {}

LocalCluster::~LocalCluster() {
  for (auto& [name, pod] : pods_)
    if (pod.process) pod.process->signal(SIGKILL);
}

op::Cluster::StatusWrite LocalCluster::write_status(const api::AccelJob&,
                                                    const api::AccelJobStatus& status) {
  status_ = status;  // one writer, in process: never a conflict
  return StatusWrite::Written;
}

void LocalCluster::create_service(const api::AccelJob&, const json& object) {
  services_.insert(object["metadata"]["name"].get<std::string>());
}

std::string LocalCluster::log_path(const std::string& pod) const {
  return (fs::path(env_.run_dir) / "logs" / (pod + ".log")).string();
}

void LocalCluster::create_pod(const api::AccelJob& job, const json& object) {
  const std::string name = object["metadata"]["name"].get<std::string>();
  if (pods_.count(name)) return;  // AlreadyExists is success
  const op::Time now = std::chrono::system_clock::now();
  Pod pod;
  pod.object = object;
  pod.object["metadata"]["creationTimestamp"] = op::format_rfc3339(now);
  pod.object["status"] = {{"phase", "Pending"}};

  const json& container = object["spec"]["containers"][0];
  SubprocessOptions so;
  for (const auto& a : container["command"]) so.argv.push_back(a.get<std::string>());
  for (const auto& a : container.value("args", json::array()))
    so.argv.push_back(a.get<std::string>());
  so.env = env_.env_of(job, object);
  so.cwd = env_.run_dir;
  so.stdout_path = log_path(name);
  so.stderr_path = "=stdout";
  so.new_process_group = true;
  std::ofstream(so.stdout_path, std::ios::app)
      << "==== " << name << " started " << op::format_rfc3339(now) << " ====\n";
  for (const char* dir_key : {"ACCEL_CHECKPOINT_DIR", "ACCEL_PROJECT_DIR", "ACCEL_LOGGING_DIR"}) {
    auto it = so.env.find(dir_key);
    std::error_code ec;
    if (it != so.env.end() && !it->second.empty())
      fs::create_directories(fs::path(env_.run_dir) / it->second, ec);
  }
  try {
    pod.process = std::make_unique<Subprocess>(so);
    json& st = pod.object["status"];
    st["phase"] = "Running";
    st["startTime"] = op::format_rfc3339(now);
    st["podIP"] = "127.0.0.1";
    st["containerStatuses"] =
        json::array({{{"name", op::kWorkerContainer},
                      {"state", {{"running", {{"startedAt", op::format_rfc3339(now)}}}}}}});
  } catch (const std::exception& e) {
    // Like a container that cannot start: the pod fails (exit 127 as a shell reports it).
    say_("pod " + name + " could not start: " + e.what());
    finish(pod, 127, now);
  }
  pods_.emplace(name, std::move(pod));
}

void LocalCluster::finish(Pod& pod, int exit_code, op::Time now) {
  json& st = pod.object["status"];
  st["phase"] = exit_code == 0 ? "Succeeded" : "Failed";
  st["containerStatuses"] = json::array({{{"name", op::kWorkerContainer},
                                          {"state",
                                           {{"terminated",
                                             {{"exitCode", exit_code},
                                              {"reason", exit_code == 0 ? "Completed" : "Error"},
                                              {"finishedAt", op::format_rfc3339(now)}}}}}}});
}

void LocalCluster::terminate(Pod& pod, bool force, op::Time now, std::optional<op::Duration> grace) {
  json& meta = pod.object["metadata"];
  if (!meta.contains("deletionTimestamp")) {
    meta["deletionTimestamp"] = op::format_rfc3339(now);
    pod.kill_at = now + grace.value_or(grace_);
    if (pod.process) pod.process->signal(force ? SIGKILL : SIGTERM);
  } else if (force && pod.process) {
    pod.process->signal(SIGKILL);
  }
}

void LocalCluster::delete_pod(const api::AccelJob&, const std::string& name, bool force) {
  if (auto it = pods_.find(name); it != pods_.end())
    terminate(it->second, force, std::chrono::system_clock::now());
}

void LocalCluster::delete_all_pods(const api::AccelJob&, std::optional<std::int64_t> grace_seconds) {
  const op::Time now = std::chrono::system_clock::now();
  std::optional<op::Duration> grace;
  if (grace_seconds) grace = std::chrono::seconds(*grace_seconds);
  for (auto& [name, pod] : pods_) terminate(pod, false, now, grace);
}

void LocalCluster::record_event(const api::AccelJob&, const op::RecordEvent& e) {
  say_((e.type == "Warning" ? "warning: " : "") + e.reason + ": " + e.message);
}

void LocalCluster::delete_job(const api::AccelJob&) {
  // ttlSecondsAfterFinished: there is no stored object to delete; the run ends anyway.
}

void LocalCluster::sync(op::Time now) {
  for (auto it = pods_.begin(); it != pods_.end();) {
    Pod& pod = it->second;
    if (pod.process) {
      if (auto status = pod.process->poll()) {
        finish(pod, status->code(), now);
        pod.process.reset();
      } else if (pod.object["metadata"].contains("deletionTimestamp") && now >= pod.kill_at) {
        pod.process->signal(SIGKILL);  // the grace period is over, as a kubelet does
      }
    }
    // A deleted pod disappears once its process has ended (the kubelet's final delete).
    if (pod.object["metadata"].contains("deletionTimestamp") && !pod.process)
      it = pods_.erase(it);
    else
      ++it;
  }
}

op::ObservedState LocalCluster::observe() const {
  op::ObservedState observed;
  for (const auto& [name, pod] : pods_)
    observed.pods.push_back(op::observed_pod_from_json(pod.object));
  observed.services.assign(services_.begin(), services_.end());
  return observed;
}

bool LocalCluster::any_process_running() const {
  for (const auto& [name, pod] : pods_)
    if (pod.process) return true;
  return false;
}

void LocalCluster::stop_everything(op::Duration grace, const std::function<bool()>& hurry) {
  const auto deadline = std::chrono::steady_clock::now() + grace;
  for (auto& [name, pod] : pods_)
    if (pod.process) pod.process->signal(SIGTERM);
  while (any_process_running()) {
    const bool kill = (hurry && hurry()) || std::chrono::steady_clock::now() >= deadline;
    const op::Time now = std::chrono::system_clock::now();
    for (auto& [name, pod] : pods_) {
      if (!pod.process) continue;
      if (auto status = pod.process->poll()) {
        finish(pod, status->code(), now);
        pod.process.reset();
      } else if (kill) {
        pod.process->signal(SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace accel::local

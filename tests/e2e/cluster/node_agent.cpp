// node_agent.cpp — see node_agent.h.
#include "node_agent.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "accel/kube/errors.h"
#include "files.h"
#include "pod_ips.h"
#include "rfc3339.h"

namespace accel::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

const kube::Resource kNodes{"", "v1", "nodes", false, "Node"};
const kube::Resource kSecrets{"", "v1", "secrets", true, "Secret"};
const kube::Resource kConfigMaps{"", "v1", "configmaps", true, "ConfigMap"};

// metav1.MicroTime, which Lease.spec.renewTime requires.
std::string now_micro() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
            1000000;
  char buf[48];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us));
  return out;
}

std::string base64_decode(const std::string& in) {
  static const std::string chars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    auto p = chars.find(c);
    if (p == std::string::npos) continue;
    val = (val << 6) + static_cast<int>(p);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
  }
  fs::rename(tmp, path);
}

kube::PatchOptions status_subresource() {
  kube::PatchOptions o;
  o.subresource = "status";
  return o;
}

std::string pod_key(const json& pod) {
  return pod["metadata"].value("namespace", "") + "/" + pod["metadata"].value("name", "");
}

// What every process of a pod carries in its environment (its children inherit it).
const char* const kPodMarker = "ACCEL_E2E_POD_UID";

// Whether process `pid` lives (is not a zombie: those hold no sockets) and its environment
// has the entry `name_value` (NAME=VALUE).
bool lives_with_env(pid_t pid, const std::string& name_value) {
  const std::string dir = "/proc/" + std::to_string(pid);
  const std::string stat = read_file(dir + "/stat");  // "PID (COMMAND) STATE ..."
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
  if (stat[paren + 2] == 'Z' || stat[paren + 2] == 'X') return false;
  const std::string env = read_file(dir + "/environ");
  const std::string entry = name_value + '\0';
  return env.compare(0, entry.size(), entry) == 0 || env.find('\0' + entry) != std::string::npos;
}

// SIGKILLs every live process whose environment has `name_value`; how many it signalled.
// Through a pidfd, checked after it is open, so that a pid reused meanwhile is never hit.
int kill_processes_with_env(const std::string& name_value, std::string& pids) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (!lives_with_env(pid, name_value)) continue;
    // Raw syscalls: glibc 2.36's <sys/pidfd.h> declares them without C linkage.
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) continue;  // gone already
    if (lives_with_env(pid, name_value) &&
        ::syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0) == 0) {
      ++n;
      pids += " " + name;
    }
    ::close(fd);
  }
  return n;
}

}  // namespace

// One pod incarnation (by uid) as the agent runs it.
struct NodeAgent::PodRun {
  std::string ns, name, uid, ip, dir, log_path;
  std::unique_ptr<Subprocess> proc;
  std::string started_at;
  bool running_reported = false;
  bool finished_reported = false;
  bool start_failed = false;
  std::optional<ExitStatus> exit;
  std::optional<Clock::time_point> kill_at;  // SIGKILL when still running then
  bool deleted = false;
  std::string hostname, subdomain;
};

NodeAgent::NodeAgent(kube::Client& client, NodeAgentOptions options)
    : client_(client), options_(std::move(options)) {
  fs::create_directories(options_.work_dir + "/pods");
  // Claimed before any pod starts, so that every pod process holds the claim (pod_ips.h).
  log("pod IPs from " + PodIpBlock::of_this_process().prefix() + "0.0/16");
  write_hosts_file();
  // Register the Node, then report it Ready (status is a subresource: set after create).
  json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata",
                {{"name", options_.node_name},
                 {"labels",
                  {{"kubernetes.io/hostname", options_.node_name},
                   {"kubernetes.io/os", "linux"},
                   {"kubernetes.io/arch", "amd64"}}}}},
               {"spec", json::object()}};
  try {
    client_.create(kNodes, "", node);
  } catch (const kube::ConflictError&) {
  }
  heartbeat();
  kube::InformerOptions io;
  io.field_selector = "spec.nodeName=" + options_.node_name;
  informer_ = std::make_unique<kube::Informer>(client_, kube::resources::pods(), "", io);
  informer_->start();
  heartbeat_thread_ = std::thread([this] { heartbeat_loop(); });
  pod_thread_ = std::thread([this] { pod_loop(); });
}

NodeAgent::~NodeAgent() {
  stopping_ = true;
  if (pod_thread_.joinable()) pod_thread_.join();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  informer_->stop();
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [uid, run] : runs_) {
    if (run->proc && !run->exit) run->proc->terminate(std::chrono::seconds(5));
    if (run->proc) end_leftovers(*run);
  }
}

void NodeAgent::end_leftovers(const PodRun& run) const {
  const std::string marker = std::string(kPodMarker) + "=" + run.uid;
  std::string pids;
  if (kill_processes_with_env(marker, pids) == 0) return;
  log("pod " + run.ns + "/" + run.name + ": its main process ended; SIGKILL to what it left" +
      " running:" + pids);
  // Gone (their sockets closed) before the pod is reported finished, as a container is.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (std::string still; kill_processes_with_env(marker, still) > 0; still.clear()) {
    if (Clock::now() >= deadline) {
      log("pod " + run.ns + "/" + run.name + ": still running 10 s after SIGKILL:" + still);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void NodeAgent::log(const std::string& line) const {
  std::ofstream(options_.work_dir + "/agent.log", std::ios::app)
      << now_rfc3339() << " " << line << "\n";
}

void NodeAgent::heartbeat() {
  const std::string now = now_rfc3339();
  json status = {
      {"status",
       {{"capacity", {{"cpu", "16"}, {"memory", "64Gi"}, {"pods", "110"}}},
        {"allocatable", {{"cpu", "16"}, {"memory", "64Gi"}, {"pods", "110"}}},
        {"addresses", json::array({{{"type", "InternalIP"}, {"address", "127.0.0.1"}},
                                   {{"type", "Hostname"}, {"address", options_.node_name}}})},
        {"nodeInfo",
         {{"kubeletVersion", "e2e-node-agent"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"}}},
        {"conditions", json::array({{{"type", "Ready"},
                                     {"status", "True"},
                                     {"reason", "KubeletReady"},
                                     {"message", "e2e node agent is posting ready status"},
                                     {"lastHeartbeatTime", now},
                                     {"lastTransitionTime", now}}})}}}};
  client_.patch(kNodes, "", options_.node_name, kube::PatchType::StrategicMerge, status,
                status_subresource());
  // The node Lease: what the node-lifecycle controller mostly looks at.
  const std::string ns = "kube-node-lease";
  json spec = {{"holderIdentity", options_.node_name},
               {"leaseDurationSeconds", 40},
               {"renewTime", now_micro()}};
  try {
    client_.patch(kube::resources::leases(), ns, options_.node_name, kube::PatchType::Merge,
                  {{"spec", spec}});
  } catch (const kube::NotFoundError&) {
    client_.create(kube::resources::leases(), ns,
                   {{"apiVersion", "coordination.k8s.io/v1"},
                    {"kind", "Lease"},
                    {"metadata", {{"name", options_.node_name}}},
                    {"spec", spec}});
  }
}

void NodeAgent::heartbeat_loop() {
  auto next = Clock::now() + std::chrono::seconds(5);
  while (!stopping_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (Clock::now() < next) continue;
    next = Clock::now() + std::chrono::seconds(5);
    try {
      heartbeat();
    } catch (const std::exception& e) {
      log(std::string("heartbeat failed: ") + e.what());
    }
  }
}

void NodeAgent::pod_loop() {
  while (!stopping_) {
    try {
      sync_once();
    } catch (const std::exception& e) {
      log(std::string("sync failed: ") + e.what());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void NodeAgent::sync_once() {
  if (!informer_->has_synced()) return;
  const auto pods = informer_->cache().list();
  std::set<std::string> present;
  // IPs and DNS names first, for every pod, so that a rank resolves its peers' names as soon
  // as those pods are known (a real cluster's DNS publishes not-ready addresses the same way).
  bool hosts_changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& p : pods) {
      const json& pod = *p;
      const std::string uid = pod["metadata"].value("uid", "");
      present.insert(uid);
      auto& run = runs_[uid];
      if (!run) {
        run = std::make_unique<PodRun>();
        run->ns = pod["metadata"].value("namespace", "");
        run->name = pod["metadata"].value("name", "");
        run->uid = uid;
        run->ip = PodIpBlock::of_this_process().next();
        run->hostname = pod["spec"].value("hostname", run->name);
        run->subdomain = pod["spec"].value("subdomain", "");
        run->dir =
            options_.work_dir + "/pods/" + run->ns + "_" + run->name + "_" + uid.substr(0, 8);
        run->log_path = run->dir + "/container.log";
        fs::create_directories(run->dir);
        hosts_changed = true;
      }
    }
  }
  if (hosts_changed) write_hosts_file();
  for (const auto& p : pods) {
    try {
      sync_pod(*p);
    } catch (const std::exception& e) {
      log("pod " + pod_key(*p) + ": " + e.what());
    }
  }
  write_hosts_file();
  // Pods gone from the API (deleted by someone with grace 0): stop what still runs.
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [uid, run] : runs_)
    if (!present.count(uid) && run->proc && !run->exit) {
      log("pod " + run->ns + "/" + run->name + " vanished; killing its process");
      run->exit = run->proc->terminate(std::chrono::seconds(2));
      end_leftovers(*run);
    }
}

void NodeAgent::sync_pod(const json& pod) {
  const std::string uid = pod["metadata"].value("uid", "");
  PodRun* run;
  {
    std::lock_guard<std::mutex> lock(mu_);
    run = runs_.at(uid).get();
  }
  if (run->deleted) return;
  const bool deleting = pod["metadata"].contains("deletionTimestamp");
  const std::string phase = pod.value("/status/phase"_json_pointer, std::string());
  const bool terminal = phase == "Succeeded" || phase == "Failed";

  if (!run->proc && !run->start_failed && !deleting && !terminal) start_pod(pod, *run);

  if (run->proc && !run->exit) {
    if (auto st = run->proc->poll()) {
      end_leftovers(*run);
      std::lock_guard<std::mutex> lock(mu_);
      run->exit = st;
    }
  }
  if (run->proc && !run->exit && deleting) {
    if (!run->kill_at) {
      const std::int64_t grace =
          pod["metadata"].value("deletionGracePeriodSeconds", std::int64_t{30});
      log("pod " + pod_key(pod) + " deleted: SIGTERM, grace " + std::to_string(grace) + "s");
      run->proc->signal(SIGTERM);
      run->kill_at = Clock::now() + std::chrono::seconds(grace);
    } else if (Clock::now() >= *run->kill_at) {
      log("pod " + pod_key(pod) + ": grace period over, SIGKILL");
      run->proc->signal(SIGKILL);
      run->kill_at = Clock::now() + std::chrono::hours(1);
    }
  }
  if (run->exit && !run->finished_reported && !terminal) finish_pod(pod, *run);
  if (run->exit) run->finished_reported = true;

  const bool stopped = !run->proc || run->exit.has_value();
  if (deleting && stopped) {
    log("pod " + pod_key(pod) + ": removing the pod object (grace 0)");
    kube::DeleteOptions o;
    o.grace_period_seconds = 0;
    o.precondition_uid = uid;
    try {
      client_.remove(kube::resources::pods(), run->ns, run->name, o);
    } catch (const kube::NotFoundError&) {
    } catch (const kube::ConflictError&) {
    }
    run->deleted = true;
  }
}

std::map<std::string, std::string> NodeAgent::resolve_env(const json& pod, const PodRun& run) {
  std::map<std::string, std::string> env;
  const json& c = pod["spec"]["containers"][0];
  auto field = [&](const std::string& path) -> std::string {
    if (path == "metadata.name") return run.name;
    if (path == "metadata.namespace") return run.ns;
    if (path == "metadata.uid") return run.uid;
    if (path == "spec.nodeName") return options_.node_name;
    if (path == "spec.serviceAccountName") return pod["spec"].value("serviceAccountName", "");
    if (path == "status.podIP") return run.ip;
    if (path == "status.hostIP") return "127.0.0.1";
    throw std::runtime_error("env fieldRef " + path + " is not supported by the e2e node agent");
  };
  for (const auto& e : c.value("env", json::array())) {
    const std::string name = e.value("name", "");
    if (e.contains("value")) {
      env[name] = e["value"].get<std::string>();
    } else if (e.contains("valueFrom")) {
      const json& vf = e["valueFrom"];
      if (vf.contains("fieldRef")) {
        env[name] = field(vf["fieldRef"].value("fieldPath", ""));
      } else if (vf.contains("secretKeyRef")) {
        const json s = client_.get(kSecrets, run.ns, vf["secretKeyRef"].value("name", ""));
        const std::string key = vf["secretKeyRef"].value("key", "");
        if (!s.contains("data") || !s["data"].contains(key))
          throw std::runtime_error("env " + name + ": secret has no key " + key);
        env[name] = base64_decode(s["data"][key].get<std::string>());
      } else if (vf.contains("configMapKeyRef")) {
        const json m = client_.get(kConfigMaps, run.ns, vf["configMapKeyRef"].value("name", ""));
        env[name] = m["data"].value(vf["configMapKeyRef"].value("key", ""), "");
      } else {
        throw std::runtime_error("env " + name + ": valueFrom not supported: " + vf.dump());
      }
    } else {
      env[name] = "";
    }
  }
  return env;
}

std::string NodeAgent::service_account_kubeconfig(const json& pod, const std::string& dir) {
  const std::string sa = pod["spec"].value("serviceAccountName", "");
  const std::string ns = pod["metadata"].value("namespace", "");
  json req = {{"apiVersion", "authentication.k8s.io/v1"},
              {"kind", "TokenRequest"},
              {"spec",
               {{"expirationSeconds", 3600},
                {"boundObjectRef",
                 {{"apiVersion", "v1"},
                  {"kind", "Pod"},
                  {"name", pod["metadata"].value("name", "")},
                  {"uid", pod["metadata"].value("uid", "")}}}}}};
  json resp = client_.request(
      "POST", "/api/v1/namespaces/" + ns + "/serviceaccounts/" + sa + "/token", req);
  const std::string token = resp["status"]["token"].get<std::string>();
  // The same three files a kubelet projects (for reference), and a kubeconfig pointing at them.
  const std::string sa_dir = dir + "/serviceaccount";
  fs::create_directories(sa_dir);
  std::ofstream(sa_dir + "/token") << token;
  std::ofstream(sa_dir + "/namespace") << ns;
  fs::copy_file(options_.ca_file, sa_dir + "/ca.crt", fs::copy_options::overwrite_existing);
  const std::string path = dir + "/kubeconfig";
  std::ofstream(path) << "apiVersion: v1\nkind: Config\nclusters:\n- name: in-cluster\n"
                      << "  cluster:\n    server: " << options_.server
                      << "\n    certificate-authority: " << sa_dir << "/ca.crt\n"
                      << "users:\n- name: sa\n  user:\n    tokenFile: " << sa_dir << "/token\n"
                      << "contexts:\n- name: sa\n  context:\n    cluster: in-cluster\n"
                      << "    user: sa\n    namespace: " << ns << "\ncurrent-context: sa\n";
  return path;
}

void NodeAgent::start_pod(const json& pod, PodRun& run) {
  const json& c = pod["spec"]["containers"][0];
  std::vector<std::string> argv;
  for (const auto& a : c.value("command", json::array())) argv.push_back(a.get<std::string>());
  if (argv.empty()) {
    std::string repo = c.value("image", "");
    if (auto at = repo.find('@'); at != std::string::npos) repo.resize(at);
    if (auto slash = repo.rfind('/'); slash != std::string::npos) repo = repo.substr(slash + 1);
    if (auto colon = repo.find(':'); colon != std::string::npos) repo.resize(colon);
    auto e = options_.entrypoints.find(repo);
    if (e != options_.entrypoints.end()) argv = e->second;
  }
  for (const auto& a : c.value("args", json::array())) argv.push_back(a.get<std::string>());
  auto fail_start = [&](const std::string& why) {
    log("pod " + pod_key(pod) + " cannot start: " + why);
    std::ofstream(run.log_path, std::ios::app) << "e2e node agent: cannot start: " << why << "\n";
    run.start_failed = true;
    json st = {{"status",
                {{"phase", "Failed"},
                 {"reason", "StartError"},
                 {"message", why},
                 {"containerStatuses", json::array({{{"name", c.value("name", "")},
                                                     {"image", c.value("image", "")},
                                                     {"imageID", ""},
                                                     {"ready", false},
                                                     {"restartCount", 0},
                                                     {"started", false},
                                                     {"state",
                                                      {{"terminated",
                                                        {{"exitCode", 128},
                                                         {"reason", "StartError"},
                                                         {"message", why},
                                                         {"finishedAt", now_rfc3339()}}}}}}})}}}};
    client_.patch(kube::resources::pods(), run.ns, run.name, kube::PatchType::Merge, st,
                  status_subresource());
    run.finished_reported = true;
  };
  if (argv.empty())
    return fail_start("container has no command and its image " + c.value("image", "") +
                      " no known entrypoint (images are not run)");

  SubprocessOptions o;
  std::string path_env;
  std::set<std::string> dirs;
  for (const auto& [name, bin] : options_.binaries) {
    const std::string d = fs::path(bin).parent_path().string();
    if (dirs.insert(d).second) path_env += d + ":";
  }
  path_env += "/usr/local/bin:/usr/bin:/bin";
  // Links in the pod folder make every mapped name resolvable even when the binary's file name
  // differs (accel-cli builds as `accel`).
  const std::string bin_dir = run.dir + "/bin";
  fs::create_directories(bin_dir);
  for (const auto& [name, bin] : options_.binaries) {
    std::error_code ec;
    fs::create_symlink(bin, bin_dir + "/" + name, ec);
  }
  path_env = bin_dir + ":" + path_env;
  auto it = options_.binaries.find(argv[0]);
  if (it == options_.binaries.end())
    it = options_.binaries.find(fs::path(argv[0]).filename().string());
  if (it != options_.binaries.end()) argv[0] = it->second;
  o.argv = argv;
  try {
    o.env = resolve_env(pod, run);
  } catch (const std::exception& e) {
    return fail_start(e.what());
  }
  o.env["PATH"] = path_env;
  o.env["HOME"] = run.dir;
  o.env["HOSTNAME"] = run.hostname;
  o.env["LD_PRELOAD"] = "libnss_wrapper.so";
  o.env["NSS_WRAPPER_HOSTS"] = options_.work_dir + "/hosts";
  o.env["NSS_WRAPPER_HOSTNAME"] = run.hostname;
  o.env[kPodMarker] = run.uid;  // how end_leftovers() finds what the pod started
  // Credentials only for a pod that names its service account (the test control plane runs
  // no ServiceAccount admission plugin to fill in "default") and does not opt out.
  const bool automount = pod["spec"].value("automountServiceAccountToken", true);
  try {
    if (automount && !pod["spec"].value("serviceAccountName", "").empty())
      o.env["KUBECONFIG"] = service_account_kubeconfig(pod, run.dir);
  } catch (const std::exception& e) {
    return fail_start(std::string("service account token: ") + e.what());
  }
  // Test runners' own settings must not leak into a "container".
  o.unset_env = {"KUBERNETES_SERVICE_HOST",
                 "KUBERNETES_SERVICE_PORT",
                 "ACCEL_CONFIG_FILE",
                 "MASTER_ADDR",
                 "MASTER_PORT",
                 "RANK",
                 "WORLD_SIZE",
                 "LOCAL_RANK"};
  o.cwd = c.value("workingDir", run.dir);
  if (!fs::is_directory(o.cwd)) o.cwd = run.dir;
  o.stdout_path = run.log_path;
  o.stderr_path = "=stdout";
  o.new_process_group = true;
  {
    std::ofstream l(run.log_path, std::ios::app);
    l << "e2e node agent: starting pod " << run.ns << "/" << run.name << " ip " << run.ip << ":";
    for (const auto& a : o.argv) l << " " << a;
    l << "\n";
  }
  try {
    auto proc = std::make_unique<Subprocess>(o);
    std::lock_guard<std::mutex> lock(mu_);
    run.proc = std::move(proc);
  } catch (const std::exception& e) {
    return fail_start(e.what());
  }
  ++started_;
  run.started_at = now_rfc3339();
  log("pod " + pod_key(pod) + " started, pid " + std::to_string(run.proc->pid()) + ", ip " +
      run.ip);
  const std::string now = run.started_at;
  auto cond = [&](const char* type) {
    return json{{"type", type}, {"status", "True"}, {"lastTransitionTime", now}};
  };
  json st = {
      {"status",
       {{"phase", "Running"},
        {"hostIP", "127.0.0.1"},
        {"hostIPs", json::array({{{"ip", "127.0.0.1"}}})},
        {"podIP", run.ip},
        {"podIPs", json::array({{{"ip", run.ip}}})},
        {"startTime", now},
        {"conditions", json::array({cond("PodReadyToStartContainers"), cond("Initialized"),
                                    cond("Ready"), cond("ContainersReady"), cond("PodScheduled")})},
        {"containerStatuses",
         json::array({{{"name", c.value("name", "")},
                       {"image", c.value("image", "")},
                       {"imageID", ""},
                       {"containerID", "e2e://" + std::to_string(run.proc->pid())},
                       {"ready", true},
                       {"started", true},
                       {"restartCount", 0},
                       {"state", {{"running", {{"startedAt", now}}}}}}})}}}};
  client_.patch(kube::resources::pods(), run.ns, run.name, kube::PatchType::Merge, st,
                status_subresource());
  run.running_reported = true;
}

void NodeAgent::finish_pod(const json& pod, PodRun& run) {
  const json& c = pod["spec"]["containers"][0];
  const int code = run.exit->code();
  const bool ok = run.exit->success();
  log("pod " + pod_key(pod) + " process ended: " + run.exit->describe());
  const std::string now = now_rfc3339();
  json terminated = {{"exitCode", code},
                     {"reason", ok ? "Completed" : "Error"},
                     {"startedAt", run.started_at},
                     {"finishedAt", now},
                     {"containerID", "e2e://" + std::to_string(run.proc->pid())}};
  if (run.exit->signal) terminated["signal"] = *run.exit->signal;
  auto cond = [&](const char* type, const char* status) {
    return json{{"type", type}, {"status", status}, {"lastTransitionTime", now}};
  };
  json st = {{"status",
              {{"phase", ok ? "Succeeded" : "Failed"},
               {"conditions",
                json::array({cond("PodReadyToStartContainers", "False"),
                             cond("Initialized", "True"), cond("Ready", "False"),
                             cond("ContainersReady", "False"), cond("PodScheduled", "True")})},
               {"containerStatuses",
                json::array({{{"name", c.value("name", "")},
                              {"image", c.value("image", "")},
                              {"imageID", ""},
                              {"containerID", "e2e://" + std::to_string(run.proc->pid())},
                              {"ready", false},
                              {"started", false},
                              {"restartCount", 0},
                              {"state", {{"terminated", terminated}}}}})}}}};
  client_.patch(kube::resources::pods(), run.ns, run.name, kube::PatchType::Merge, st,
                status_subresource());
  run.finished_reported = true;
}

void NodeAgent::write_hosts_file() {
  std::ostringstream out;
  out << "127.0.0.1 localhost localhost.localdomain " << options_.node_name << "\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Like a headless Service's DNS: pods that run or are about to, not finished ones (an old
    // attempt's pod must not shadow the new one that has the same hostname).
    // Each pod twice: IPv4, and IPv4-mapped IPv6. c10d's TCPStore client asks for AF_INET6
    // first (AI_V4MAPPED); nss_wrapper does not map, and its AF_INET fallback after that
    // failure never connects, so the mapped entry is what makes rendezvous work.
    for (const auto& [uid, run] : runs_) {
      if (run->deleted || run->exit || run->start_failed) continue;
      std::string names = run->name;
      if (run->hostname != run->name) names += " " + run->hostname;
      if (!run->subdomain.empty()) {
        const std::string fq = run->hostname + "." + run->subdomain;
        names += " " + fq + " " + fq + "." + run->ns + " " + fq + "." + run->ns + ".svc " + fq +
                 "." + run->ns + ".svc.cluster.local";
      }
      out << run->ip << " " << names << "\n::ffff:" << run->ip << " " << names << "\n";
    }
  }
  if (out.str() == hosts_) return;
  hosts_ = out.str();
  write_atomically(options_.work_dir + "/hosts", hosts_);
}

std::optional<pid_t> NodeAgent::pid_of(const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [uid, run] : runs_)
    if (run->ns == ns && run->name == name && run->proc && !run->exit) return run->proc->pid();
  return std::nullopt;
}

std::string NodeAgent::ip_of(const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [uid, run] : runs_)
    if (run->ns == ns && run->name == name) return run->ip;
  return "";
}

std::string NodeAgent::log_path(const std::string& ns, const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [uid, run] : runs_)
    if (run->ns == ns && run->name == name) return run->log_path;
  return "";
}

std::string NodeAgent::log_of(const std::string& ns, const std::string& name) const {
  const std::string p = log_path(ns, name);
  return p.empty() ? "" : read_file(p);
}

int NodeAgent::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  int n = 0;
  for (const auto& [uid, run] : runs_)
    if (run->proc && !run->exit) ++n;
  return n;
}

std::string NodeAgent::all_logs() const {
  std::ostringstream out;
  std::vector<std::pair<std::string, std::string>> logs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [uid, run] : runs_)
      logs.emplace_back(run->ns + "/" + run->name, run->log_path);
  }
  for (const auto& [name, path] : logs) {
    std::string text = read_file(path);
    if (text.size() > 6000) text = "...\n" + text.substr(text.size() - 6000);
    out << "===== pod " << name << " (" << path << ")\n" << text << "\n";
  }
  out << "===== node agent\n" << read_file(options_.work_dir + "/agent.log");
  return out.str();
}

}  // namespace accel::testing

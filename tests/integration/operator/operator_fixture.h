// operator_fixture.h — what the operator's integration tests share: one real control plane per
// test binary (with the CRD applied), the real accel-operator binary as a subprocess watching one
// namespace, AccelJobs applied with the real kubectl, and pods moved through their phases with
// `kubectl patch --subresource=status`, the way a kubelet reports them.
//
// Include it from exactly one translation unit of a test binary, then call
// `install_control_plane(with_controllers)` (or with ControlPlaneOptions) at namespace scope.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/kube/client.h"
#include "accel/kube/errors.h"
#include "accel/subprocess.h"
#include "control_plane.h"
#include "eventually.h"
#include "files.h"
#include "http.h"
#include "ports.h"
#include "rfc3339.h"

namespace operator_test {

using accel::Subprocess;
using accel::SubprocessOptions;
using accel::testing::ControlPlane;
using accel::testing::ControlPlaneOptions;
using accel::testing::eventually;
using accel::testing::free_port;
using accel::testing::now_rfc3339;
using accel::testing::read_file;
using nlohmann::json;
namespace kube = accel::kube;

inline ControlPlane* g_cp = nullptr;
inline std::unique_ptr<kube::Client> g_client;

inline const kube::Resource kJobs{"accel.dev", "v1alpha1", "acceljobs", true, "AccelJob"};

// Starts the control plane (kube-controller-manager + kube-scheduler too when asked: the
// garbage collector deletes what an AccelJob owns) and applies the CRD, once per test binary.
class ControlPlaneEnvironment : public ::testing::Environment {
 public:
  explicit ControlPlaneEnvironment(ControlPlaneOptions options) : options_(options) {}
  void SetUp() override {
    g_cp = new ControlPlane(options_);
    auto applied = g_cp->kubectl(
        {"apply", "--server-side", "-f", accel::testing::source_dir() + "/crds/acceljob.yaml"});
    ASSERT_TRUE(applied.status.success()) << applied.output;
    auto established = g_cp->kubectl({"wait", "--for=condition=Established",
                                      "crd/acceljobs.accel.dev", "--timeout=60s"},
                                     std::chrono::seconds(70));
    ASSERT_TRUE(established.status.success()) << established.output;
    g_client = std::make_unique<kube::Client>(kube::ClientConfig::from_kubeconfig(g_cp->kubeconfig()));
  }
  void TearDown() override {
    g_client.reset();
    delete g_cp;
    g_cp = nullptr;
  }

 private:
  ControlPlaneOptions options_;
};

inline const ::testing::Environment* install_control_plane(ControlPlaneOptions options) {
  return ::testing::AddGlobalTestEnvironment(new ControlPlaneEnvironment(options));
}
inline const ::testing::Environment* install_control_plane(bool with_controllers) {
  return install_control_plane(ControlPlaneOptions{.with_controllers = with_controllers});
}

// GET http://127.0.0.1:port/path (accel::testing::http_get: with `code`, any answer's body).
inline std::string http_get(int port, const std::string& path, int* code = nullptr) {
  return accel::testing::http_get("http://127.0.0.1:" + std::to_string(port) + path, code);
}

// The value of one sample line `name{labels} value` of a Prometheus text scrape; -1 if absent.
inline double sample(const std::string& scrape, const std::string& series) {
  auto pos = scrape.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::atof(scrape.c_str() + pos + series.size() + 2);
}

// One accel-operator process watching one namespace.
struct Operator {
  std::unique_ptr<Subprocess> proc;
  int health_port = 0, metrics_port = 0;
  std::string log_path;

  std::string log() const { return read_file(log_path); }
  std::string metrics() const { return http_get(metrics_port, "/metrics"); }
  bool ready() const {
    int code = 0;
    http_get(health_port, "/readyz", &code);
    return code == 200;
  }
  // VmHWM (peak resident set) in kB from /proc, 0 when unreadable.
  long peak_rss_kb() const {
    std::ifstream in("/proc/" + std::to_string(proc->pid()) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    return 0;
  }
};

inline Operator start_operator(const std::string& ns, const std::vector<std::string>& extra = {},
                               bool wait_ready = true) {
  static int n = 0;
  Operator op;
  op.health_port = free_port();
  op.metrics_port = free_port();
  op.log_path = g_cp->dir() + "/operator-" + ns + "-" + std::to_string(++n) + ".log";
  SubprocessOptions o;
  o.argv = {ACCEL_OPERATOR_BINARY,
            "--kubeconfig=" + g_cp->kubeconfig(),
            "--namespace=" + ns,
            "--health-probe-bind-address=127.0.0.1:" + std::to_string(op.health_port),
            "--metrics-bind-address=127.0.0.1:" + std::to_string(op.metrics_port),
            "--log-level=debug"};
  o.argv.insert(o.argv.end(), extra.begin(), extra.end());
  o.stdout_path = op.log_path;
  o.stderr_path = "=stdout";
  op.proc = std::make_unique<Subprocess>(o);
  if (wait_ready) {
    EXPECT_TRUE(eventually([&] { return op.ready(); })) << "operator never became ready; log:\n"
                                                        << op.log();
  }
  return op;
}

inline std::string make_namespace(const std::string& name) {
  auto r = g_cp->kubectl({"create", "namespace", name});
  EXPECT_TRUE(r.status.success()) << r.output;
  return name;
}

// A namespace named after the running test ("FailsJobWhen..." → "fails-job-when...").
inline std::string test_namespace() {
  std::string n = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string out;
  for (char c : n) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty()) out += '-';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  out = out.substr(0, 60);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return make_namespace(out);
}

// An AccelJob with `nodes` CPU nodes, metrics off, and no restart backoff unless given.
inline json job_spec(const std::string& name, int nodes, json run_policy = json::object()) {
  if (!run_policy.contains("backoff")) run_policy["backoff"] = {{"initialSeconds", 0}};
  return {{"apiVersion", "accel.dev/v1alpha1"},
          {"kind", "AccelJob"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"image", "registry.example/train:1"},
            {"command", {"python", "train.py"}},
            {"nodes", nodes},
            {"metrics", {{"port", 0}}},
            {"runPolicy", run_policy}}}};
}

inline void kubectl_apply(const std::string& ns, const json& object) {
  std::string path = g_cp->dir() + "/apply-" + ns + "-" +
                     object["metadata"]["name"].get<std::string>() + ".json";
  std::ofstream(path) << object.dump(2);
  auto r = g_cp->kubectl({"apply", "-n", ns, "-f", path});
  ASSERT_TRUE(r.status.success()) << r.output;
}

inline json get_job(const std::string& ns, const std::string& name) {
  try {
    return g_client->get(kJobs, ns, name);
  } catch (const kube::NotFoundError&) {
    return nullptr;
  }
}

inline std::string phase_of(const std::string& ns, const std::string& name) {
  json j = get_job(ns, name);
  if (j.is_null()) return "<gone>";
  return j.value("/status/phase"_json_pointer, std::string());
}

inline std::vector<json> job_pods(const std::string& ns, const std::string& job) {
  kube::ListOptions lo;
  lo.label_selector = "accel.dev/job-name=" + job;
  return g_client->list(kube::resources::pods(), ns, lo).items;
}

inline std::set<std::string> pod_names(const std::string& ns, const std::string& job) {
  std::set<std::string> names;
  for (const auto& p : job_pods(ns, job)) names.insert(p["metadata"]["name"].get<std::string>());
  return names;
}

inline std::set<std::string> attempt_names(const std::string& job, int attempt, int nodes) {
  std::set<std::string> names;
  for (int n = 0; n < nodes; ++n)
    names.insert(job + "-a" + std::to_string(attempt) + "-n" + std::to_string(n));
  return names;
}

inline void patch_pod_status(const std::string& ns, const std::string& pod, const json& status) {
  auto r = g_cp->kubectl({"patch", "pod", pod, "-n", ns, "--subresource=status", "--type=merge",
                          "-p", json{{"status", status}}.dump()});
  ASSERT_TRUE(r.status.success()) << r.output;
}

inline void set_running(const std::string& ns, const std::string& pod) {
  std::string now = now_rfc3339();
  patch_pod_status(ns, pod,
                   {{"phase", "Running"},
                    {"startTime", now},
                    {"containerStatuses",
                     {{{"name", "worker"},
                       {"image", "registry.example/train:1"},
                       {"imageID", ""},
                       {"ready", true},
                       {"restartCount", 0},
                       {"state", {{"running", {{"startedAt", now}}}}}}}}});
}

// The status a kubelet reports for a pod whose worker exited with `exit_code`.
inline json exited_status(int exit_code) {
  std::string now = now_rfc3339();
  return {{"phase", exit_code == 0 ? "Succeeded" : "Failed"},
          {"containerStatuses",
           {{{"name", "worker"},
             {"image", "registry.example/train:1"},
             {"imageID", ""},
             {"ready", false},
             {"restartCount", 0},
             {"state",
              {{"terminated",
                {{"exitCode", exit_code},
                 {"reason", exit_code == 0 ? "Completed" : "Error"},
                 {"startedAt", now},
                 {"finishedAt", now}}}}}}}}};
}

inline void set_exited(const std::string& ns, const std::string& pod, int exit_code) {
  patch_pod_status(ns, pod, exited_status(exit_code));
}

// The holder of the operator's leader-election Lease in `ns` ("" when there is none).
inline std::string lease_holder(const std::string& ns) {
  try {
    json l = g_client->get(kube::resources::leases(), ns, "accel-operator");
    return l.value("/spec/holderIdentity"_json_pointer, std::string());
  } catch (const kube::NotFoundError&) {
    return "";
  }
}

inline const json* condition(const json& job, const std::string& type) {
  if (!job.contains("status") || !job["status"].contains("conditions")) return nullptr;
  for (const auto& c : job["status"]["conditions"])
    if (c.value("type", "") == type) return &c;
  return nullptr;
}

// Waits for the whole gang of `attempt` to exist, then marks every pod Running.
inline void run_gang(const std::string& ns, const std::string& job, int attempt, int nodes) {
  auto want = attempt_names(job, attempt, nodes);
  ASSERT_TRUE(eventually([&] { return pod_names(ns, job) == want; }))
      << "pods: " << json(pod_names(ns, job)).dump();
  for (const auto& p : want) set_running(ns, p);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, job) == "Running"; }))
      << get_job(ns, job).dump(2);
}

// Lists the namespace's job pods every 50 ms (own client) for the life of the object and
// remembers the most pods seen at once for each (job, attempt), and the most attempts of one job
// seen at once. List errors (the apiserver or etcd restarting) are skipped.
class DuplicateWatch {
 public:
  explicit DuplicateWatch(std::string ns)
      : ns_(std::move(ns)),
        client_(kube::ClientConfig::from_kubeconfig(g_cp->kubeconfig())),
        thread_([this] { run(); }) {}
  ~DuplicateWatch() {
    stop_ = true;
    thread_.join();
  }
  DuplicateWatch(const DuplicateWatch&) = delete;
  DuplicateWatch& operator=(const DuplicateWatch&) = delete;
  // "job/attempt" → most pods seen at once.
  std::map<std::string, int> most() const {
    std::lock_guard<std::mutex> lock(mu_);
    return most_;
  }
  // job → most distinct attempts seen at once (2 = two gangs existed together).
  std::map<std::string, int> most_attempts() const {
    std::lock_guard<std::mutex> lock(mu_);
    return most_attempts_;
  }
  int lists() const { return lists_; }

 private:
  void run() {
    while (!stop_) {
      try {
        kube::ListOptions lo;
        lo.label_selector = "accel.dev/job-name";
        std::map<std::string, int> now;
        std::map<std::string, std::set<std::string>> attempts;
        for (const auto& p : client_.list(kube::resources::pods(), ns_, lo).items) {
          const auto& labels = p["metadata"]["labels"];
          const std::string job = labels.value("accel.dev/job-name", "");
          const std::string attempt = labels.value("accel.dev/attempt", "");
          now[job + "/" + attempt]++;
          attempts[job].insert(attempt);
        }
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [k, n] : now) most_[k] = std::max(most_[k], n);
        for (const auto& [job, a] : attempts)
          most_attempts_[job] = std::max(most_attempts_[job], static_cast<int>(a.size()));
        ++lists_;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  std::string ns_;
  kube::Client client_;
  mutable std::mutex mu_;
  std::map<std::string, int> most_;
  std::map<std::string, int> most_attempts_;
  std::atomic<int> lists_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Every (job, attempt) the watch saw had at most `nodes` pods at once.
inline void expect_no_duplicates(const DuplicateWatch& watch,
                                 const std::map<std::string, int>& nodes) {
  EXPECT_GT(watch.lists(), 0);
  for (const auto& [key, most] : watch.most()) {
    std::string job = key.substr(0, key.find('/'));
    ASSERT_TRUE(nodes.count(job)) << key;
    EXPECT_LE(most, nodes.at(job)) << "duplicate pods: " << most << " pods of " << key
                                   << " existed at once";
  }
}

}  // namespace operator_test

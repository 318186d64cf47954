// accel-operator (the real binary, as a subprocess) under the two disturbances a real cluster
// hands it: the kube-apiserver restarting under its open watches, and 409 Conflicts on its status
// writes. Real components: kube-apiserver + etcd (tests/support/control_plane.h, one control plane
// for this binary, of its own because restart_apiserver() would disturb other tests), the real
// kubectl for the CRD and AccelJobs. No kubelet and no scheduler: pods stay unbound, so deleting
// one is immediate, and tests move pods through their phases with `kubectl patch
// --subresource=status`, as a kubelet would. Each test has its own namespace and operator.
//
// A watcher thread lists the namespace's pods throughout each test and records any moment at
// which one (job, attempt) had more pods than the job has nodes: that is what a duplicate
// create would look like.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "accel/kube/client.h"
#include "accel/kube/errors.h"
#include "accel/subprocess.h"
#include "control_plane.h"

namespace {

using accel::Subprocess;
using accel::SubprocessOptions;
using accel::testing::ControlPlane;
using nlohmann::json;
namespace kube = accel::kube;

ControlPlane* g_cp = nullptr;
std::unique_ptr<kube::Client> g_client;

const kube::Resource kJobs{"accel.dev", "v1alpha1", "acceljobs", true, "AccelJob"};

class Env : public ::testing::Environment {
 public:
  void SetUp() override {
    g_cp = new ControlPlane();
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
};
const auto* const g_env = ::testing::AddGlobalTestEnvironment(new Env);

bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (pred()) return true;
    } catch (const std::exception&) {
      // the apiserver may be restarting: ask again
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(fd);
  return port;
}

std::string http_get(int port, const std::string& path, int* code = nullptr) {
  auto r = accel::run_command({"curl", "-s", "-m", "5", "-w", "\n%{http_code}",
                               "http://127.0.0.1:" + std::to_string(port) + path},
                              std::chrono::seconds(10));
  auto nl = r.output.rfind('\n');
  if (code) *code = nl == std::string::npos ? 0 : std::atoi(r.output.c_str() + nl + 1);
  return nl == std::string::npos ? r.output : r.output.substr(0, nl);
}

// The value of one sample line `name{labels} value` of a Prometheus text scrape; -1 if absent.
double sample(const std::string& scrape, const std::string& series) {
  auto pos = scrape.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::atof(scrape.c_str() + pos + series.size() + 2);
}

std::string now_rfc3339() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

struct Operator {
  std::unique_ptr<Subprocess> proc;
  int health_port = 0, metrics_port = 0;
  std::string log_path;

  std::string log() const {
    std::ifstream in(log_path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string metrics() const { return http_get(metrics_port, "/metrics"); }
  bool ready() const {
    int code = 0;
    http_get(health_port, "/readyz", &code);
    return code == 200;
  }
};

Operator start_operator(const std::string& ns, const std::vector<std::string>& extra = {}) {
  Operator op;
  op.health_port = free_port();
  op.metrics_port = free_port();
  op.log_path = g_cp->dir() + "/operator-" + ns + ".log";
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
  EXPECT_TRUE(eventually([&] { return op.ready(); })) << "operator never became ready:\n"
                                                      << op.log();
  return op;
}

std::string test_namespace() {
  std::string n = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::string out;
  for (char c : n) {
    if (std::isupper(static_cast<unsigned char>(c)) && !out.empty()) out += '-';
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  out = out.substr(0, 60);
  while (!out.empty() && out.back() == '-') out.pop_back();
  auto r = g_cp->kubectl({"create", "namespace", out});
  EXPECT_TRUE(r.status.success()) << r.output;
  return out;
}

json job_spec(const std::string& name, int nodes, json run_policy = json::object()) {
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

void kubectl_apply(const std::string& ns, const json& object) {
  std::string path = g_cp->dir() + "/apply-" + ns + "-" +
                     object["metadata"]["name"].get<std::string>() + ".json";
  std::ofstream(path) << object.dump(2);
  auto r = g_cp->kubectl({"apply", "-n", ns, "-f", path});
  ASSERT_TRUE(r.status.success()) << r.output;
}

json get_job(const std::string& ns, const std::string& name) {
  try {
    return g_client->get(kJobs, ns, name);
  } catch (const kube::NotFoundError&) {
    return nullptr;
  }
}

std::string phase_of(const std::string& ns, const std::string& name) {
  json j = get_job(ns, name);
  if (j.is_null()) return "<gone>";
  return j.value("/status/phase"_json_pointer, std::string());
}

std::set<std::string> pod_names(const std::string& ns, const std::string& job) {
  kube::ListOptions lo;
  lo.label_selector = "accel.dev/job-name=" + job;
  std::set<std::string> names;
  for (const auto& p : g_client->list(kube::resources::pods(), ns, lo).items)
    names.insert(p["metadata"]["name"].get<std::string>());
  return names;
}

std::set<std::string> attempt_names(const std::string& job, int attempt, int nodes) {
  std::set<std::string> names;
  for (int n = 0; n < nodes; ++n)
    names.insert(job + "-a" + std::to_string(attempt) + "-n" + std::to_string(n));
  return names;
}

void patch_pod_status(const std::string& ns, const std::string& pod, const json& status) {
  auto r = g_cp->kubectl({"patch", "pod", pod, "-n", ns, "--subresource=status", "--type=merge",
                          "-p", json{{"status", status}}.dump()});
  ASSERT_TRUE(r.status.success()) << r.output;
}

void set_running(const std::string& ns, const std::string& pod) {
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

void set_exited(const std::string& ns, const std::string& pod, int exit_code) {
  std::string now = now_rfc3339();
  patch_pod_status(
      ns, pod,
      {{"phase", exit_code == 0 ? "Succeeded" : "Failed"},
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
              {"finishedAt", now}}}}}}}}});
}

// Waits for the whole gang of `attempt` to exist, then marks every pod Running.
void run_gang(const std::string& ns, const std::string& job, int attempt, int nodes) {
  auto want = attempt_names(job, attempt, nodes);
  ASSERT_TRUE(eventually([&] { return pod_names(ns, job) == want; }))
      << "pods: " << json(pod_names(ns, job)).dump();
  for (const auto& p : want) set_running(ns, p);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, job) == "Running"; }))
      << get_job(ns, job).dump(2);
}

// Lists the namespace's job pods every 50 ms (own client) for the life of the object and
// remembers the most pods seen at once for each (job, attempt). List errors (the apiserver
// restarting) are skipped.
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
  // "job/attempt" → most pods seen at once.
  std::map<std::string, int> most() const {
    std::lock_guard<std::mutex> lock(mu_);
    return most_;
  }
  int lists() const { return lists_; }

 private:
  void run() {
    while (!stop_) {
      try {
        kube::ListOptions lo;
        lo.label_selector = "accel.dev/job-name";
        std::map<std::string, int> now;
        for (const auto& p : client_.list(kube::resources::pods(), ns_, lo).items) {
          const auto& labels = p["metadata"]["labels"];
          now[labels.value("accel.dev/job-name", "") + "/" +
              labels.value("accel.dev/attempt", "")]++;
        }
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& [k, n] : now) most_[k] = std::max(most_[k], n);
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
  std::atomic<int> lists_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Every (job, attempt) the watch saw had at most `nodes` pods at once.
void expect_no_duplicates(const DuplicateWatch& watch, const std::map<std::string, int>& nodes) {
  EXPECT_GT(watch.lists(), 0);
  for (const auto& [key, most] : watch.most()) {
    std::string job = key.substr(0, key.find('/'));
    ASSERT_TRUE(nodes.count(job)) << key;
    EXPECT_LE(most, nodes.at(job)) << "duplicate pods: " << most << " pods of " << key
                                   << " existed at once";
  }
}

// What this proves: after kube-apiserver restarts under the operator's open watches (same port,
// same etcd), the SAME operator process (never restarted) sees changes made afterwards — a pod
// that fails makes it restart the gang as attempt 1, and a job created after the restart gets
// its pods — it is ready again, and at no moment did any attempt have more pods than nodes.
// Would fail if the informers did not re-watch/relist after the connection drop (nothing after
// the restart would be reconciled) or if the process died on the dropped watch.
TEST(OperatorRobustness, RecoversFromApiserverRestartMidWatchWithoutDuplicatePods) {
  std::string ns = test_namespace();
  DuplicateWatch watch(ns);
  Operator op = start_operator(ns);
  const pid_t pid = op.proc->pid();
  kubectl_apply(ns, job_spec("before", 2, {{"maxRestarts", 3}}));
  run_gang(ns, "before", 0, 2);

  g_cp->restart_apiserver();  // every open watch of the operator drops
  ASSERT_TRUE(eventually([&] { return !pod_names(ns, "before").empty(); }, std::chrono::seconds(60)))
      << "apiserver did not come back";

  // (a) A failure after the restart restarts the whole gang as a new attempt.
  set_exited(ns, "before-a0-n1", 1);
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "before") == attempt_names("before", 1, 2); },
                         std::chrono::seconds(90)))
      << json(pod_names(ns, "before")).dump() << "\n" << op.log();
  json before = get_job(ns, "before");
  EXPECT_EQ(before["status"]["restarts"], 1);
  EXPECT_EQ(before["status"]["lastFailure"]["pod"], "before-a0-n1");

  // (b) A job created after the restart gets its gang and reaches Running.
  kubectl_apply(ns, job_spec("after", 2));
  run_gang(ns, "after", 0, 2);

  // The same process did all of it and is ready again.
  EXPECT_FALSE(op.proc->poll().has_value()) << "the operator exited:\n" << op.log();
  EXPECT_EQ(op.proc->pid(), pid);
  EXPECT_TRUE(eventually([&] { return op.ready(); })) << op.log();
  expect_no_duplicates(watch, {{"before", 2}, {"after", 2}});
}

// What this proves: 409 Conflicts on the operator's status writes (made real by a thread that
// patches the AccelJob's annotations through the main resource as fast as it can, bumping its
// resourceVersion under the operator's cache) are retried: the job still goes Starting →
// Running → Restarting → Running (attempt 1) → Succeeded with the right status, no attempt ever
// had duplicate pods, the operator's /metrics count the conflicts under
// accel_operator_reconcile_errors_total{reason="conflict"} (requeued, not failed: no "api"
// errors), and the status writes never clobbered the metadata the other writer set.
// Would fail if a conflict were dropped without requeue AND no later event saved it, if it
// failed the job, or if conflicts were not seen/counted.
TEST(OperatorRobustness, StatusWriteConflictsAreRetriedAndTheJobStillSucceeds) {
  std::string ns = test_namespace();
  DuplicateWatch watch(ns);
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("cf", 2, {{"maxRestarts", 2}}));

  std::atomic<bool> stop{false};
  std::atomic<int> bumps{0};
  std::thread writer([&] {
    kube::Client c(kube::ClientConfig::from_kubeconfig(g_cp->kubeconfig()));
    while (!stop) {
      try {
        c.patch(kJobs, ns, "cf", kube::PatchType::Merge,
                {{"metadata", {{"annotations", {{"test.accel.dev/tick", std::to_string(bumps + 1)}}}}}});
        ++bumps;
      } catch (const std::exception&) {
      }
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } join{stop, writer};

  run_gang(ns, "cf", 0, 2);
  set_exited(ns, "cf-a0-n0", 1);
  run_gang(ns, "cf", 1, 2);
  for (const auto& p : attempt_names("cf", 1, 2)) set_exited(ns, p, 0);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "cf") == "Succeeded"; }))
      << get_job(ns, "cf").dump(2) << op.log();
  stop = true;
  writer.join();

  json job = get_job(ns, "cf");
  EXPECT_EQ(job["status"]["restarts"], 1);
  EXPECT_EQ(job["status"]["attempt"], 1);
  EXPECT_EQ(job["status"]["lastFailure"]["pod"], "cf-a0-n0");
  // The last annotation written survived every status write (a patch that timed out may still
  // have landed, hence >=).
  EXPECT_GE(std::stoi(job.value("/metadata/annotations/test.accel.dev~1tick"_json_pointer,
                                std::string("0"))),
            bumps.load())
      << job["metadata"].dump();
  std::string m = op.metrics();
  double conflicts = sample(m, "accel_operator_reconcile_errors_total{reason=\"conflict\"}");
  std::cout << "[ operator ] " << bumps << " annotation writes; " << conflicts
            << " status-write conflicts retried\n";
  EXPECT_GT(conflicts, 0) << "no status write ever conflicted (" << bumps << " writes)\n" << m;
  EXPECT_EQ(sample(m, "accel_operator_reconcile_errors_total{reason=\"api\"}"), 0) << m;
  EXPECT_GE(sample(m, "accel_operator_reconcile_total{result=\"requeue\"}"), conflicts) << m;
  EXPECT_EQ(sample(m, "accel_operator_jobs_succeeded_total"), 1) << m;
  EXPECT_EQ(sample(m, "accel_operator_jobs{phase=\"Succeeded\"}"), 1) << m;
  expect_no_duplicates(watch, {{"cf", 2}});
}

}  // namespace

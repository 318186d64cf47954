// End to end, on a real control plane: kube-apiserver + etcd + kube-controller-manager
// (deployment, replicaset, garbage-collector, node-lifecycle controllers) + kube-scheduler from
// tests/support/control_plane.h; the operator installed by the real helm from
// charts/accel-operator, running as a host process under its chart service account; AccelJobs
// applied with the real kubectl; worker pods run as host processes (accel launch ->
// accel-train-gpt, the real binaries of this build) by tests/e2e/cluster/node_agent.h, a test
// kubelet for one Node; a real Prometheus (Debian's) scraping workers and operator.
// Faults are real: SIGKILL of a training process, a rank that hangs.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "accel/kube/client.h"
#include "accel/kube/errors.h"
#include "accel/kube/log.h"
#include "accel/subprocess.h"
#include "control_plane.h"
#include "eventually.h"
#include "files.h"
#include "http.h"
#include "kueue.h"
#include "node_agent.h"
#include "ports.h"
#include "prometheus.h"

namespace accel::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const kube::Resource kJobs{"accel.dev", "v1alpha1", "acceljobs", true, "AccelJob"};
const std::string kOperatorNs = "accel-system";
const std::string kJobNs = "e2e-jobs";

ControlPlane* g_cp = nullptr;
std::unique_ptr<kube::Client> g_client;
std::unique_ptr<NodeAgent> g_agent;
std::string g_dir;  // this binary's scratch folder (inside the control plane's)
int g_worker_metrics_port = 0, g_operator_metrics_port = 0, g_operator_health_port = 0;
std::string g_operator_pod;

CommandResult helm(std::vector<std::string> args) {
  std::vector<std::string> argv{"bash", source_dir() + "/scripts/helm.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string home = g_dir + "/helm";
  return run_command(argv, std::chrono::seconds(180),
                     {{"HELM_CACHE_HOME", home + "/cache"},
                      {"HELM_CONFIG_HOME", home + "/config"},
                      {"HELM_DATA_HOME", home + "/data"},
                      {"KUBECONFIG", g_cp->kubeconfig()}});
}

std::string diagnostics() {
  std::string out = g_agent ? g_agent->all_logs() : "";
  if (g_cp) {
    auto pods = g_cp->kubectl({"get", "pods", "-A", "-o", "wide"});
    auto jobs = g_cp->kubectl({"get", "acceljobs", "-A", "-o", "yaml"});
    out += "\n===== kubectl get pods -A\n" + pods.output + "\n===== acceljobs\n" + jobs.output;
  }
  return out;
}

json get_job(const std::string& name) {
  try {
    return g_client->get(kJobs, kJobNs, name);
  } catch (const kube::NotFoundError&) {
    return nullptr;
  }
}

std::string phase_of(const std::string& name) {
  json j = get_job(name);
  return j.is_null() ? "<gone>" : j.value("/status/phase"_json_pointer, std::string());
}

std::vector<json> job_pods(const std::string& job) {
  kube::ListOptions lo;
  lo.label_selector = "accel.dev/job-name=" + job;
  return g_client->list(kube::resources::pods(), kJobNs, lo).items;
}

bool pod_running(const std::string& ns, const std::string& name) {
  try {
    json p = g_client->get(kube::resources::pods(), ns, name);
    return p.value("/status/phase"_json_pointer, std::string()) == "Running";
  } catch (const kube::NotFoundError&) {
    return false;
  }
}

// A small GPT job derived from examples/gpt-2node-cpu.yaml, its paths on this host.
json gpt_job(const std::string& name, std::int64_t steps, std::vector<std::string> extra_args,
             json run_policy, std::int64_t checkpoint_every = 20) {
  const std::string dir = g_dir + "/jobs/" + name;
  fs::create_directories(dir);
  std::vector<std::string> args{"--steps",      std::to_string(steps),
                                "--batch-size", "4",
                                "--seq-len",    "32",
                                "--dim",        "32",
                                "--layers",     "1"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  // Every step by default: the tests read which steps each attempt ran from the pod logs.
  if (std::find(args.begin(), args.end(), "--log-every") == args.end())
    args.insert(args.end(), {"--log-every", "1"});
  if (!run_policy.contains("backoff")) run_policy["backoff"] = {{"initialSeconds", 0}};
  return {{"apiVersion", "accel.dev/v1alpha1"},
          {"kind", "AccelJob"},
          {"metadata", {{"name", name}, {"namespace", kJobNs}}},
          {"spec",
           {{"image", "accel-worker:cpu"},
            {"command", {"accel-train-gpt"}},
            {"args", args},
            {"nodes", 2},
            {"gpusPerNode", 0},
            {"precision", "bf16"},
            {"gradientAccumulationSteps", 2},
            {"env", {{{"name", "OMP_NUM_THREADS"}, {"value", "1"}}}},
            {"trackers", {{{"type", "jsonl"}}}},
            {"logging", {{"projectDir", dir + "/project"}}},
            {"metrics", {{"port", g_worker_metrics_port}}},
            // A host path both attempts see, as a shared volume would be.
            {"checkpoint", {{"dir", dir + "/checkpoints"}, {"everySteps", checkpoint_every}}},
            {"runPolicy", run_policy}}}};
}

void kubectl_apply(const json& object) {
  const std::string path =
      g_dir + "/apply-" + object["metadata"]["name"].get<std::string>() + ".json";
  std::ofstream(path) << object.dump(2);
  auto r = g_cp->kubectl({"apply", "-f", path});
  ASSERT_TRUE(r.status.success()) << r.output;
}

// Largest step among checkpoint_<step> folders in `dir` (0 when none).
std::int64_t latest_checkpoint(const std::string& dir) {
  std::int64_t best = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind("checkpoint_", 0) == 0 && n.find('.') == std::string::npos &&
        n.find("tmp") == std::string::npos)
      best = std::max<std::int64_t>(best, std::atoll(n.c_str() + 11));
  }
  return best;
}

// Children of `pid` (from /proc).
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  pid_t c;
  while (in >> c) out.push_back(c);
  return out;
}

// Steps printed by the trainer ("step N loss X") in a pod log, in order.
std::vector<std::int64_t> logged_steps(const std::string& log) {
  std::vector<std::int64_t> out;
  static const std::regex re(R"((?:^|\n)(?:\[[^\]]*\] )?step (\d+) loss)");
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it)
    out.push_back(std::stoll((*it)[1]));
  return out;
}

// Standard base64 (RFC 4648, padded): how the API serves a Secret's data.
// Prometheus's configuration in the suite: the operator at `operator_target` (ip:port), and the
// workers listed in <d>/workers.json, empty until set_worker_targets writes their pod IPs.
std::string scrape_config(const std::string& d, const std::string& operator_target) {
  std::ofstream(d + "/workers.json") << "[]";
  std::ostringstream cfg;
  cfg << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      << "scrape_configs:\n"
      << "  - job_name: accel-operator\n    static_configs:\n      - targets: ['"
      << operator_target << "']\n"
      << "  - job_name: accel-workers\n    file_sd_configs:\n      - files: ['" << d
      << "/workers.json']\n        refresh_interval: 1s\n";
  return cfg.str();
}

// Points the workers' file_sd at `pods` (in the job namespace) on `port`, atomically.
void set_worker_targets(const std::string& d, const std::vector<std::string>& pods,
                        const std::string& port) {
  json list = json::array();
  for (const auto& p : pods) list.push_back(g_agent->ip_of(kJobNs, p) + ":" + port);
  std::ofstream(d + "/workers.json.tmp") << json::array({{{"targets", list}}}).dump();
  fs::rename(d + "/workers.json.tmp", d + "/workers.json");
}

std::string base64(const std::string& in) {
  static const char* const kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v =
        (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    for (int s : {18, 12, 6, 0}) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16;
    out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += std::string{kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63],
                       kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

// "accel-canary-" and 24 random hex characters: a value nothing else could produce.
std::string canary() {
  std::random_device rd;
  std::ostringstream out;
  out << "accel-canary-" << std::hex;
  for (int i = 0; i < 24; ++i) out << (rd() & 15);
  return out.str();
}

// The NAME=VALUE entries of process `pid`'s initial environment (/proc/PID/environ).
std::set<std::string> environ_of(pid_t pid) {
  const std::string raw = read_file("/proc/" + std::to_string(pid) + "/environ");
  std::set<std::string> out;
  std::istringstream in(raw);
  for (std::string entry; std::getline(in, entry, '\0');) out.insert(entry);
  return out;
}

class E2eEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    kube::set_log_sink(nullptr);
    // The agent resolves pod DNS names with libnss_wrapper; without it rendezvous would only
    // time out, minutes later.
    auto nss = run_command(
        {"hostname"}, std::chrono::seconds(10),
        {{"LD_PRELOAD", "libnss_wrapper.so"}, {"NSS_WRAPPER_HOSTNAME", "nss-wrapper-works"}});
    ASSERT_NE(nss.output.find("nss-wrapper-works"), std::string::npos)
        << "libnss_wrapper.so does not load: install Debian's libnss-wrapper "
           "(scripts/setup-deps.sh)\n"
        << nss.output;
    try {
      g_cp = new ControlPlane({.with_controllers = true});
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    g_dir = g_cp->dir() + "/e2e";
    fs::create_directories(g_dir + "/agent");
    g_client =
        std::make_unique<kube::Client>(kube::ClientConfig::from_kubeconfig(g_cp->kubeconfig()));
    g_worker_metrics_port = free_port();
    g_operator_metrics_port = free_port();
    g_operator_health_port = free_port();

    NodeAgentOptions ao;
    ao.node_name = "e2e-node-1";
    ao.work_dir = g_dir + "/agent";
    ao.server = g_cp->server();
    ao.ca_file = g_cp->ca_file();
    ao.binaries = {{"accel", ACCEL_CLI},
                   {"accel-train-gpt", GPT_TRAINER},
                   {"accel-operator", ACCEL_OPERATOR_BINARY}};
    // The images' ENTRYPOINTs (dockerfiles/*.Dockerfile).
    ao.entrypoints = {{"accel-operator", {"/usr/local/bin/accel-operator"}},
                      {"accel-worker", {"/usr/local/bin/accel", "launch"}}};
    g_agent = std::make_unique<NodeAgent>(*g_client, ao);

    // The chart, as a user installs it; the image is never pulled (the agent runs this build's
    // accel-operator for the image's ENTRYPOINT).
    const json values = {
        {"operator", {{"logLevel", "debug"}, {"extraArgs", {"--progress-interval=1"}}}},
        {"metrics", {{"port", g_operator_metrics_port}}},
        {"health", {{"port", g_operator_health_port}}}};
    std::ofstream(g_dir + "/values.yaml") << values.dump(2);
    auto installed =
        helm({"install", "accel-operator", source_dir() + "/charts/accel-operator", "--namespace",
              kOperatorNs, "--create-namespace", "-f", g_dir + "/values.yaml"});
    ASSERT_TRUE(installed.status.success()) << installed.output;
    auto est = g_cp->kubectl(
        {"wait", "--for=condition=Established", "--timeout=60s", "crd/acceljobs.accel.dev"},
        std::chrono::seconds(70));
    ASSERT_TRUE(est.status.success()) << est.output;
    auto ns = g_cp->kubectl({"create", "namespace", kJobNs});
    ASSERT_TRUE(ns.status.success()) << ns.output;

    // The Deployment's pod: scheduled onto the agent's node, started, Running.
    ASSERT_TRUE(eventually(
        [&] {
          kube::ListOptions lo;
          lo.label_selector = "app.kubernetes.io/name=accel-operator";
          for (const auto& p : g_client->list(kube::resources::pods(), kOperatorNs, lo).items)
            if (p.value("/status/phase"_json_pointer, std::string()) == "Running") {
              g_operator_pod = p["metadata"]["name"];
              return true;
            }
          return false;
        },
        std::chrono::seconds(120)))
        << "the operator pod never ran\n"
        << diagnostics();
    const std::string ip = g_agent->ip_of(kOperatorNs, g_operator_pod);
    ASSERT_TRUE(eventually(
        [&] {
          return !http_get("http://" + ip + ":" + std::to_string(g_operator_health_port) +
                           "/readyz")
                      .empty();
        },
        std::chrono::seconds(60)))
        << "the operator never became ready\n"
        << diagnostics();
  }
  void TearDown() override {
    g_agent.reset();
    g_client.reset();
    delete g_cp;
    g_cp = nullptr;
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new E2eEnvironment);

// The Kueue of the preemption test, stopped before the control plane (environments are torn
// down in the reverse order of their registration).
std::unique_ptr<Kueue> g_kueue;
struct KueueEnvironment : ::testing::Environment {
  void TearDown() override { g_kueue.reset(); }
};
const auto* const kKueueEnvironment = ::testing::AddGlobalTestEnvironment(new KueueEnvironment);

class GptJobE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(g_agent && !g_operator_pod.empty()) << "the environment failed (see above)";
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << diagnostics() << std::endl;
    // The agent runs every pod on this host, so a pod still stopping (a worker finishing its
    // checkpoint in its grace period) would hold ports the next test's pods need.
    EXPECT_TRUE(eventually(
        [] {
          for (const auto& p : g_client->list(kube::resources::pods(), kJobNs).items)
            if (p.value("/status/phase"_json_pointer, std::string()) == "Running") return false;
          return true;
        },
        std::chrono::seconds(150)))
        << "pods of this test were still running after it\n"
        << diagnostics();
  }
};

TEST_F(GptJobE2e, OperatorRunsUnderTheChartServiceAccountFromItsDeployment) {
  json pod = g_client->get(kube::resources::pods(), kOperatorNs, g_operator_pod);
  EXPECT_EQ(pod["spec"]["nodeName"], "e2e-node-1");
  EXPECT_EQ(pod["spec"]["serviceAccountName"], "accel-operator");
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
  // Its credentials are a bound service-account token (not the admin's): the operator log
  // names the kubeconfig the agent wrote for it, and the API accepted its calls (it is ready).
  const std::string log = g_agent->log_of(kOperatorNs, g_operator_pod);
  EXPECT_NE(log.find("/kubeconfig (context sa)"), std::string::npos) << log;
  auto can = g_cp->kubectl({"auth", "can-i", "create", "pods", "-n", kJobNs,
                            "--as=system:serviceaccount:" + kOperatorNs + ":accel-operator"});
  EXPECT_EQ(can.output.substr(0, 3), "yes") << can.output;
}

TEST_F(GptJobE2e, SmallGptJobRunsToSucceededAndKubectlShowsPhaseRestartsAndStep) {
  // Long enough for a few of the operator's 1 s /progress reads while it trains (60 steps were
  // over in under 2 s, and one CI run beside other tests saw none).
  const std::int64_t steps = 300;
  kubectl_apply(gpt_job("gpt-ok", steps, {}, {{"maxRestarts", 1}}));
  ASSERT_TRUE(eventually([] { return job_pods("gpt-ok").size() == 2; })) << "pods never created\n"
                                                                         << diagnostics();
  ASSERT_TRUE(eventually([] { return phase_of("gpt-ok") == "Running"; }, std::chrono::seconds(90)))
      << diagnostics();
  ASSERT_TRUE(
      eventually([] { return phase_of("gpt-ok") == "Succeeded"; }, std::chrono::seconds(180)))
      << diagnostics();
  const std::string log0 = g_agent->log_of(kJobNs, "gpt-ok-a0-n0");
  EXPECT_NE(log0.find("done: " + std::to_string(steps) + " steps"), std::string::npos) << log0;

  auto r = g_cp->kubectl({"get", "acceljobs", "-n", kJobNs, "gpt-ok"});
  ASSERT_TRUE(r.status.success()) << r.output;
  std::istringstream lines(r.output);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  std::istringstream h(header), v(row);
  std::vector<std::string> hs, vs;
  for (std::string s; h >> s;) hs.push_back(s);
  for (std::string s; v >> s;) vs.push_back(s);
  ASSERT_EQ(hs.size(), vs.size()) << r.output;
  std::map<std::string, std::string> col;
  for (std::size_t i = 0; i < hs.size(); ++i) col[hs[i]] = vs[i];
  EXPECT_EQ(col["PHASE"], "Succeeded") << r.output;
  EXPECT_EQ(col["RESTARTS"], "0") << r.output;
  EXPECT_EQ(col["NODES"], "2") << r.output;
  // Step: what the operator last read from rank 0's /progress while the job ran.
  ASSERT_TRUE(std::regex_match(col["STEP"], std::regex("[0-9]+"))) << r.output;
  EXPECT_GT(std::stoll(col["STEP"]), 0) << r.output;
  EXPECT_LE(std::stoll(col["STEP"]), steps) << r.output;
}

TEST_F(GptJobE2e, SigkilledWorkerRestartsTheWholeGangWhichResumesFromTheLastCheckpoint) {
  const std::string job = "gpt-kill";
  const std::int64_t kSteps = 120;
  const std::string ckpt = g_dir + "/jobs/" + job + "/checkpoints";
  kubectl_apply(gpt_job(job, kSteps, {}, {{"maxRestarts", 2}}, 10));
  // Mid-run: once a checkpoint exists, SIGKILL rank 1's training process (not its launcher).
  ASSERT_TRUE(eventually([&] { return latest_checkpoint(ckpt) >= 10; }, std::chrono::seconds(120)))
      << diagnostics();
  auto launcher = g_agent->pid_of(kJobNs, job + "-a0-n1");
  ASSERT_TRUE(launcher) << diagnostics();
  auto kids = children_of(*launcher);
  ASSERT_EQ(kids.size(), 1u) << "accel launch should run one process per CPU node";
  const std::int64_t ckpt_at_kill = latest_checkpoint(ckpt);
  ASSERT_EQ(::kill(kids[0], SIGKILL), 0);

  ASSERT_TRUE(eventually([&] { return phase_of(job) == "Succeeded"; }, std::chrono::seconds(240)))
      << diagnostics();
  json j = get_job(job);
  EXPECT_EQ(j["status"]["restarts"], 1) << j.dump(2);
  EXPECT_EQ(j["status"]["attempt"], 1) << j.dump(2);
  EXPECT_FALSE(j.value("/status/lastFailure/reason"_json_pointer, std::string()).empty())
      << j.dump(2);
  // The whole gang was replaced: both pods of attempt 1 ran (and the attempt-0 pods are gone).
  std::set<std::string> names;
  for (const auto& p : job_pods(job)) names.insert(p["metadata"]["name"].get<std::string>());
  EXPECT_EQ(names, (std::set<std::string>{job + "-a1-n0", job + "-a1-n1"}));
  const std::string a0 = g_agent->log_of(kJobNs, job + "-a0-n0");
  const std::string a1 = g_agent->log_of(kJobNs, job + "-a1-n0");
  ASSERT_FALSE(a1.empty()) << "attempt 1 never ran on this node\n" << diagnostics();
  // Attempt 1 resumed from a checkpoint at or after the one that existed at the kill...
  std::smatch m;
  ASSERT_TRUE(std::regex_search(a1, m, std::regex(R"(resumed from \S+ \(step (\d+))"))) << a1;
  const std::int64_t resumed = std::stoll(m[1]);
  EXPECT_GE(resumed, ckpt_at_kill) << a1;
  // ...attempt 0 had got to that step (its "step N" line needs one more all-reduce with every
  // peer, the loss mean, after checkpoint N is complete: a peer killed in between leaves the
  // line of the checkpointed step unprinted)...
  auto steps0 = logged_steps(a0);
  ASSERT_FALSE(steps0.empty()) << a0;
  EXPECT_GE(steps0.back(), resumed - 1) << a0;
  // ...and attempt 1 logs nothing before it: its first step is the one after the checkpoint.
  auto steps1 = logged_steps(a1);
  ASSERT_FALSE(steps1.empty()) << a1;
  EXPECT_EQ(steps1.front(), resumed + 1) << a1;
  EXPECT_EQ(steps1.back(), kSteps) << a1;
  EXPECT_NE(a1.find("done: " + std::to_string(kSteps) + " steps"), std::string::npos) << a1;
}

// A pod deleted mid-training (what a drain, a spot reclaim or a preemption does): its worker
// gets SIGTERM, every rank stops after the same step with a checkpoint (exit 82), the operator
// counts a disruption (not a restart), and the next attempt resumes at the next step: no step
// is lost or repeated, and the final parameters are an uninterrupted run's.
TEST_F(GptJobE2e, ADeletedPodCostsNoStepAndTheResultIsAnUninterruptedRunsParameters) {
  const std::int64_t kSteps = 160;
  const std::string ref = "gpt-uninterrupted", job = "gpt-preempted";
  const std::string ref_params = g_dir + "/jobs/" + ref + "/p.bin";
  const std::string params = g_dir + "/jobs/" + job + "/p.bin";
  // No periodic checkpoint: only the stop's can carry the run over.
  kubectl_apply(gpt_job(ref, kSteps, {"--save-params", ref_params}, {{"maxRestarts", 0}}, 0));
  ASSERT_TRUE(eventually([&] { return phase_of(ref) == "Succeeded"; }, std::chrono::seconds(240)))
      << diagnostics();

  kubectl_apply(gpt_job(job, kSteps, {"--save-params", params}, {{"maxRestarts", 0}}, 0));
  ASSERT_TRUE(eventually(
      [&] {
        auto s = logged_steps(g_agent->log_of(kJobNs, job + "-a0-n0"));
        return !s.empty() && s.back() >= 40;
      },
      std::chrono::seconds(120)))
      << diagnostics();
  const auto t0 = std::chrono::steady_clock::now();
  auto del = g_cp->kubectl({"delete", "pod", "-n", kJobNs, job + "-a0-n1", "--wait=false"});
  ASSERT_TRUE(del.status.success()) << del.output;
  ASSERT_TRUE(eventually([&] { return phase_of(job) == "Succeeded"; }, std::chrono::seconds(240)))
      << diagnostics();

  json j = get_job(job);
  // What a user sees (quoted in the closing notes of the disruption work).
  std::cerr << g_cp->kubectl({"get", "aj", "-n", kJobNs, job}).output
            << g_cp->kubectl({"describe", "aj", "-n", kJobNs, job}).output << std::endl;
  EXPECT_EQ(j["status"]["disruptions"], 1) << j.dump(2);
  EXPECT_EQ(j["status"]["restarts"], 0) << j.dump(2);  // maxRestarts 0 and still Succeeded
  EXPECT_EQ(j["status"]["attempt"], 1) << j.dump(2);
  EXPECT_EQ(j.value("/status/lastFailure/disruption"_json_pointer, false), true) << j.dump(2);
  const std::string a0 = g_agent->log_of(kJobNs, job + "-a0-n0");
  const std::string a0n1 = g_agent->log_of(kJobNs, job + "-a0-n1");
  const std::string a1 = g_agent->log_of(kJobNs, job + "-a1-n0");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(a0, m, std::regex(R"(stopped after step (\d+))"))) << a0;
  const std::int64_t stopped = std::stoll(m[1]);
  EXPECT_NE(a0n1.find("stopped after step " + std::to_string(stopped)), std::string::npos) << a0n1;
  ASSERT_TRUE(std::regex_search(a0n1, m, std::regex(R"(([0-9.]+) s after this rank's stop signal)")))
      << a0n1;
  std::cerr << "[measured] SIGTERM to checkpoint complete on the deleted pod's rank: " << m[1]
            << " s (pod deletion to job Succeeded: "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s)" << std::endl;
  // Every step attempt 0 reported is in the checkpoint; attempt 1 starts right after it.
  auto steps0 = logged_steps(a0), steps1 = logged_steps(a1);
  ASSERT_FALSE(steps0.empty());
  ASSERT_FALSE(steps1.empty()) << a1;
  EXPECT_GE(stopped, steps0.back()) << a0;
  EXPECT_EQ(steps1.front(), stopped + 1) << a1;
  EXPECT_NE(a1.find("resumed from"), std::string::npos) << a1;
  EXPECT_EQ(read_file(params), read_file(ref_params)) << "the parameters differ from the uninterrupted run's";
  EXPECT_FALSE(read_file(params).empty());
}

// A node lost mid-training: nothing reports the pod's end (its kubelet is gone with it); the pod
// object is force-deleted, as the pod GC does for a node that is gone, and its processes die
// without a signal they could act on (SIGKILL). The survivor cannot checkpoint without its
// peer; the gang is replaced as a new attempt (a disruption) from the last periodic checkpoint.
TEST_F(GptJobE2e, ALostNodeRestartsTheGangFromTheLastCheckpointWithoutSpendingARestart) {
  const std::string job = "gpt-node-lost";
  const std::int64_t kSteps = 120;
  const std::string ckpt = g_dir + "/jobs/" + job + "/checkpoints";
  kubectl_apply(gpt_job(job, kSteps, {}, {{"maxRestarts", 0}}, 10));
  ASSERT_TRUE(eventually([&] { return latest_checkpoint(ckpt) >= 20; }, std::chrono::seconds(120)))
      << diagnostics();
  auto launcher = g_agent->pid_of(kJobNs, job + "-a0-n1");
  ASSERT_TRUE(launcher) << diagnostics();
  const auto kids = children_of(*launcher);
  auto del = g_cp->kubectl({"delete", "pod", "-n", kJobNs, job + "-a0-n1", "--grace-period=0", "--force"});
  ASSERT_TRUE(del.status.success()) << del.output;
  for (pid_t kid : kids) ::kill(kid, SIGKILL);
  ::kill(*launcher, SIGKILL);
  const std::int64_t ckpt_at_loss = latest_checkpoint(ckpt);

  ASSERT_TRUE(eventually([&] { return phase_of(job) == "Succeeded"; }, std::chrono::seconds(240)))
      << diagnostics();
  json j = get_job(job);
  EXPECT_EQ(j["status"]["disruptions"], 1) << j.dump(2);
  EXPECT_EQ(j["status"]["restarts"], 0) << j.dump(2);
  const std::string a1 = g_agent->log_of(kJobNs, job + "-a1-n0");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(a1, m, std::regex(R"(resumed from \S+ \(step (\d+))"))) << a1;
  EXPECT_EQ(std::stoll(m[1]), ckpt_at_loss) << a1;
  EXPECT_NE(a1.find("done: " + std::to_string(kSteps) + " steps"), std::string::npos) << a1;
}

TEST_F(GptJobE2e, HangingRankIsDetectedRestartedOnceThenTheJobFailsWithAWarningEvent) {
  const std::string job = "gpt-hang";
  kubectl_apply(gpt_job(job, 400, {"--hang-at-step", "3", "--fault-rank", "1"},
                        {{"maxRestarts", 1}, {"stallTimeoutSeconds", 10}}));
  ASSERT_TRUE(eventually([&] { return phase_of(job) == "Failed"; }, std::chrono::seconds(240)))
      << diagnostics();
  json j = get_job(job);
  EXPECT_EQ(j["status"]["restarts"], 1) << j.dump(2);
  EXPECT_EQ(j.value("/status/lastFailure/reason"_json_pointer, std::string()), "Stalled")
      << j.dump(2);
  std::string failed_reason;
  for (const auto& c : j["status"].value("conditions", json::array()))
    if (c["type"] == "Failed" && c["status"] == "True") failed_reason = c.value("reason", "");
  EXPECT_EQ(failed_reason, "MaxRestartsExceeded") << j.dump(2);
  // Both attempts ran and hung at step 3: neither logged a step past 2.
  for (const char* pod : {"-a0-n0", "-a1-n0"}) {
    const std::string log = g_agent->log_of(kJobNs, job + pod);
    ASSERT_NE(log.find("starting pod"), std::string::npos) << job + pod << "\n" << diagnostics();
    for (auto s : logged_steps(log)) EXPECT_LT(s, 3) << job + pod << "\n" << log;
  }
  auto ev = g_cp->kubectl({"get", "events", "-n", kJobNs, "--field-selector",
                           "involvedObject.name=" + job + ",type=Warning", "-o", "json"});
  ASSERT_TRUE(ev.status.success()) << ev.output;
  std::set<std::string> reasons;
  const json events = json::parse(ev.output);
  for (const auto& e : events["items"])
    if (e["involvedObject"].value("kind", "") == "AccelJob") reasons.insert(e.value("reason", ""));
  EXPECT_TRUE(reasons.count("MaxRestartsExceeded")) << ev.output;
  EXPECT_TRUE(reasons.count("Restarting")) << ev.output;
}

TEST_F(GptJobE2e, PrometheusScrapesWorkersAndOperatorThenDeletingTheJobRemovesPodsAndProcesses) {
  const std::string job = "gpt-long";
  const std::string d = g_dir + "/prometheus";
  fs::create_directories(d);
  const std::string op_ip = g_agent->ip_of(kOperatorNs, g_operator_pod);
  Prometheus prometheus(d, scrape_config(d, op_ip + ":" + std::to_string(g_operator_metrics_port)));

  kubectl_apply(gpt_job(job, 1000000, {"--log-every", "100"}, {{"maxRestarts", 0}}, 100000));
  const std::string p0 = job + "-a0-n0", p1 = job + "-a0-n1";
  ASSERT_TRUE(eventually([&] { return pod_running(kJobNs, p0) && pod_running(kJobNs, p1); },
                         std::chrono::seconds(90)))
      << diagnostics();
  const std::string port = std::to_string(g_worker_metrics_port);
  // Both ranks serve /metrics on the same port of one host, each bound to its own pod IP.
  const std::string ip0 = g_agent->ip_of(kJobNs, p0), ip1 = g_agent->ip_of(kJobNs, p1);
  ASSERT_NE(ip0, ip1);
  ASSERT_TRUE(eventually(
      [&] {
        return http_get("http://" + ip0 + ":" + port + "/metrics").find("rank=\"0\"") !=
                   std::string::npos &&
               http_get("http://" + ip1 + ":" + port + "/metrics").find("rank=\"1\"") !=
                   std::string::npos;
      },
      std::chrono::seconds(90)))
      << diagnostics();
  set_worker_targets(d, {p0, p1}, port);
  // Instant vector query -> {instance: value}.
  auto query = [&](const std::string& promql) {
    std::map<std::string, double> out;
    const json j = prometheus.query(promql);
    if (j.is_discarded() || !j.contains("data")) return out;
    for (const auto& s : j["data"]["result"])
      out[s["metric"].value("instance", "")] = std::stod(s["value"][1].get<std::string>());
    return out;
  };
  auto all_positive = [](const std::map<std::string, double>& m, std::size_t n) {
    if (m.size() != n) return false;
    for (const auto& [k, v] : m)
      if (v <= 0) return false;
    return true;
  };
  EXPECT_TRUE(eventually([&] { return all_positive(query("up{job=\"accel-workers\"}"), 2); },
                         std::chrono::seconds(90)))
      << prometheus.log();
  EXPECT_TRUE(eventually(
      [&] {
        return all_positive(
            query("accel_train_steps_total{job=\"accel-workers\",exported_job=\"" + job + "\"}"),
            2);
      },
      std::chrono::seconds(60)));
  EXPECT_TRUE(eventually([&] { return all_positive(query("up{job=\"accel-operator\"}"), 1); },
                         std::chrono::seconds(60)));
  EXPECT_TRUE(
      eventually([&] { return all_positive(query("accel_operator_pods_created_total"), 1); },
                 std::chrono::seconds(60)));
  EXPECT_EQ(phase_of(job), "Running");

  // Delete the running job: the garbage collector removes its pods and Service, the agent
  // stops the processes.
  auto del = g_cp->kubectl({"delete", "acceljob", "-n", kJobNs, job, "--wait=false"});
  ASSERT_TRUE(del.status.success()) << del.output;
  EXPECT_TRUE(eventually([&] { return job_pods(job).empty(); }, std::chrono::seconds(90)))
      << diagnostics();
  EXPECT_TRUE(eventually(
      [&] {
        try {
          g_client->get(kube::resources::services(), kJobNs, job);
          return false;
        } catch (const kube::NotFoundError&) {
          return true;
        }
      },
      std::chrono::seconds(60)));
  EXPECT_FALSE(g_agent->pid_of(kJobNs, p0));
  EXPECT_FALSE(g_agent->pid_of(kJobNs, p1));
  EXPECT_NE(g_agent->log_of(kJobNs, p0).find("[accel]"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return phase_of(job) == "<gone>"; }, std::chrono::seconds(30)));
}

// A secret handed to a job (spec.env valueFrom.secretKeyRef, and a tracker's secretRef that the
// operator turns into WANDB_API_KEY) reaches the training processes and no output of the run:
// the operator's and every pod's log, the agent's and the control plane's logs, Events, the
// AccelJob with its status, the objects the operator made (pods hold only the secretKeyRef),
// the workers' /metrics and /progress and the operator's /metrics, every series Prometheus
// stored, and every file the run left (tracker outputs, checkpoints, pod folders). The Secret
// is created through the API, so no file of the test itself holds its values.
TEST_F(GptJobE2e, ASecretPlantedThroughSecretKeyRefAppearsInNoLogEventStatusOrMetric) {
  const std::string job = "gpt-secret", secret = "gpt-secret-credentials";
  // Long enough that Prometheus scrapes both ranks while they train, on a loaded machine too
  // (150 steps were over before the scrape in a CI run beside other tests).
  const std::int64_t kSteps = 600;
  const std::string hf_token = canary(), wandb_key = canary();
  const kube::Resource secrets{"", "v1", "secrets", true, "Secret"};
  g_client->create(secrets, kJobNs,
                   {{"apiVersion", "v1"},
                    {"kind", "Secret"},
                    {"metadata", {{"name", secret}, {"namespace", kJobNs}}},
                    {"type", "Opaque"},
                    {"data", {{"hf-token", base64(hf_token)}, {"wandb-key", base64(wandb_key)}}}});
  // What must appear nowhere: each value as it is, and as the API serves it.
  const std::map<std::string, std::string> needles = {
      {"HF_TOKEN's value", hf_token},
      {"HF_TOKEN's value in base64", base64(hf_token)},
      {"WANDB_API_KEY's value", wandb_key},
      {"WANDB_API_KEY's value in base64", base64(wandb_key)}};
  std::size_t outputs = 0, bytes = 0;
  auto expect_clean = [&](const std::string& where, const std::string& text) {
    ++outputs;
    bytes += text.size();
    for (const auto& [what, needle] : needles)
      if (auto at = text.find(needle); at != std::string::npos)
        ADD_FAILURE() << what << " leaked into " << where << " (byte " << at << "): ..."
                      << text.substr(at < 120 ? 0 : at - 120, needle.size() + 240) << "...";
  };

  // Prometheus, as the PrometheusScrapes test runs it: the operator, then the workers once
  // their pod IPs are known.
  const std::string d = g_dir + "/prometheus-" + job;
  fs::create_directories(d);
  const std::string op =
      g_agent->ip_of(kOperatorNs, g_operator_pod) + ":" + std::to_string(g_operator_metrics_port);
  Prometheus prometheus(d, scrape_config(d, op), {g_worker_metrics_port});
  const auto run_start = std::chrono::system_clock::now();

  json spec = gpt_job(job, kSteps, {}, {{"maxRestarts", 0}}, 50);
  spec["spec"]["env"].push_back(
      {{"name", "HF_TOKEN"},
       {"valueFrom", {{"secretKeyRef", {{"name", secret}, {"key", "hf-token"}}}}}});
  spec["spec"]["trackers"].push_back({{"type", "wandb"},
                                      {"settings", {{"mode", "offline"}}},
                                      {"secretRef", {{"name", secret}, {"key", "wandb-key"}}}});
  kubectl_apply(spec);
  const std::string p0 = job + "-a0-n0", p1 = job + "-a0-n1";
  ASSERT_TRUE(eventually([&] { return pod_running(kJobNs, p0) && pod_running(kJobNs, p1); },
                         std::chrono::seconds(90)))
      << diagnostics();

  // The values reached the training programs: each rank's accel-train-gpt (its launcher's child)
  // has both in its environment. Without this the test would pass for a secret never delivered.
  for (const std::string& pod : {p0, p1}) {
    std::set<std::string> env;
    ASSERT_TRUE(eventually(
        [&] {
          auto launcher = g_agent->pid_of(kJobNs, pod);
          if (!launcher) return false;
          for (pid_t kid : children_of(*launcher))
            if (read_file("/proc/" + std::to_string(kid) + "/cmdline").find("accel-train-gpt") !=
                std::string::npos) {
              env = environ_of(kid);
              return !env.empty();
            }
          return false;
        },
        std::chrono::seconds(60)))
        << pod << "'s trainer never ran\n"
        << diagnostics();
    EXPECT_TRUE(env.count("HF_TOKEN=" + hf_token)) << pod << "'s trainer lacks HF_TOKEN";
    EXPECT_TRUE(env.count("WANDB_API_KEY=" + wandb_key)) << pod << "'s trainer lacks WANDB_API_KEY";
  }

  // While it trains: each rank's /metrics and /progress and the operator's /metrics, directly.
  const std::string port = std::to_string(g_worker_metrics_port);
  const std::map<std::string, std::string> endpoints = {
      {p0 + " /metrics", "http://" + g_agent->ip_of(kJobNs, p0) + ":" + port + "/metrics"},
      {p0 + " /progress", "http://" + g_agent->ip_of(kJobNs, p0) + ":" + port + "/progress"},
      {p1 + " /metrics", "http://" + g_agent->ip_of(kJobNs, p1) + ":" + port + "/metrics"},
      {p1 + " /progress", "http://" + g_agent->ip_of(kJobNs, p1) + ":" + port + "/progress"},
      {"operator /metrics (job running)", "http://" + op + "/metrics"}};
  std::map<std::string, std::string> scraped;
  EXPECT_TRUE(eventually(
      [&] {
        for (const auto& [what, url] : endpoints)
          if (std::string body = http_get(url); !body.empty()) scraped[what] = body;
        return scraped.size() == endpoints.size() &&
               scraped[p0 + " /metrics"].find("accel_train_steps_total") != std::string::npos &&
               scraped[p1 + " /metrics"].find("accel_train_steps_total") != std::string::npos;
      },
      std::chrono::seconds(60)))
      << "not every endpoint answered while the job ran\n"
      << diagnostics();
  set_worker_targets(d, {p0, p1}, port);
  EXPECT_TRUE(eventually(
      [&] {
        const json r = prometheus.query(
            "accel_train_steps_total{job=\"accel-workers\","
            "exported_job=\"" +
            job + "\"}");
        return !r.is_discarded() && r.contains("data") && r["data"]["result"].size() == 2;
      },
      std::chrono::seconds(60)))
      << "Prometheus never scraped both ranks\n"
      << prometheus.log();

  ASSERT_TRUE(eventually([&] { return phase_of(job) == "Succeeded"; }, std::chrono::seconds(180)))
      << diagnostics();
  scraped["operator /metrics (job done)"] = http_get("http://" + op + "/metrics");
  for (const auto& [what, body] : scraped) expect_clean(what, body);

  // Every series Prometheus stored over the run (label values are where a string could go).
  const std::string prom = "http://127.0.0.1:" + std::to_string(prometheus.port());
  const std::string all = "match%5B%5D=%7B__name__%3D~%22.%2B%22%7D";
  const std::string series = http_get(
      prom + "/api/v1/series?" + all + "&start=" +
      std::to_string(
          std::chrono::duration_cast<std::chrono::seconds>(run_start.time_since_epoch()).count() -
          60));
  EXPECT_NE(series.find("\"exported_job\":\"" + job + "\""), std::string::npos)
      << "Prometheus holds no series of the job\n"
      << series.substr(0, 2000);
  expect_clean("Prometheus /api/v1/series", series);
  const std::string federated = http_get(prom + "/federate?" + all);
  EXPECT_NE(federated.find("accel_operator_"), std::string::npos) << federated.substr(0, 2000);
  expect_clean("Prometheus /federate", federated);

  // Logs: the operator's, and every pod's of every attempt.
  const std::string op_log = g_agent->log_of(kOperatorNs, g_operator_pod);
  EXPECT_NE(op_log.find("accel-operator info:"), std::string::npos) << op_log;
  expect_clean("the operator's log (" + g_agent->log_path(kOperatorNs, g_operator_pod) + ")",
               op_log);
  std::set<std::string> pods{p0, p1};
  for (const auto& p : job_pods(job)) pods.insert(p["metadata"]["name"].get<std::string>());
  for (const auto& pod : pods) {
    const std::string log = g_agent->log_of(kJobNs, pod);
    if (pod == p0) {
      EXPECT_NE(log.find("done: " + std::to_string(kSteps) + " steps"), std::string::npos) << log;
    }
    expect_clean("pod " + pod + "'s log (" + g_agent->log_path(kJobNs, pod) + ")", log);
  }

  // The API: Events, the AccelJob and its status, and the objects the operator made.
  auto kubectl_clean = [&](std::vector<std::string> args) {
    auto r = g_cp->kubectl(args);
    std::string what = "kubectl";
    for (const auto& a : args) what += " " + a;
    EXPECT_TRUE(r.status.success()) << what << "\n" << r.output;
    expect_clean(what, r.output);
    return r.output;
  };
  kubectl_clean({"get", "events", "-A", "-o", "json"});
  const json aj = json::parse(kubectl_clean({"get", "acceljob", "-n", kJobNs, job, "-o", "json"}));
  EXPECT_EQ(aj.value("/status/phase"_json_pointer, std::string()), "Succeeded");
  kubectl_clean({"describe", "acceljob", "-n", kJobNs, job});
  kubectl_clean({"get", "services,configmaps,endpoints", "-n", kJobNs, "-o", "json"});
  const json pod_list = json::parse(kubectl_clean(
      {"get", "pods", "-n", kJobNs, "-l", "accel.dev/job-name=" + job, "-o", "json"}));
  ASSERT_EQ(pod_list["items"].size(), 2u) << pod_list.dump(2);
  // Each pod names the Secret's keys and holds no value for them.
  for (const auto& p : pod_list["items"]) {
    std::map<std::string, json> env;
    for (const auto& e : p["spec"]["containers"][0].value("env", json::array()))
      env[e.value("name", "")] = e;
    for (const auto& [name, key] : std::map<std::string, std::string>{
             {"HF_TOKEN", "hf-token"}, {"WANDB_API_KEY", "wandb-key"}}) {
      ASSERT_TRUE(env.count(name)) << p["metadata"]["name"] << " has no " << name;
      EXPECT_FALSE(env[name].contains("value")) << env[name].dump();
      EXPECT_EQ(env[name].value("/valueFrom/secretKeyRef"_json_pointer, json()),
                (json{{"name", secret}, {"key", key}}))
          << env[name].dump();
    }
  }

  // Every file the run left: pod folders and logs, the agent's log, tracker outputs,
  // checkpoints, Prometheus' TSDB, the control plane's component logs (etcd's data, where the
  // Secret itself lives, is not an output).
  std::size_t files = 0, wandb_files = 0;
  for (const std::string& root : {g_dir, g_cp->dir() + "/logs"}) {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_symlink() || !it->is_regular_file()) continue;
      const std::string path = it->path().string();
      ++files;
      if (path.find("/jobs/" + job + "/") != std::string::npos && path.size() > 6 &&
          path.compare(path.size() - 6, 6, ".wandb") == 0)
        ++wandb_files;
      expect_clean(path, read_file(path));
    }
  }
  EXPECT_GT(wandb_files, 0u) << "the wandb tracker wrote no run under " << g_dir << "/jobs/" << job;
  std::cerr << "[measured] secret canaries searched in " << outputs << " outputs (" << files
            << " files), " << bytes << " bytes" << std::endl;
}


// Kueue preemption with real workers (operator/controller/KUEUE.md): a real Kueue manages the
// jobs' namespace with a ClusterQueue of 2 CPUs (one 2-pod job at a time); a high-priority job
// preempts a running low-priority one, whose ranks checkpoint in their grace period; the low job
// waits Queued as its next attempt, is admitted again once the high one has finished, resumes
// right after the step it stopped at, and succeeds. Runs last: from here on Kueue's pod webhook
// sees this namespace's pods.
TEST_F(GptJobE2e, AJobPreemptedThroughKueueResumesFromItsCheckpointWhenAdmittedAgain) {
  if (!g_kueue) g_kueue = std::make_unique<Kueue>(*g_cp);
  Kueue* kueue = g_kueue.get();
  auto kubectl = [](const std::vector<std::string>& args) {
    auto r = g_cp->kubectl(args);
    EXPECT_TRUE(r.status.success()) << r.output;
  };
  auto create = [&](const json& object) {
    static int n = 0;
    const std::string path = g_dir + "/kueue-" + std::to_string(++n) + ".json";
    std::ofstream(path) << object.dump();
    kubectl({"create", "-f", path});
  };
  kubectl({"label", "namespace", kJobNs, kueue->namespace_label(), "--overwrite"});
  create({{"apiVersion", "kueue.x-k8s.io/v1beta2"}, {"kind", "ResourceFlavor"},
          {"metadata", {{"name", "e2e-flavor"}}}});
  for (const auto& [name, value] : {std::pair{"e2e-low", 10}, std::pair{"e2e-high", 1000}})
    create({{"apiVersion", "kueue.x-k8s.io/v1beta2"}, {"kind", "WorkloadPriorityClass"},
            {"metadata", {{"name", name}}}, {"value", value}});
  create({{"apiVersion", "kueue.x-k8s.io/v1beta2"},
          {"kind", "ClusterQueue"},
          {"metadata", {{"name", "e2e-cq"}}},
          {"spec",
           {{"namespaceSelector", json::object()},
            {"preemption", {{"withinClusterQueue", "LowerPriority"}}},
            {"resourceGroups",
             {{{"coveredResources", {"cpu"}},
               {"flavors",
                {{{"name", "e2e-flavor"},
                  {"resources", {{{"name", "cpu"}, {"nominalQuota", "2"}}}}}}}}}}}}});
  create({{"apiVersion", "kueue.x-k8s.io/v1beta2"},
          {"kind", "LocalQueue"},
          {"metadata", {{"name", "e2e-team"}, {"namespace", kJobNs}}},
          {"spec", {{"clusterQueue", "e2e-cq"}}}});
  auto queued = [](json j, const std::string& priority) {
    j["metadata"]["labels"] = {{"kueue.x-k8s.io/queue-name", "e2e-team"},
                               {"kueue.x-k8s.io/priority-class", priority}};
    j["spec"]["resources"] = {{"requests", {{"cpu", "1"}}}};
    return j;
  };
  const std::string low = "gpt-low", high = "gpt-high";
  // No periodic checkpoint: only the one written at the preemption can carry the run over.
  kubectl_apply(queued(gpt_job(low, 200, {}, {{"maxRestarts", 0}}, 0), "e2e-low"));
  ASSERT_TRUE(eventually(
      [&] {
        auto s = logged_steps(g_agent->log_of(kJobNs, low + "-a0-n0"));
        return !s.empty() && s.back() >= 30;
      },
      std::chrono::seconds(180)))
      << diagnostics();
  kubectl_apply(queued(gpt_job(high, 30, {}, {{"maxRestarts", 0}}, 0), "e2e-high"));
  ASSERT_TRUE(eventually(
      [&] { return phase_of(low) == "Queued" && get_job(low)["status"].value("attempt", 0) == 1; },
      std::chrono::seconds(180)))
      << diagnostics();
  std::cerr << g_cp->kubectl({"get", "aj", "-n", kJobNs}).output
            << g_cp->kubectl({"describe", "aj", "-n", kJobNs, low}).output << std::endl;
  ASSERT_TRUE(eventually([&] { return phase_of(high) == "Succeeded"; }, std::chrono::seconds(240)))
      << diagnostics();
  ASSERT_TRUE(eventually([&] { return phase_of(low) == "Succeeded"; }, std::chrono::seconds(300)))
      << diagnostics();

  const json j = get_job(low);
  EXPECT_EQ(j["status"]["disruptions"], 1) << j.dump(2);
  EXPECT_EQ(j["status"]["restarts"], 0) << j.dump(2);  // maxRestarts 0 and still Succeeded
  EXPECT_EQ(j["status"]["attempt"], 1) << j.dump(2);
  EXPECT_EQ(j.value("/status/lastFailure/disruption"_json_pointer, false), true) << j.dump(2);
  const std::string a0 = g_agent->log_of(kJobNs, low + "-a0-n0");
  const std::string a1 = g_agent->log_of(kJobNs, low + "-a1-n0");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(a0, m, std::regex(R"(stopped after step (\d+))"))) << a0;
  const std::int64_t stopped = std::stoll(m[1]);
  auto steps0 = logged_steps(a0), steps1 = logged_steps(a1);
  ASSERT_FALSE(steps0.empty());
  ASSERT_FALSE(steps1.empty()) << a1;
  EXPECT_GE(stopped, 30);
  EXPECT_GE(stopped, steps0.back()) << "every step attempt 0 reported is in the checkpoint";
  EXPECT_EQ(steps1.front(), stopped + 1) << a1;
  EXPECT_NE(a1.find("resumed from"), std::string::npos) << a1;
  EXPECT_EQ(steps1.back(), 200) << a1;
}

}  // namespace
}  // namespace accel::testing

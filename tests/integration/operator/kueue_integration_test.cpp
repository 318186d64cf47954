// AccelJobs through a real Kueue (operator/controller/KUEUE.md): Kueue v0.17 built from the Go
// module proxy and run beside the test control plane (tests/support/kueue.h), the real
// kube-scheduler with Kubernetes' own gang scheduling on, KWOK nodes with one nvidia.com/gpu each,
// and the real accel-operator. Each test has its own namespace (labelled for Kueue), its own
// ClusterQueue (GPU quota), a LocalQueue "team" and its own pool of nodes.
//
// Mirrors Kueue's own end-to-end cases for plain pod groups, with AccelJobs: a job is admitted
// as one whole group; a job over quota is Queued (naming its queue, clocks stopped) and starts
// when an earlier one finishes; a higher-priority job preempts a lower one, which goes back to the
// queue as its next attempt and runs again once there is room; a gang restart is admitted again
// and leaves no excess or orphaned pod; deleting a queued job leaves nothing behind.
#include "operator_fixture.h"

#include <sstream>

#include "kueue.h"
#include "kwok.h"

namespace operator_test {
namespace {

using accel::testing::Kueue;
using accel::testing::KwokNodes;

const auto* const kEnv = install_control_plane(
    ControlPlaneOptions{.with_controllers = true, .gang_scheduling = true});

KwokNodes& kwok() {
  static KwokNodes* nodes = new KwokNodes(*g_cp);  // lives as long as the control plane
  return *nodes;
}
Kueue* g_kueue = nullptr;
Kueue& kueue() {
  if (!g_kueue) g_kueue = new Kueue(*g_cp);
  return *g_kueue;
}
// Kueue stops before the control plane it runs against: gtest tears environments down in the
// reverse order of their registration, and this one is registered after kEnv.
struct KueueEnvironment : ::testing::Environment {
  void TearDown() override {
    delete g_kueue;
    g_kueue = nullptr;
  }
};
const auto* const kKueueEnv = ::testing::AddGlobalTestEnvironment(new KueueEnvironment);

std::string kubectl_ok(const std::vector<std::string>& args) {
  auto r = g_cp->kubectl(args);
  EXPECT_TRUE(r.status.success()) << r.output;
  return r.output;
}

// kubectl get ... -o json without the warnings kubectl prints before it.
json get_json(std::vector<std::string> args) {
  args.insert(args.begin(), "get");
  args.push_back("-o=json");
  std::istringstream lines(kubectl_ok(args));
  std::string body;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("Warning: ", 0) != 0) body += line + "\n";
  return json::parse(body);
}

void create(const json& object) {
  static int n = 0;
  const std::string path = g_cp->dir() + "/kueue-object-" + std::to_string(++n) + ".json";
  std::ofstream(path) << object.dump();
  kubectl_ok({"create", "-f", path});
}

// A namespace Kueue manages, a ClusterQueue of `gpus` GPUs (preempting lower priorities within
// it), a LocalQueue "team" and `nodes` fake nodes with one GPU each.
std::string queue_namespace(int gpus, int nodes) {
  kueue();
  const std::string ns = test_namespace();
  kubectl_ok({"label", "namespace", ns, kueue().namespace_label()});
  if (!g_cp->kubectl({"get", "resourceflavor", "default-flavor"}).status.success())
    create({{"apiVersion", "kueue.x-k8s.io/v1beta2"},
            {"kind", "ResourceFlavor"},
            {"metadata", {{"name", "default-flavor"}}}});
  for (const auto& [name, value] : {std::pair{"low", 10}, std::pair{"high", 1000}})
    if (!g_cp->kubectl({"get", "workloadpriorityclass", name}).status.success())
      create({{"apiVersion", "kueue.x-k8s.io/v1beta2"},
              {"kind", "WorkloadPriorityClass"},
              {"metadata", {{"name", name}}},
              {"value", value}});
  create({{"apiVersion", "kueue.x-k8s.io/v1beta2"},
          {"kind", "ClusterQueue"},
          {"metadata", {{"name", ns}}},
          {"spec",
           {{"namespaceSelector", json::object()},
            {"preemption", {{"withinClusterQueue", "LowerPriority"}}},
            {"resourceGroups",
             {{{"coveredResources", {"nvidia.com/gpu"}},
               {"flavors",
                {{{"name", "default-flavor"},
                  {"resources", {{{"name", "nvidia.com/gpu"}, {"nominalQuota", gpus}}}}}}}}}}}}});
  create({{"apiVersion", "kueue.x-k8s.io/v1beta2"},
          {"kind", "LocalQueue"},
          {"metadata", {{"name", "team"}, {"namespace", ns}}},
          {"spec", {{"clusterQueue", ns}}}});
  EXPECT_TRUE(eventually([&] {
    for (const auto& c : get_json({"localqueue", "team", "-n", ns})["status"].value("conditions", json::array()))
      if (c.value("type", "") == "Active") return c.value("status", "") == "True";
    return false;
  }));
  for (int i = 0; i < nodes; ++i)
    kwok().add_node(ns + "-" + std::to_string(i), {{"accel-test/pool", ns}}, {{"nvidia.com/gpu", "1"}});
  return ns;
}

// A job of `nodes` one-GPU pods in LocalQueue "team", on the namespace's pool.
json queued_job(const std::string& ns, const std::string& name, int nodes,
                const std::string& priority = "") {
  json j = job_spec(name, nodes);
  j["metadata"]["labels"] = {{"kueue.x-k8s.io/queue-name", "team"}};
  if (!priority.empty()) j["metadata"]["labels"]["kueue.x-k8s.io/priority-class"] = priority;
  j["spec"]["gpusPerNode"] = 1;
  j["spec"]["template"] = {{"nodeSelector", {{"accel-test/pool", ns}}}};
  return j;
}

std::string describe(const std::string& ns, const std::string& job) {
  return g_cp->kubectl({"describe", "acceljob", job, "-n", ns}).output;
}

json workloads(const std::string& ns) { return get_json({"workloads.kueue.x-k8s.io", "-n", ns})["items"]; }

// The Workload Kueue made for attempt `attempt` of `job` (its pod group <job>-a<attempt>).
json workload_of(const std::string& ns, const std::string& job, int attempt) {
  const std::string group = job + "-a" + std::to_string(attempt);
  for (const auto& w : workloads(ns))
    if (w["metadata"].value("name", "").find(group) != std::string::npos) return w;
  return nullptr;
}

bool workload_condition(const json& w, const std::string& type) {
  if (w.is_null()) return false;
  for (const auto& c : w["status"].value("conditions", json::array()))
    if (c.value("type", "") == type) return c.value("status", "") == "True";
  return false;
}

std::string job_field(const std::string& ns, const std::string& job, const char* pointer) {
  const json j = get_job(ns, job);
  const json::json_pointer p(pointer);
  return j.contains(p) ? j[p].dump() : "";
}

// Kueue's "Excess pod deleted" Events in the namespace, and every pod with the admission gate.
int excess_pod_events(const std::string& ns) {
  int n = 0;
  for (const auto& e : get_json({"events", "-n", ns})["items"])
    if (e.value("reason", "") == "ExcessPodDeleted") ++n;
  return n;
}

void finish(const std::string& ns, const std::string& job) {
  for (const auto& p : job_pods(ns, job)) set_exited(ns, p["metadata"]["name"], 0);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, job) == "Succeeded"; })) << describe(ns, job);
}

TEST(Kueue, AJobIsAdmittedAsOneWholeGroupAndRunsInItsQueue) {
  const std::string ns = queue_namespace(2, 2);
  Operator op = start_operator(ns);
  kubectl_apply(ns, queued_job(ns, "whole", 2));
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "whole") == "Running"; })) << describe(ns, "whole");
  const json w = workload_of(ns, "whole", 0);
  ASSERT_FALSE(w.is_null()) << workloads(ns).dump(2);
  EXPECT_TRUE(workload_condition(w, "Admitted")) << w.dump(2);
  // One Workload for the whole gang (node 0's pod, which serves the rendezvous port, is a pod set
  // of its own shape).
  int count = 0;
  for (const auto& set : w["spec"]["podSets"]) count += set.value("count", 0);
  EXPECT_EQ(count, 2) << w.dump(2);
  EXPECT_EQ(workloads(ns).size(), 1u) << workloads(ns).dump(2);
  for (const auto& p : job_pods(ns, "whole")) {
    EXPECT_EQ(p["metadata"]["labels"]["kueue.x-k8s.io/pod-group-name"], "whole-a0");
    EXPECT_TRUE(p["spec"].value("schedulingGates", json::array()).empty());
  }
  const json j = get_job(ns, "whole");
  const json* q = condition(j, "Queued");
  ASSERT_NE(q, nullptr) << j.dump(2);
  EXPECT_EQ(q->value("reason", ""), "Admitted");
  EXPECT_NE(describe(ns, "whole").find("admitted by Kueue from LocalQueue team"), std::string::npos);
}

TEST(Kueue, AJobOverQuotaIsQueuedAndStartsWhenAnEarlierOneFinishes) {
  const std::string ns = queue_namespace(2, 4);  // nodes for both, quota for one
  Operator op = start_operator(ns);
  kubectl_apply(ns, queued_job(ns, "first", 2));
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "first") == "Running"; })) << describe(ns, "first");
  kubectl_apply(ns, queued_job(ns, "second", 2));
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "second") == "Queued"; })) << describe(ns, "second");
  const std::string waiting = describe(ns, "second");
  EXPECT_NE(waiting.find("waiting for quota in LocalQueue team"), std::string::npos) << waiting;
  std::cout << "kubectl get acceljobs:\n" << kubectl_ok({"get", "acceljobs", "-n", ns})
            << "kubectl describe of a queued job:\n" << waiting << std::endl;
  for (const auto& p : job_pods(ns, "second")) {
    EXPECT_EQ(p["spec"]["schedulingGates"][0]["name"], "kueue.x-k8s.io/admission");
    EXPECT_TRUE(p["spec"].value("nodeName", std::string()).empty()) << "free GPUs, but no quota";
  }
  EXPECT_EQ(job_field(ns, "second", "/status/startTime"), "") << "activeDeadlineSeconds waits too";
  EXPECT_FALSE(workload_condition(workload_of(ns, "second", 0), "Admitted"));

  finish(ns, "first");
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "second") == "Running"; }, std::chrono::seconds(120)))
      << describe(ns, "second");
  EXPECT_EQ(job_field(ns, "second", "/status/attempt"), "0");
}

TEST(Kueue, AHigherPriorityJobPreemptsALowerOneWhichRequeuesAndRunsAgainLater) {
  const std::string ns = queue_namespace(2, 4);
  Operator op = start_operator(ns);
  kubectl_apply(ns, queued_job(ns, "low", 2, "low"));
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "low") == "Running"; })) << describe(ns, "low");
  kubectl_apply(ns, queued_job(ns, "high", 2, "high"));
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "high") == "Running"; }, std::chrono::seconds(120)))
      << describe(ns, "high") << describe(ns, "low");
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "low") == "Queued"; })) << describe(ns, "low");
  const std::string preempted = describe(ns, "low");
  std::cout << "kubectl describe of a preempted job:\n" << preempted << std::endl;
  EXPECT_EQ(job_field(ns, "low", "/status/attempt"), "1") << "the next attempt waits in the queue";
  EXPECT_EQ(job_field(ns, "low", "/status/disruptions"), "1");
  EXPECT_EQ(job_field(ns, "low", "/status/restarts"), "0") << "a preemption costs no restart";
  EXPECT_NE(preempted.find("Disrupted"), std::string::npos) << preempted;
  EXPECT_EQ(job_field(ns, "low", "/status/lastFailure/reason"), "\"WorkloadEvictedDueToPreempted\"") << preempted;

  finish(ns, "high");
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "low") == "Running"; }, std::chrono::seconds(120)))
      << describe(ns, "low");
  EXPECT_EQ(pod_names(ns, "low"), attempt_names("low", 1, 2));
}

TEST(Kueue, AGangRestartIsAdmittedAgainAndLeavesNoExcessOrOrphanedPod) {
  const std::string ns = queue_namespace(2, 2);
  Operator op = start_operator(ns);
  kubectl_apply(ns, queued_job(ns, "again", 2));
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "again") == "Running"; })) << describe(ns, "again");
  set_exited(ns, "again-a0-n1", 1);
  ASSERT_TRUE(eventually([&] {
    return job_field(ns, "again", "/status/attempt") == "1" && phase_of(ns, "again") == "Running";
  }, std::chrono::seconds(120))) << describe(ns, "again") << workloads(ns).dump(2);
  EXPECT_EQ(pod_names(ns, "again"), attempt_names("again", 1, 2)) << "no pod of attempt 0 is left";
  EXPECT_TRUE(workload_condition(workload_of(ns, "again", 1), "Admitted"));
  EXPECT_EQ(excess_pod_events(ns), 0);
  EXPECT_EQ(job_field(ns, "again", "/status/restarts"), "1");
}

TEST(Kueue, DeletingAQueuedJobLeavesNothingBehind) {
  const std::string ns = queue_namespace(1, 2);  // quota for no 2-GPU job
  Operator op = start_operator(ns);
  kubectl_apply(ns, queued_job(ns, "never", 2));
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "never") == "Queued"; })) << describe(ns, "never");
  ASSERT_TRUE(eventually([&] { return !workload_of(ns, "never", 0).is_null(); }));
  kubectl_ok({"delete", "acceljob", "never", "-n", ns});
  EXPECT_TRUE(eventually([&] {
    return job_pods(ns, "never").empty() && workloads(ns).empty() &&
           get_json({"podgroups.scheduling.k8s.io", "-n", ns})["items"].empty() &&
           get_json({"services", "-n", ns})["items"].empty();
  }, std::chrono::seconds(120))) << get_json({"pods,workloads.kueue.x-k8s.io,podgroups.scheduling.k8s.io,services", "-n", ns}).dump(2);
}

}  // namespace
}  // namespace operator_test

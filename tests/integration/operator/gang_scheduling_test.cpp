// Gang scheduling on the real kube-scheduler (operator/controller/GANG.md): a control plane with
// Kubernetes' own gang scheduling turned on (feature gates GenericWorkload + GangScheduling, the
// scheduling.k8s.io/v1alpha2 API), KWOK nodes with one nvidia.com/gpu each, and the real
// accel-operator. Each test has its own namespace and its own pool of nodes (label
// accel-test/pool=<namespace>, which the jobs select), so tests never compete for nodes.
//
// What is shown: a gang that does not fit binds no pod and says why (condition + Event, in
// `kubectl describe`), and binds all at once when a node is added; two jobs that together exceed
// the pool never end up both partly placed, while with --gang-scheduling=off the same two jobs
// do; a gang restart after a failure gets a new PodGroup and a new all-or-nothing placement.
#include "operator_fixture.h"

#include "kwok.h"

namespace operator_test {
namespace {

using accel::testing::KwokNodes;

const auto* const kEnv = install_control_plane(
    ControlPlaneOptions{.with_controllers = true, .gang_scheduling = true});

const kube::Resource kPodGroups{"scheduling.k8s.io", "v1alpha2", "podgroups", true, "PodGroup"};

KwokNodes& kwok() {
  static KwokNodes* nodes = new KwokNodes(*g_cp);  // lives as long as the control plane
  return *nodes;
}

// A pool of `n` nodes with one GPU each, named <ns>-<i>.
void add_pool(const std::string& ns, int from, int to) {
  for (int i = from; i < to; ++i)
    kwok().add_node(ns + "-" + std::to_string(i), {{"accel-test/pool", ns}}, {{"nvidia.com/gpu", "1"}});
}

// A job of `nodes` pods with one GPU each, on the namespace's pool.
json gpu_job(const std::string& ns, const std::string& name, int nodes) {
  json j = job_spec(name, nodes);
  j["spec"]["gpusPerNode"] = 1;
  j["spec"]["template"] = {{"nodeSelector", {{"accel-test/pool", ns}}}};
  return j;
}

int bound(const std::string& ns, const std::string& job) {
  int n = 0;
  for (const auto& p : job_pods(ns, job))
    if (!p["spec"].value("nodeName", std::string()).empty()) ++n;
  return n;
}

std::string gang_reason(const std::string& ns, const std::string& job) {
  const json j = get_job(ns, job);
  const json* c = condition(j, "GangScheduled");
  return c ? c->value("status", "") + "/" + c->value("reason", "") : "<none>";
}

std::string describe(const std::string& ns, const std::string& job) {
  return g_cp->kubectl({"describe", "acceljob", job, "-n", ns}).output;
}

TEST(GangScheduling, AGangThatDoesNotFitBindsNoPodUntilThereIsRoomForAll) {
  const std::string ns = test_namespace();
  add_pool(ns, 0, 2);  // 2 GPUs for a 3-node job
  Operator op = start_operator(ns);
  EXPECT_NE(op.log().find("PodGroups are served"), std::string::npos) << op.log();
  kubectl_apply(ns, gpu_job(ns, "big", 3));

  ASSERT_TRUE(eventually([&] { return gang_reason(ns, "big") == "False/Unschedulable"; }))
      << get_job(ns, "big").dump(2);
  EXPECT_EQ(job_pods(ns, "big").size(), 3u);
  EXPECT_EQ(bound(ns, "big"), 0) << "the scheduler had room for 2 of 3 pods and bound none";
  json group = g_client->get(kPodGroups, ns, "big-a0");
  EXPECT_EQ(group["spec"]["schedulingPolicy"]["gang"]["minCount"], 3);
  for (const auto& p : job_pods(ns, "big"))
    EXPECT_EQ(p["spec"]["schedulingGroup"]["podGroupName"], "big-a0");
  const std::string waiting = describe(ns, "big");
  EXPECT_NE(waiting.find("GangUnschedulable"), std::string::npos) << waiting;
  EXPECT_NE(waiting.find("Insufficient nvidia.com/gpu"), std::string::npos) << waiting;
  EXPECT_NE(waiting.find("none is bound until there is"), std::string::npos) << waiting;
  std::cout << "kubectl describe of a gang-waiting job:\n" << waiting << std::endl;
  EXPECT_EQ(bound(ns, "big"), 0);

  add_pool(ns, 2, 3);
  ASSERT_TRUE(eventually([&] { return bound(ns, "big") == 3; })) << describe(ns, "big");
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "big") == "Running"; })) << describe(ns, "big");
  EXPECT_EQ(gang_reason(ns, "big"), "True/GangPlaced");
}

// Four pods of two 2-node jobs on three GPUs: without the gang, the scheduler binds three and
// one job holds a GPU it cannot use; with it, one job runs and the other waits with nothing held.
TEST(GangScheduling, TwoJobsThatTogetherExceedThePoolAreNeverBothPartlyPlaced) {
  const std::string ns = test_namespace();
  add_pool(ns, 0, 3);
  Operator op = start_operator(ns);
  kubectl_apply(ns, gpu_job(ns, "left", 2));
  kubectl_apply(ns, gpu_job(ns, "right", 2));
  ASSERT_TRUE(eventually([&] {
    return bound(ns, "left") + bound(ns, "right") == 2 &&
           (gang_reason(ns, "left") == "False/Unschedulable" ||
            gang_reason(ns, "right") == "False/Unschedulable");
  })) << describe(ns, "left") << describe(ns, "right");
  const std::string placed = bound(ns, "left") == 2 ? "left" : "right";
  const std::string waiting = placed == "left" ? "right" : "left";
  EXPECT_EQ(bound(ns, placed), 2);
  EXPECT_EQ(bound(ns, waiting), 0) << "a GPU is free, but half a gang is not placed";
  ASSERT_TRUE(eventually([&] { return phase_of(ns, placed) == "Running"; }));
  EXPECT_EQ(phase_of(ns, waiting), "Starting");

  // The first job finishes; its GPUs go to the waiting gang, both its pods at once.
  for (const auto& p : job_pods(ns, placed)) set_exited(ns, p["metadata"]["name"], 0);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, placed) == "Succeeded"; }));
  ASSERT_TRUE(eventually([&] { return bound(ns, waiting) == 2; }, std::chrono::seconds(120)))
      << describe(ns, waiting);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, waiting) == "Running"; }));
}

// The same two jobs with the gang turned off (the operator's --gang-scheduling=off): the
// partial placement the gang prevents.
TEST(GangScheduling, WithoutTheGangTheSameTwoJobsHoldAGpuThatNoOneCanUse) {
  const std::string ns = test_namespace();
  add_pool(ns, 0, 3);
  Operator op = start_operator(ns, {"--gang-scheduling=off"});
  kubectl_apply(ns, gpu_job(ns, "left", 2));
  kubectl_apply(ns, gpu_job(ns, "right", 2));
  ASSERT_TRUE(eventually([&] { return bound(ns, "left") + bound(ns, "right") == 3; }))
      << describe(ns, "left") << describe(ns, "right");
  EXPECT_EQ(std::min(bound(ns, "left"), bound(ns, "right")), 1)
      << "one job holds one of the three GPUs and cannot start";
  for (const auto& j : {"left", "right"}) {
    EXPECT_EQ(gang_reason(ns, j), "<none>");
    for (const auto& p : job_pods(ns, j)) EXPECT_FALSE(p["spec"].contains("schedulingGroup"));
  }
}

TEST(GangScheduling, AGangRestartAfterAFailureGetsAFreshAllOrNothingPlacement) {
  const std::string ns = test_namespace();
  add_pool(ns, 0, 2);
  Operator op = start_operator(ns);
  kubectl_apply(ns, gpu_job(ns, "again", 2));
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "again") == "Running"; })) << describe(ns, "again");

  set_exited(ns, "again-a0-n1", 1);
  ASSERT_TRUE(eventually([&] {
    const json j = get_job(ns, "again");
    return j["status"].value("attempt", 0) == 1 && phase_of(ns, "again") == "Running";
  })) << describe(ns, "again");
  EXPECT_EQ(pod_names(ns, "again"), attempt_names("again", 1, 2));
  for (const auto& p : job_pods(ns, "again")) {
    EXPECT_EQ(p["spec"]["schedulingGroup"]["podGroupName"], "again-a1");
    EXPECT_FALSE(p["spec"].value("nodeName", std::string()).empty());
  }
  EXPECT_EQ(g_client->get(kPodGroups, ns, "again-a1")["spec"]["schedulingPolicy"]["gang"]["minCount"], 2);
  EXPECT_TRUE(eventually([&] {
    try {
      g_client->get(kPodGroups, ns, "again-a0");
      return false;
    } catch (const kube::NotFoundError&) {
      return true;
    }
  })) << "the first attempt's PodGroup is deleted once its pods are gone";
  EXPECT_EQ(gang_reason(ns, "again"), "True/GangPlaced");
  const json j = get_job(ns, "again");
  EXPECT_NE(condition(j, "GangScheduled")->value("message", "").find("attempt 1"), std::string::npos);
}

}  // namespace
}  // namespace operator_test

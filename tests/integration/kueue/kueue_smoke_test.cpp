// Real components: etcd + kube-apiserver + kube-controller-manager + kube-scheduler (built from
// source), two KWOK fake nodes (kwok.h: Ready nodes; a pod bound to one goes Running) and a real
// Kueue v0.17 (kueue.h, scripts/kueue.sh: its CRDs, its webhooks on loopback). Drives Kueue's plain
// pod group integration the way Kueue's own e2e does (test/e2e/singlecluster/pod_test.go): the
// webhook gates the pods, a Workload is admitted against a ClusterQueue's quota, the gates come
// off and kube-scheduler binds the pods; a group that does not fit waits until quota is freed.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "control_plane.h"
#include "eventually.h"
#include "files.h"
#include "kueue.h"
#include "kwok.h"

namespace accel::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kQueueLabel = "kueue.x-k8s.io/queue-name";
constexpr const char* kGroupLabel = "kueue.x-k8s.io/pod-group-name";
constexpr const char* kTotalCountAnnotation = "kueue.x-k8s.io/pod-group-total-count";
constexpr const char* kAdmissionGate = "kueue.x-k8s.io/admission";
const std::set<std::string> kNodes = {"kwok-node-0", "kwok-node-1"};

// One control plane, two fake nodes and one Kueue for the whole suite (each takes seconds to
// start); every test works in namespaces and queues of its own.
class KueueSmoke : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cp_ = std::make_unique<ControlPlane>(ControlPlaneOptions{.with_controllers = true});
    nodes_ = std::make_unique<KwokNodes>(*cp_);
    for (const auto& n : kNodes) nodes_->add_node(n, {{"type", "kwok"}}, {{"cpu", "8"}});
    kueue_ = std::make_unique<Kueue>(*cp_);
  }
  static void TearDownTestSuite() {
    kueue_.reset();
    nodes_.reset();
    cp_.reset();
  }
  void TearDown() override {
    if (HasFailure()) std::cerr << "--- Kueue's log (tail) ---\n" << tail(kueue_->log_file());
  }

  static std::string tail(const std::string& path) {
    const std::string all = read_file(path);
    return all.size() > 6000 ? all.substr(all.size() - 6000) : all;
  }

  // kubectl ARGS; throws with kubectl's output when it fails.
  static std::string kubectl(const std::vector<std::string>& args) {
    auto r = cp_->kubectl(args);
    if (!r.status.success()) throw std::runtime_error("kubectl failed: " + r.output);
    return r.output;
  }
  // kubectl get ARGS -o=json, parsed; the warnings kubectl prints (deprecated versions) skipped.
  static json get(const std::vector<std::string>& args) {
    std::vector<std::string> a{"get"};
    a.insert(a.end(), args.begin(), args.end());
    a.push_back("-o=json");
    std::istringstream lines(kubectl(a));
    std::string body;
    for (std::string line; std::getline(lines, line);)
      if (line.rfind("Warning: ", 0) != 0) body += line + "\n";
    return json::parse(body);
  }
  // Creates `obj` and returns it as the apiserver stored it (after the mutating webhooks).
  static json create(const json& obj) {
    static std::atomic<int> n{0};
    const std::string path = cp_->dir() + "/object-" + std::to_string(n++) + ".json";
    std::ofstream(path) << obj.dump();
    return json::parse(kubectl({"create", "-f", path, "-o=json"}));
  }

  // A namespace Kueue manages (it carries the Kueue fixture's label), with a ClusterQueue of
  // `cpu` CPUs in one flavor and a LocalQueue "queue" pointing at it.
  static std::string queue_namespace(const std::string& name, int cpu) {
    create({{"apiVersion", "v1"},
            {"kind", "Namespace"},
            {"metadata",
             {{"name", name},
              {"labels", {{kueue_->namespace_label_key(), kueue_->namespace_label_value()}}}}}});
    if (!cp_->kubectl({"get", "resourceflavor", "default-flavor"}).status.success())
      create({{"apiVersion", "kueue.x-k8s.io/v1beta2"},
              {"kind", "ResourceFlavor"},
              {"metadata", {{"name", "default-flavor"}}}});
    auto cq = json::parse(R"({
      "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue",
      "spec": {"namespaceSelector": {},
               "resourceGroups": [{"coveredResources": ["cpu"],
                                   "flavors": [{"name": "default-flavor",
                                                "resources": [{"name": "cpu"}]}]}]}})");
    cq["metadata"]["name"] = name;
    cq["spec"]["resourceGroups"][0]["flavors"][0]["resources"][0]["nominalQuota"] =
        std::to_string(cpu);
    create(cq);
    create({{"apiVersion", "kueue.x-k8s.io/v1beta2"},
            {"kind", "LocalQueue"},
            {"metadata", {{"name", "queue"}, {"namespace", name}}},
            {"spec", {{"clusterQueue", name}}}});
    // A LocalQueue is usable once Kueue has seen its ClusterQueue become active.
    EXPECT_TRUE(eventually([&] {
      return condition(get({"localqueue", "queue", "-n", name}), "Active") == "True";
    })) << kubectl({"get", "clusterqueue", name, "-o=yaml"});
    return name;
  }

  // Pod `index` of a plain pod group of `total`, requesting `cpu` CPUs, as Kueue's docs write one.
  static json group_pod(const std::string& ns, const std::string& group, int index, int total,
                        const std::string& cpu) {
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata",
             {{"name", group + "-" + std::to_string(index)},
              {"namespace", ns},
              {"labels", {{kQueueLabel, "queue"}, {kGroupLabel, group}}},
              {"annotations", {{kTotalCountAnnotation, std::to_string(total)}}}}},
            {"spec",
             {{"restartPolicy", "Never"},
              {"containers",
               {{{"name", "main"},
                 {"image", "registry.k8s.io/pause:3.10"},
                 {"resources", {{"requests", {{"cpu", cpu}}}}}}}}}}};
  }
  static std::vector<json> create_group(const std::string& ns, const std::string& group, int total,
                                        const std::string& cpu) {
    std::vector<json> created;
    for (int i = 0; i < total; ++i) created.push_back(create(group_pod(ns, group, i, total, cpu)));
    return created;
  }

  static bool has_admission_gate(const json& pod) {
    for (const auto& g : pod["spec"].value("schedulingGates", json::array()))
      if (g.value("name", "") == kAdmissionGate) return true;
    return false;
  }
  // Every pod of `group` is ungated, bound to one of the fake nodes and Running.
  static bool group_running(const std::string& ns, const std::string& group, size_t total) {
    const auto pods = get({"pods", "-n", ns, "-l", std::string(kGroupLabel) + "=" + group});
    if (pods["items"].size() != total) return false;
    for (const auto& p : pods["items"])
      if (has_admission_gate(p) || !kNodes.count(p["spec"].value("nodeName", "")) ||
          p["status"].value("phase", "") != "Running")
        return false;
    return true;
  }
  // status of condition `type` of `obj` ("" when absent); `reason`/`message` receive its others.
  static std::string condition(const json& obj, const std::string& type,
                               std::string* reason = nullptr, std::string* message = nullptr) {
    for (const auto& c : obj.value("status", json::object()).value("conditions", json::array()))
      if (c.value("type", "") == type) {
        if (reason) *reason = c.value("reason", "");
        if (message) *message = c.value("message", "");
        return c.value("status", "");
      }
    return "";
  }
  static std::string workload_condition(const std::string& ns, const std::string& name,
                                        const std::string& type) {
    return condition(get({"workloads.kueue.x-k8s.io", name, "-n", ns}), type);
  }
  // What a kubelet reports when every container of the pod exited 0.
  static void succeed_pod(const std::string& ns, const std::string& pod) {
    const json status = {
        {"status",
         {{"phase", "Succeeded"},
          {"containerStatuses",
           {{{"name", "main"},
             {"image", "registry.k8s.io/pause:3.10"},
             {"imageID", ""},
             {"ready", false},
             {"restartCount", 0},
             {"state", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}}}}}}}};
    kubectl({"patch", "pod", pod, "-n", ns, "--subresource=status", "--type=merge",
             "-p=" + status.dump()});
  }

  static std::unique_ptr<ControlPlane> cp_;
  static std::unique_ptr<KwokNodes> nodes_;
  static std::unique_ptr<Kueue> kueue_;
};

std::unique_ptr<ControlPlane> KueueSmoke::cp_;
std::unique_ptr<KwokNodes> KueueSmoke::nodes_;
std::unique_ptr<Kueue> KueueSmoke::kueue_;

TEST_F(KueueSmoke, GatesAPodGroupAdmitsItsWorkloadAndLetsTheSchedulerBindIt) {
  const auto ns = queue_namespace("fits", 2);
  const auto created = create_group(ns, "group", 2, "1");

  // As stored: Kueue's mutating webhook gated each pod and marked it managed (label and
  // finalizer kueue.x-k8s.io/managed), before any controller could have seen it.
  for (const auto& p : created) {
    EXPECT_TRUE(has_admission_gate(p)) << p.dump(2);
    EXPECT_EQ(p["metadata"]["labels"].value("kueue.x-k8s.io/managed", ""), "true") << p.dump(2);
    EXPECT_EQ(p["metadata"].value("finalizers", json::array()),
              json::array({"kueue.x-k8s.io/managed"}))
        << p.dump(2);
  }
  // One Workload for the group, named after it, admitted against the queue's quota...
  EXPECT_TRUE(eventually([&] { return workload_condition(ns, "group", "Admitted") == "True"; }))
      << kubectl({"get", "workloads.kueue.x-k8s.io", "-n", ns, "-o=yaml"});
  const auto wl = get({"workloads.kueue.x-k8s.io", "group", "-n", ns});
  EXPECT_EQ(wl["status"]["admission"].value("clusterQueue", ""), "fits") << wl.dump(2);
  // ...then the gates come off and kube-scheduler binds both pods to fake nodes.
  EXPECT_TRUE(eventually([&] { return group_running(ns, "group", 2); }))
      << kubectl({"get", "pods", "-n", ns, "-o=yaml"});
}

TEST_F(KueueSmoke, KeepsAGroupThatDoesNotFitGatedUntilTheFirstGroupFinishes) {
  const auto ns = queue_namespace("full", 2);
  create_group(ns, "first", 2, "1");  // takes the whole quota
  ASSERT_TRUE(eventually([&] { return group_running(ns, "first", 2); }))
      << kubectl({"get", "pods,workloads.kueue.x-k8s.io", "-n", ns, "-o=yaml"});

  const auto second = create_group(ns, "second", 2, "1");
  for (const auto& p : second) ASSERT_TRUE(has_admission_gate(p)) << p.dump(2);
  // Kueue tried and said why not: no quota reserved, reason Pending, the missing CPUs named.
  std::string reason, message;
  EXPECT_TRUE(eventually([&] {
    return condition(get({"workloads.kueue.x-k8s.io", "second", "-n", ns}), "QuotaReserved",
                     &reason, &message) == "False";
  })) << kubectl({"get", "workloads.kueue.x-k8s.io", "-n", ns, "-o=yaml"});
  EXPECT_EQ(reason, "Pending");
  EXPECT_NE(message.find("insufficient unused quota for cpu in flavor default-flavor"),
            std::string::npos)
      << message;
  EXPECT_NE(workload_condition(ns, "second", "Admitted"), "True");
  for (int i = 0; i < 2; ++i) {
    const auto p = get({"pod", "second-" + std::to_string(i), "-n", ns});
    EXPECT_TRUE(has_admission_gate(p)) << p.dump(2);
    EXPECT_EQ(p["spec"].value("nodeName", ""), "") << p.dump(2);
  }

  // The first group ends (every pod Succeeded): Kueue finishes its Workload, which frees the
  // quota, and admits the second.
  succeed_pod(ns, "first-0");
  succeed_pod(ns, "first-1");
  EXPECT_TRUE(eventually([&] { return workload_condition(ns, "first", "Finished") == "True"; }))
      << kubectl({"get", "workloads.kueue.x-k8s.io", "first", "-n", ns, "-o=yaml"});
  // Kueue lets go of the finished pods (its finalizer removed), so they can be deleted.
  EXPECT_TRUE(eventually([&] {
    for (const char* name : {"first-0", "first-1"})
      if (!get({"pod", name, "-n", ns})["metadata"].value("finalizers", json::array()).empty())
        return false;
    return true;
  })) << kubectl({"get", "pods", "-n", ns, "-o=yaml"});
  EXPECT_TRUE(eventually([&] { return workload_condition(ns, "second", "Admitted") == "True"; }))
      << kubectl({"get", "workloads.kueue.x-k8s.io", "-n", ns, "-o=yaml"});
  EXPECT_TRUE(eventually([&] { return group_running(ns, "second", 2); }))
      << kubectl({"get", "pods", "-n", ns, "-o=yaml"});
}

TEST_F(KueueSmoke, LeavesPodsInNamespacesWithoutTheLabelAlone) {
  create({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "unmanaged"}}}});
  // Even with Kueue's labels, a pod outside the managed namespaces is not gated or marked.
  const auto p = create(group_pod("unmanaged", "group", 0, 1, "1"));
  EXPECT_FALSE(has_admission_gate(p)) << p.dump(2);
  EXPECT_FALSE(p["metadata"].value("labels", json::object()).contains("kueue.x-k8s.io/managed"))
      << p.dump(2);
  EXPECT_TRUE(eventually([&] {
    return get({"pod", "group-0", "-n", "unmanaged"})["status"].value("phase", "") == "Running";
  }));
}

TEST_F(KueueSmoke, ConvertsBetweenApiVersionsThroughItsConversionWebhook) {
  // v1beta2 (stored) calls the field spec.cohortName, v1beta1 spec.cohort: only Kueue's
  // /convert, reached through the url: client, renames it (a CRD without conversion would not).
  create({{"apiVersion", "kueue.x-k8s.io/v1beta2"},
          {"kind", "ClusterQueue"},
          {"metadata", {{"name", "conversion"}}},
          {"spec", {{"cohortName", "accel-cohort"}, {"namespaceSelector", json::object()}}}});
  const auto cq = get({"clusterqueues.v1beta1.kueue.x-k8s.io", "conversion"});
  EXPECT_EQ(cq.value("apiVersion", ""), "kueue.x-k8s.io/v1beta1") << cq.dump(2);
  EXPECT_EQ(cq["spec"].value("cohort", ""), "accel-cohort") << cq.dump(2);
  EXPECT_FALSE(cq["spec"].contains("cohortName")) << cq.dump(2);
}

}  // namespace
}  // namespace accel::testing

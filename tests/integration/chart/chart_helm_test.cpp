// The Helm chart against real tools: the pinned helm (scripts/helm.sh) and the real kubectl
// and kube-apiserver (+ etcd) of tests/support's ControlPlane.
//
// One control plane serves the whole binary. Tests that install use their own release and
// namespace. The operator's pods never run (there is no kubelet), so nothing waits for them.
// prometheus-operator is not installed: fixtures/monitoring-crds.yaml holds minimal
// ServiceMonitor/PodMonitor CRDs written for this test (real field names, no
// preserve-unknown-fields) so that the rendered monitors are checked by the apiserver too.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "control_plane.h"

namespace accel::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kChart = source_dir() + "/charts/accel-operator";
const std::string kFixtures = source_dir() + "/tests/integration/chart/fixtures";

ControlPlane* g_cp = nullptr;

// The RBAC matrix works on one installed release.
constexpr const char* kRbacRelease = "accel-operator";
constexpr const char* kRbacNamespace = "accel-rbac";
constexpr const char* kJobNamespace = "team-a";  // where users' AccelJobs live

ControlPlane& cp() {
  if (!g_cp) throw std::runtime_error("the control plane did not start (see the first failure)");
  return *g_cp;
}

// helm with its caches in the control plane's folder, talking to the test control plane.
CommandResult helm(std::vector<std::string> args,
                   std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  std::vector<std::string> argv{"bash", source_dir() + "/scripts/helm.sh"};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string home = g_cp ? g_cp->dir() + "/helm" : fs::temp_directory_path().string();
  std::map<std::string, std::string> env{{"HELM_CACHE_HOME", home + "/cache"},
                                         {"HELM_CONFIG_HOME", home + "/config"},
                                         {"HELM_DATA_HOME", home + "/data"}};
  if (g_cp) env["KUBECONFIG"] = g_cp->kubeconfig();
  return run_command(argv, timeout, env);
}

// Renders the chart into a fresh folder (never parsing stdout, which helm shares with warnings).
std::string render(const std::string& tag, std::vector<std::string> extra) {
  const std::string dir = cp().dir() + "/render-" + tag;
  fs::remove_all(dir);
  std::vector<std::string> args{"template",     "accel-operator", kChart, "--namespace",
                                "accel-system", "--output-dir",   dir};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = helm(args);
  if (!r.status.success()) throw std::runtime_error("helm template failed:\n" + r.output);
  return dir;
}

// All documents of a rendered template file.
std::vector<YAML::Node> rendered(const std::string& dir, const std::string& file) {
  const std::string path = dir + "/accel-operator/templates/" + file;
  if (!fs::exists(path)) return {};
  std::vector<YAML::Node> docs;
  for (const auto& d : YAML::LoadAllFromFile(path))
    if (d && d.IsMap()) docs.push_back(d);
  return docs;
}

YAML::Node one(const std::string& dir, const std::string& file) {
  auto docs = rendered(dir, file);
  if (docs.size() != 1)
    throw std::runtime_error(file + " rendered " + std::to_string(docs.size()) + " documents");
  return docs[0];
}

std::vector<std::string> strings(const YAML::Node& seq) {
  std::vector<std::string> out;
  for (const auto& n : seq) out.push_back(n.as<std::string>());
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

class ChartEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    try {
      g_cp = new ControlPlane();
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    auto crds = g_cp->kubectl({"apply", "-f", kFixtures + "/monitoring-crds.yaml"});
    ASSERT_TRUE(crds.status.success()) << crds.output;
    auto est = g_cp->kubectl(
        {"wait", "--for=condition=Established", "--timeout=60s",
         "crd/servicemonitors.monitoring.coreos.com", "crd/podmonitors.monitoring.coreos.com"},
        std::chrono::seconds(90));
    ASSERT_TRUE(est.status.success()) << est.output;
    for (const char* ns : {"accel-system", kJobNamespace}) {
      auto r = g_cp->kubectl({"create", "namespace", ns});
      ASSERT_TRUE(r.status.success()) << r.output;
    }
    // The release the RBAC matrix asks about.
    auto installed = helm(
        {"install", kRbacRelease, kChart, "--namespace", kRbacNamespace, "--create-namespace"});
    ASSERT_TRUE(installed.status.success()) << installed.output;
  }
  void TearDown() override {
    delete g_cp;
    g_cp = nullptr;
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new ChartEnvironment);

// ---------------------------------------------------------------------------------------------
// helm lint and the values schema

TEST(ChartLint, StrictLintIsCleanWithDefaults) {
  auto r = helm({"lint", "--strict", kChart});
  EXPECT_TRUE(r.status.success()) << r.output;
  EXPECT_NE(r.output.find("1 chart(s) linted, 0 chart(s) failed"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("[WARNING]"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("[ERROR]"), std::string::npos) << r.output;
}

TEST(ChartLint, StrictLintIsCleanWithMonitorsAndLeaderElection) {
  auto r = helm({"lint", "--strict", kChart, "--set", "serviceMonitor.enabled=true", "--set",
                 "podMonitor.enabled=true", "--set", "replicaCount=3"});
  EXPECT_TRUE(r.status.success()) << r.output;
  EXPECT_EQ(r.output.find("[WARNING]"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("[ERROR]"), std::string::npos) << r.output;
}

struct BadValue {
  const char* name;
  std::vector<std::string> set;  // helm flags
  const char* where;             // the schema path the error names
};
std::ostream& operator<<(std::ostream& os, const BadValue& b) { return os << b.name; }

const BadValue kBadValues[] = {
    {"NegativeReplicas", {"--set", "replicaCount=-1"}, "/replicaCount"},
    {"ReplicasNotAnInteger", {"--set-string", "replicaCount=two"}, "/replicaCount"},
    {"UnknownLogLevel", {"--set", "operator.logLevel=loud"}, "/operator/logLevel"},
    {"GangSchedulingOn", {"--set", "operator.gangScheduling=on"}, "/operator/gangScheduling"},
    {"UnknownPullPolicy", {"--set", "image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
    {"EmptyRepository", {"--set", "image.repository="}, "/image/repository"},
    {"LeaderElectionMaybe", {"--set", "leaderElection.enabled=maybe"}, "/leaderElection/enabled"},
    {"MetricsPortZero", {"--set", "metrics.port=0"}, "/metrics/port"},
    {"HealthPortTooLarge", {"--set", "health.port=70000"}, "/health/port"},
    {"ServiceTypeUnknown", {"--set", "service.type=Headless"}, "/service/type"},
    {"ServiceMonitorNotBoolean",
     {"--set-string", "serviceMonitor.enabled=yes"},
     "/serviceMonitor/enabled"},
    {"ScrapeIntervalNotADuration", {"--set", "podMonitor.interval=soon"}, "/podMonitor/interval"},
    {"NoRanksPerPod", {"--set", "podMonitor.ranksPerPod=0"}, "/podMonitor/ranksPerPod"},
    {"DashboardLabelNotAString",
     {"--set", "dashboard.labels.grafana_dashboard=1"},
     "/dashboard/labels/grafana_dashboard"},
    {"UnknownTopLevelKey", {"--set", "replicas=2"}, "additional properties 'replicas'"},
    {"UnknownNestedKey", {"--set", "operator.threads=2"}, "additional properties 'threads'"},
};

class ValuesSchemaRejects : public ::testing::TestWithParam<BadValue> {};

TEST_P(ValuesSchemaRejects, NamingTheValue) {
  std::vector<std::string> args{"template", "x", kChart};
  args.insert(args.end(), GetParam().set.begin(), GetParam().set.end());
  auto r = helm(args);
  EXPECT_FALSE(r.status.success()) << r.output;
  EXPECT_NE(r.output.find("values don't meet the specifications of the schema"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(GetParam().where), std::string::npos) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Table, ValuesSchemaRejects, ::testing::ValuesIn(kBadValues),
                         [](const ::testing::TestParamInfo<BadValue>& i) {
                           return std::string(i.param.name);
                         });

// ---------------------------------------------------------------------------------------------
// helm template → the real apiserver

TEST(ChartTemplate, DefaultOutputIsAcceptedByTheApiserver) {
  const std::string dir = render("defaults", {"--include-crds"});
  auto r = cp().kubectl({"apply", "--dry-run=server", "--validate=strict", "-R", "-f", dir},
                        std::chrono::seconds(120));
  EXPECT_TRUE(r.status.success()) << r.output;
  for (const char* obj :
       {"customresourcedefinition.apiextensions.k8s.io/acceljobs.accel.dev",
        "serviceaccount/accel-operator", "clusterrole.rbac.authorization.k8s.io/accel-operator",
        "role.rbac.authorization.k8s.io/accel-operator-leader-election",
        "deployment.apps/accel-operator", "service/accel-operator-metrics",
        "configmap/accel-operator-dashboard"})
    EXPECT_NE(r.output.find(obj), std::string::npos) << obj << " missing:\n" << r.output;
  EXPECT_EQ(r.output.find("monitoring.coreos.com"), std::string::npos)
      << "monitors rendered although disabled:\n"
      << r.output;
}

TEST(ChartTemplate, OutputWithMonitorsAndTwoReplicasIsAcceptedByTheApiserver) {
  const std::string dir =
      render("monitors", {"--set", "serviceMonitor.enabled=true", "--set",
                          "podMonitor.enabled=true", "--set", "replicaCount=2"});
  auto r = cp().kubectl({"apply", "--dry-run=server", "--validate=strict", "-R", "-f", dir},
                        std::chrono::seconds(120));
  EXPECT_TRUE(r.status.success()) << r.output;
  EXPECT_NE(r.output.find("servicemonitor.monitoring.coreos.com/accel-operator created"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("podmonitor.monitoring.coreos.com/accel-operator-workers created"),
            std::string::npos)
      << r.output;
}

TEST(ChartTemplate, MonitoringFixtureRejectsAMisspeltField) {
  // Shows the fixture CRDs can fail the check above: they are not preserve-unknown-fields.
  const std::string path = cp().dir() + "/bad-podmonitor.yaml";
  std::ofstream(path) << "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\n"
                         "metadata: {name: bad, namespace: accel-system}\n"
                         "spec:\n  selector: {}\n  podMetricEndpoints: [{port: metrics}]\n";
  auto r = cp().kubectl({"apply", "--dry-run=server", "--validate=strict", "-f", path});
  EXPECT_FALSE(r.status.success()) << r.output;
  EXPECT_NE(r.output.find("unknown field \"spec.podMetricEndpoints\""), std::string::npos)
      << r.output;
}

TEST(ChartTemplate, DeploymentIsHardenedAndProbesHealth) {
  const auto dep = one(render("deployment", {}), "deployment.yaml");
  const auto pod = dep["spec"]["template"]["spec"];
  EXPECT_EQ(pod["securityContext"]["runAsNonRoot"].as<bool>(), true);
  EXPECT_EQ(pod["securityContext"]["runAsUser"].as<int>(), 65532);
  EXPECT_EQ(pod["securityContext"]["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");
  ASSERT_EQ(pod["containers"].size(), 1u);
  const auto c = pod["containers"][0];
  EXPECT_EQ(c["image"].as<std::string>(), "accel-operator:0.1.0");
  const auto sc = c["securityContext"];
  EXPECT_EQ(sc["runAsNonRoot"].as<bool>(), true);
  EXPECT_EQ(sc["runAsUser"].as<int>(), 65532);
  EXPECT_EQ(sc["readOnlyRootFilesystem"].as<bool>(), true);
  EXPECT_EQ(sc["allowPrivilegeEscalation"].as<bool>(), false);
  EXPECT_EQ(strings(sc["capabilities"]["drop"]), std::vector<std::string>{"ALL"});
  EXPECT_EQ(sc["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(c["livenessProbe"]["httpGet"]["port"].as<std::string>(), "health");
  EXPECT_TRUE(c["resources"]["requests"]["cpu"]) << "no resource requests";
  EXPECT_TRUE(c["resources"]["limits"]["memory"]) << "no memory limit";
  const auto args = strings(c["args"]);
  EXPECT_TRUE(contains(args, "--metrics-bind-address=:8080"));
  EXPECT_TRUE(contains(args, "--health-probe-bind-address=:8081"));
  EXPECT_FALSE(contains(args, "--leader-elect")) << "one replica needs no leader election";
}

TEST(ChartTemplate, LeaderElectionFollowsReplicasUnlessForced) {
  auto args_of = [](const std::string& tag, std::vector<std::string> set) {
    return strings(one(render(tag, set),
                       "deployment.yaml")["spec"]["template"]["spec"]["containers"][0]["args"]);
  };
  const auto two = args_of("le-two", {"--set", "replicaCount=2"});
  EXPECT_TRUE(contains(two, "--leader-elect"));
  EXPECT_TRUE(contains(two, "--leader-election-namespace=accel-system"));
  EXPECT_TRUE(contains(two, "--leader-election-id=accel-operator"));
  EXPECT_TRUE(
      contains(args_of("le-forced", {"--set", "leaderElection.enabled=true"}), "--leader-elect"));
  EXPECT_FALSE(contains(
      args_of("le-off", {"--set", "replicaCount=2", "--set", "leaderElection.enabled=false"}),
      "--leader-elect"));
}

// Gang scheduling (operator/controller/GANG.md): the flag follows the value, and the PodGroup
// rule (create and delete, nothing else) exists only when the operator may use PodGroups.
TEST(ChartTemplate, GangSchedulingSetsTheFlagAndThePodGroupRuleOnlyWhenOn) {
  auto podgroup_verbs = [](const std::string& dir) {
    std::vector<std::string> verbs;
    for (const auto& doc : rendered(dir, "rbac.yaml")) {
      if (doc["kind"].as<std::string>() != "ClusterRole") continue;
      for (const auto& rule : doc["rules"])
        if (contains(strings(rule["resources"]), "podgroups")) {
          EXPECT_EQ(strings(rule["apiGroups"]), std::vector<std::string>{"scheduling.k8s.io"});
          for (const auto& v : strings(rule["verbs"])) verbs.push_back(v);
        }
    }
    return verbs;
  };
  auto args = [](const std::string& dir) {
    return strings(one(dir, "deployment.yaml")["spec"]["template"]["spec"]["containers"][0]["args"]);
  };
  const std::string on = render("gang-auto", {});
  EXPECT_TRUE(contains(args(on), "--gang-scheduling=auto"));
  EXPECT_EQ(podgroup_verbs(on), (std::vector<std::string>{"create", "delete"}));
  const std::string off = render("gang-off", {"--set", "operator.gangScheduling=off"});
  EXPECT_TRUE(contains(args(off), "--gang-scheduling=off"));
  EXPECT_TRUE(contains(args(on), "--kueue-integration=true"));
  EXPECT_TRUE(contains(args(render("kueue-off", {"--set", "operator.kueueIntegration=false"})),
                       "--kueue-integration=false"));
  EXPECT_TRUE(podgroup_verbs(off).empty());
}

TEST(ChartTemplate, ImageTagAndRepositoryAreOverridable) {
  const auto dep = one(render("image", {"--set", "image.repository=registry.local/accel/op",
                                        "--set", "image.tag=dev"}),
                       "deployment.yaml");
  EXPECT_EQ(dep["spec"]["template"]["spec"]["containers"][0]["image"].as<std::string>(),
            "registry.local/accel/op:dev");
}

TEST(ChartTemplate, PodMonitorScrapesEveryRankPortOfPodsWithTheJobLabel) {
  const auto pm = one(render("podmonitor", {"--set", "podMonitor.enabled=true", "--set",
                                            "podMonitor.ranksPerPod=3"}),
                      "podmonitor.yaml");
  const auto expr = pm["spec"]["selector"]["matchExpressions"][0];
  EXPECT_EQ(expr["key"].as<std::string>(), "accel.dev/job-name");
  EXPECT_EQ(expr["operator"].as<std::string>(), "Exists");
  std::vector<std::string> ports;
  for (const auto& ep : pm["spec"]["podMetricsEndpoints"]) {
    ports.push_back(ep["port"].as<std::string>());
    EXPECT_EQ(ep["path"].as<std::string>(), "/metrics");
    EXPECT_EQ(ep["honorLabels"].as<bool>(), true);
  }
  EXPECT_EQ(ports, (std::vector<std::string>{"metrics", "metrics-1", "metrics-2"}));
  EXPECT_TRUE(pm["spec"]["namespaceSelector"]["any"].as<bool>());
}

TEST(ChartTemplate, ServiceMonitorSelectsTheMetricsService) {
  const std::string dir = render("servicemonitor", {"--set", "serviceMonitor.enabled=true"});
  const auto sm = one(dir, "servicemonitor.yaml");
  const auto svc = one(dir, "service.yaml");
  for (const auto& kv : sm["spec"]["selector"]["matchLabels"]) {
    const auto key = kv.first.as<std::string>();
    ASSERT_TRUE(svc["metadata"]["labels"][key]) << key;
    EXPECT_EQ(svc["metadata"]["labels"][key].as<std::string>(), kv.second.as<std::string>());
  }
  EXPECT_EQ(sm["spec"]["endpoints"][0]["port"].as<std::string>(),
            svc["spec"]["ports"][0]["name"].as<std::string>());
}

TEST(ChartTemplate, DashboardConfigMapCarriesTheSidecarLabelAndTheJson) {
  const std::string dir = render("dashboard", {"--set", "dashboard.labels.team=ml"});
  const auto cm = one(dir, "dashboard-configmap.yaml");
  EXPECT_EQ(cm["metadata"]["labels"]["grafana_dashboard"].as<std::string>(), "1");
  EXPECT_EQ(cm["metadata"]["labels"]["team"].as<std::string>(), "ml");
  std::ifstream in(kChart + "/dashboards/accel.json");
  std::stringstream file;
  file << in.rdbuf();
  std::string want = file.str();
  while (!want.empty() && want.back() == '\n') want.pop_back();
  EXPECT_EQ(cm["data"]["accel.json"].as<std::string>(), want);

  EXPECT_TRUE(rendered(render("no-dashboard", {"--set", "dashboard.enabled=false"}),
                       "dashboard-configmap.yaml")
                  .empty());
}

// ---------------------------------------------------------------------------------------------
// helm install / upgrade / uninstall on the control plane (no --wait: no kubelet runs pods)

std::string kubectl_out(const std::vector<std::string>& args) {
  auto r = cp().kubectl(args);
  return r.status.success() ? r.output : "<error> " + r.output;
}

TEST(ChartLifecycle, InstallUpgradeAndUninstall) {
  const std::string ns = "accel-lifecycle", rel = "lifecycle";
  auto inst = helm({"install", rel, kChart, "--namespace", ns, "--create-namespace"});
  ASSERT_TRUE(inst.status.success()) << inst.output;
  EXPECT_NE(inst.output.find("STATUS: deployed"), std::string::npos) << inst.output;
  EXPECT_NE(inst.output.find("kubectl get aj"), std::string::npos) << "NOTES.txt:\n" << inst.output;
  const std::string dep = "lifecycle-accel-operator";
  EXPECT_EQ(kubectl_out({"get", "deployment", dep, "-n", ns, "-o", "jsonpath={.spec.replicas}"}),
            "1");
  EXPECT_EQ(kubectl_out({"get", "crd", "acceljobs.accel.dev", "-o", "name"}),
            "customresourcedefinition.apiextensions.k8s.io/acceljobs.accel.dev\n");

  auto up = helm({"upgrade", rel, kChart, "--namespace", ns, "--reuse-values", "--set",
                  "replicaCount=2", "--set", "operator.logLevel=debug"});
  ASSERT_TRUE(up.status.success()) << up.output;
  EXPECT_EQ(kubectl_out({"get", "deployment", dep, "-n", ns, "-o", "jsonpath={.spec.replicas}"}),
            "2");
  const std::string args = kubectl_out({"get", "deployment", dep, "-n", ns, "-o",
                                        "jsonpath={.spec.template.spec.containers[0].args}"});
  EXPECT_NE(args.find("--leader-elect"), std::string::npos) << args;
  EXPECT_NE(args.find("--log-level=debug"), std::string::npos) << args;
  auto hist = helm({"history", rel, "--namespace", ns, "-o", "json"});
  EXPECT_NE(hist.output.find("\"revision\":2"), std::string::npos) << hist.output;

  auto un = helm({"uninstall", rel, "--namespace", ns});
  ASSERT_TRUE(un.status.success()) << un.output;
  auto gone = cp().kubectl({"get", "deployment", dep, "-n", ns});
  EXPECT_FALSE(gone.status.success()) << gone.output;
  auto role = cp().kubectl({"get", "clusterrole", dep});
  EXPECT_FALSE(role.status.success()) << role.output;
  // The CRD stays: deleting it would delete every AccelJob.
  EXPECT_EQ(kubectl_out({"get", "crd", "acceljobs.accel.dev", "-o", "name"}),
            "customresourcedefinition.apiextensions.k8s.io/acceljobs.accel.dev\n");
}

// ---------------------------------------------------------------------------------------------
// RBAC: what the operator's ServiceAccount may and may not do, asked of the real authorizer.

struct Access {
  const char* verb;
  const char* resource;     // resource[.group]
  const char* subresource;  // "" for none
  const char* where;        // namespace, "*" for all namespaces, "" for cluster-scoped
  bool allowed;
};
std::ostream& operator<<(std::ostream& os, const Access& a) {
  return os << a.verb << " " << a.resource << (*a.subresource ? "/" : "") << a.subresource << " in "
            << a.where;
}

const Access kMatrix[] = {
    // What the reconciler needs.
    {"get", "acceljobs.accel.dev", "", "*", true},
    {"list", "acceljobs.accel.dev", "", "*", true},
    {"watch", "acceljobs.accel.dev", "", "*", true},
    {"update", "acceljobs.accel.dev", "", kJobNamespace, true},
    {"patch", "acceljobs.accel.dev", "", kJobNamespace, true},
    {"delete", "acceljobs.accel.dev", "", kJobNamespace, true},
    {"get", "acceljobs.accel.dev", "status", kJobNamespace, true},
    {"update", "acceljobs.accel.dev", "status", kJobNamespace, true},
    {"patch", "acceljobs.accel.dev", "status", kJobNamespace, true},
    {"update", "acceljobs.accel.dev", "finalizers", kJobNamespace, true},
    {"get", "pods", "", "*", true},
    {"list", "pods", "", "*", true},
    {"watch", "pods", "", "*", true},
    {"create", "pods", "", kJobNamespace, true},
    {"delete", "pods", "", kJobNamespace, true},
    {"get", "services", "", "*", true},
    {"list", "services", "", "*", true},
    {"watch", "services", "", "*", true},
    {"create", "services", "", kJobNamespace, true},
    {"delete", "services", "", kJobNamespace, true},
    {"create", "events", "", kJobNamespace, true},
    {"patch", "events", "", kJobNamespace, true},
    {"get", "leases.coordination.k8s.io", "", kRbacNamespace, true},
    {"create", "leases.coordination.k8s.io", "", kRbacNamespace, true},
    {"update", "leases.coordination.k8s.io", "", kRbacNamespace, true},
    // What it must not do.
    {"create", "acceljobs.accel.dev", "", kJobNamespace, false},
    {"get", "acceljobs.evil.dev", "", kJobNamespace, false},
    {"get", "secrets", "", kJobNamespace, false},
    {"list", "secrets", "", "*", false},
    {"get", "secrets", "", kRbacNamespace, false},
    {"create", "pods", "exec", kJobNamespace, false},
    {"create", "pods", "attach", kJobNamespace, false},
    {"get", "pods", "log", kJobNamespace, false},
    {"create", "pods", "eviction", kJobNamespace, false},
    {"update", "pods", "", kJobNamespace, false},
    {"patch", "pods", "", kJobNamespace, false},
    {"deletecollection", "pods", "", kJobNamespace, false},
    {"update", "services", "", kJobNamespace, false},
    {"delete", "events", "", kJobNamespace, false},
    {"create", "leases.coordination.k8s.io", "", kJobNamespace, false},
    {"update", "leases.coordination.k8s.io", "", "kube-system", false},
    {"delete", "leases.coordination.k8s.io", "", kRbacNamespace, false},
    {"get", "nodes", "", "", false},
    {"delete", "nodes", "", "", false},
    {"delete", "namespaces", "", "", false},
    {"create", "clusterroles.rbac.authorization.k8s.io", "", "", false},
    {"create", "clusterrolebindings.rbac.authorization.k8s.io", "", "", false},
    {"bind", "clusterroles.rbac.authorization.k8s.io", "", "", false},
    {"escalate", "clusterroles.rbac.authorization.k8s.io", "", "", false},
    {"create", "rolebindings.rbac.authorization.k8s.io", "", kJobNamespace, false},
    {"delete", "customresourcedefinitions.apiextensions.k8s.io", "", "", false},
    {"create", "deployments.apps", "", kJobNamespace, false},
    {"update", "configmaps", "", kRbacNamespace, false},
    {"create", "serviceaccounts", "token", kJobNamespace, false},
    {"create", "persistentvolumeclaims", "", kJobNamespace, false},
    {"impersonate", "users", "", "", false},
};

class OperatorServiceAccount : public ::testing::TestWithParam<Access> {};

TEST_P(OperatorServiceAccount, MayDoExactlyWhatTheReconcilerNeeds) {
  const Access& a = GetParam();
  std::vector<std::string> args{
      "auth", "can-i", a.verb, a.resource,
      std::string("--as=system:serviceaccount:") + kRbacNamespace + ":" + kRbacRelease};
  if (*a.subresource) args.push_back(std::string("--subresource=") + a.subresource);
  if (std::string(a.where) == "*")
    args.push_back("--all-namespaces");
  else if (*a.where)
    args.push_back(std::string("--namespace=") + a.where);
  auto r = cp().kubectl(args);
  // The answer is the last line (kubectl may print a warning before it).
  std::string answer, line;
  for (std::istringstream s(r.output); std::getline(s, line);)
    if (!line.empty()) answer = line;
  EXPECT_EQ(answer, a.allowed ? "yes" : "no") << a << ":\n" << r.output;
  EXPECT_EQ(r.status.success(), a.allowed) << r.output;
}

INSTANTIATE_TEST_SUITE_P(Matrix, OperatorServiceAccount, ::testing::ValuesIn(kMatrix),
                         [](const ::testing::TestParamInfo<Access>& i) {
                           std::string n = std::string(i.param.allowed ? "Allows_" : "Denies_") +
                                           i.param.verb + "_" + i.param.resource + "_" +
                                           i.param.subresource + "_" + i.param.where;
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n + "_" + std::to_string(i.index);
                         });

// PodGroups (gang scheduling): created and deleted, never read or changed; no Workloads. This
// control plane does not serve scheduling.k8s.io/v1alpha2, and `kubectl auth can-i` cannot name
// a resource discovery does not list, so the API server's authorizer is asked directly with a
// SubjectAccessReview, which evaluates the RBAC rules whether the resource is served or not.
TEST(ChartRbac, PodGroupsMayBeCreatedAndDeletedAndNothingElse) {
  auto allowed = [](const std::string& verb, const std::string& resource) {
    const json review = {
        {"apiVersion", "authorization.k8s.io/v1"},
        {"kind", "SubjectAccessReview"},
        {"spec",
         {{"user", std::string("system:serviceaccount:") + kRbacNamespace + ":" + kRbacRelease},
          {"groups", {"system:serviceaccounts", "system:authenticated"}},
          {"resourceAttributes",
           {{"group", "scheduling.k8s.io"}, {"resource", resource}, {"verb", verb},
            {"namespace", kJobNamespace}}}}}};
    const std::string path = cp().dir() + "/sar-" + verb + "-" + resource + ".json";
    std::ofstream(path) << review.dump();
    auto r = cp().kubectl({"create", "-f", path, "-o", "json"});
    EXPECT_TRUE(r.status.success()) << r.output;
    return json::parse(r.output)["status"].value("allowed", false);
  };
  EXPECT_TRUE(allowed("create", "podgroups"));
  EXPECT_TRUE(allowed("delete", "podgroups"));
  for (const char* verb : {"get", "list", "update", "patch", "deletecollection"})
    EXPECT_FALSE(allowed(verb, "podgroups")) << verb;
  EXPECT_FALSE(allowed("create", "workloads"));
}

TEST(ChartRbac, ClusterRoleHasNoWildcards) {
  auto r = cp().kubectl({"get", "clusterrole", kRbacRelease, "-o", "json"});
  ASSERT_TRUE(r.status.success()) << r.output;
  EXPECT_EQ(r.output.find("\"*\""), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("secrets"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace accel::testing

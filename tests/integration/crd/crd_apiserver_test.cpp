// The AccelJob CRD on a real kube-apiserver (+ etcd), driven by the real kubectl.
//
// One ControlPlane serves every test in this binary: it is started once, crds/acceljob.yaml is
// applied server-side and the test waits for the CRD to be Established. Each test then works
// in its own namespace. Invalid specs are a table: each row must be rejected by the apiserver
// and the message must name the field path (so a user can find what to fix).
#include <gtest/gtest.h>

#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "control_plane.h"
#include "eventually.h"

namespace accel::testing {
namespace {

namespace fs = std::filesystem;

ControlPlane* g_cp = nullptr;
constexpr const char* kNamespace = "crd-test";

// Starts the control plane and installs the CRD once for the whole binary.
class CrdEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    try {
      g_cp = new ControlPlane();
    } catch (const std::exception& e) {
      FAIL() << e.what();
    }
    auto applied =
        g_cp->kubectl({"apply", "--server-side", "-f", source_dir() + "/crds/acceljob.yaml"});
    ASSERT_TRUE(applied.status.success()) << applied.output;
    auto established = g_cp->kubectl(
        {"wait", "--for=condition=Established", "crd/acceljobs.accel.dev", "--timeout=60s"},
        std::chrono::seconds(90));
    ASSERT_TRUE(established.status.success()) << established.output;
    auto ns = g_cp->kubectl({"create", "namespace", kNamespace});
    ASSERT_TRUE(ns.status.success()) << ns.output;
  }
  void TearDown() override {
    delete g_cp;
    g_cp = nullptr;
  }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new CrdEnvironment);

ControlPlane& cp() {
  if (!g_cp) throw std::runtime_error("the control plane did not start (see the first failure)");
  return *g_cp;
}

// Writes `text` to a file in the control plane's folder and returns its path.
std::string write_manifest(const std::string& stem, const std::string& text) {
  const std::string path = cp().dir() + "/" + stem + ".yaml";
  std::ofstream(path) << text;
  return path;
}

std::string job_manifest(const std::string& name, const char* spec) {
  std::string m =
      "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata:\n  name: " + name + "\n";
  if (spec) m += std::string("spec: ") + spec + "\n";
  return m;
}

// ---------------------------------------------------------------------------------------------
// Invalid specs: rejected, with the field path in the message.

struct InvalidCase {
  const char* name;      // test name
  const char* spec;      // flow-style YAML of .spec (nullptr: no spec at all)
  const char* field;     // what the message must name (the field path as the apiserver writes it)
  const char* reason;    // a fragment of why, so the row fails if rejected for another reason
  const char* job_name;  // metadata.name
};

std::ostream& operator<<(std::ostream& os, const InvalidCase& c) { return os << c.name; }

const InvalidCase kInvalid[] = {
    {"MissingImage", "{nodes: 1}", "spec.image: Required value", "Required value", "bad"},
    {"EmptyImage", "{image: ''}", "spec.image:", "at least 1 chars long", "bad"},
    {"ZeroNodes", "{image: w, command: [t], nodes: 0}", "spec.nodes:", "greater than or equal to 1", "bad"},
    {"TooManyNodes", "{image: w, command: [t], nodes: 5000}", "spec.nodes:", "less than or equal to 4096", "bad"},
    {"NodesNotAnInteger", "{image: w, command: [t], nodes: two}", "spec.nodes:", "must be of type integer",
     "bad"},
    {"NegativeGpusPerNode", "{image: w, command: [t], gpusPerNode: -1}",
     "spec.gpusPerNode:", "greater than or equal to 0", "bad"},
    {"TooManyGpusPerNode", "{image: w, command: [t], gpusPerNode: 65}",
     "spec.gpusPerNode:", "less than or equal to 64", "bad"},
    {"ZeroProcsPerNode", "{image: w, command: [t], procsPerNode: 0}",
     "spec.procsPerNode:", "greater than or equal to 1", "bad"},
    {"ProcsPerNodeNotEqualGpusPerNode", "{image: w, command: [t], gpusPerNode: 2, procsPerNode: 3}",
     "spec.procsPerNode:", "must equal gpusPerNode", "bad"},
    {"PrecisionBf17", "{image: w, command: [t], precision: bf17}",
     "spec.precision:", "Unsupported value: \"bf17\"", "bad"},
    {"Fp16WithoutGpus", "{image: w, command: [t], precision: fp16}",
     "spec.precision:", "precision fp16 needs GPUs", "bad"},
    {"NcclWithZeroGpusPerNode", "{image: w, command: [t], gpusPerNode: 0, processGroup: {backend: nccl}}",
     "spec.processGroup.backend:", "backend nccl needs GPUs", "bad"},
    {"UnknownBackend", "{image: w, command: [t], processGroup: {backend: mpi}}",
     "spec.processGroup.backend:", "Unsupported value: \"mpi\"", "bad"},
    {"ZeroCollectiveTimeout", "{image: w, command: [t], processGroup: {timeoutSeconds: 0}}",
     "spec.processGroup.timeoutSeconds:", "greater than or equal to 1", "bad"},
    {"ZeroRendezvousTimeout", "{image: w, command: [t], processGroup: {rendezvousTimeoutSeconds: 0}}",
     "spec.processGroup.rendezvousTimeoutSeconds:", "greater than or equal to 1", "bad"},
    {"ZeroGradientAccumulationSteps", "{image: w, command: [t], gradientAccumulationSteps: 0}",
     "spec.gradientAccumulationSteps:", "greater than or equal to 1", "bad"},
    {"ReservedEnvRank", "{image: w, command: [t], env: [{name: RANK, value: '3'}]}",
     "spec.env[0].name:", "reserved by the Accel env contract", "bad"},
    {"ReservedEnvMasterAddr", "{image: w, command: [t], env: [{name: MASTER_ADDR, value: h}]}",
     "spec.env[0].name:", "reserved by the Accel env contract", "bad"},
    {"ReservedEnvAccelPrefix",
     "{image: w, command: [t], env: [{name: MY_VAR, value: x}, {name: ACCEL_MIXED_PRECISION, value: 'no'}]}",
     "spec.env[1].name:", "reserved by the Accel env contract", "bad"},
    {"EnvValueAndValueFrom",
     "{image: w, command: [t], env: [{name: K, value: v, valueFrom: {secretKeyRef: {name: s, key: k}}}]}",
     "spec.env[0].valueFrom:", "may not be specified when `value` is not empty", "bad"},
    {"EnvWithoutName", "{image: w, command: [t], env: [{value: v}]}", "spec.env[0].name: Required value",
     "Required value", "bad"},
    {"EnvSecretKeyRefWithoutKey",
     "{image: w, command: [t], env: [{name: K, valueFrom: {secretKeyRef: {name: s}}}]}",
     "spec.env[0].valueFrom.secretKeyRef.key: Required value", "Required value", "bad"},
    {"RestartPolicyAlways", "{image: w, command: [t], runPolicy: {restartPolicy: Always}}",
     "spec.runPolicy.restartPolicy:", "Unsupported value: \"Always\"", "bad"},
    {"NegativeMaxRestarts", "{image: w, command: [t], runPolicy: {maxRestarts: -1}}",
     "spec.runPolicy.maxRestarts:", "greater than or equal to 0", "bad"},
    {"BackoffMaxBelowInitial",
     "{image: w, command: [t], runPolicy: {backoff: {initialSeconds: 60, maxSeconds: 10}}}",
     "spec.runPolicy.backoff.maxSeconds:", "greater than or equal to initialSeconds", "bad"},
    {"BackoffFactorBelowOne", "{image: w, command: [t], runPolicy: {backoff: {factor: 0.5}}}",
     "spec.runPolicy.backoff.factor:", "greater than or equal to 1", "bad"},
    {"ZeroActiveDeadline", "{image: w, command: [t], runPolicy: {activeDeadlineSeconds: 0}}",
     "spec.runPolicy.activeDeadlineSeconds:", "greater than or equal to 1", "bad"},
    {"ZeroStallTimeout", "{image: w, command: [t], runPolicy: {stallTimeoutSeconds: 0}}",
     "spec.runPolicy.stallTimeoutSeconds:", "greater than or equal to 1", "bad"},
    {"NegativeTtlAfterFinished", "{image: w, command: [t], runPolicy: {ttlSecondsAfterFinished: -5}}",
     "spec.runPolicy.ttlSecondsAfterFinished:", "greater than or equal to 0", "bad"},
    {"UnknownCleanPodPolicy", "{image: w, command: [t], runPolicy: {cleanPodPolicy: Sometimes}}",
     "spec.runPolicy.cleanPodPolicy:", "Unsupported value: \"Sometimes\"", "bad"},
    {"SuspendNotBoolean", "{image: w, command: [t], runPolicy: {suspend: 'yes'}}",
     "spec.runPolicy.suspend:", "must be of type boolean", "bad"},
    {"MetricsPortAbove65535", "{image: w, command: [t], metrics: {port: 70000}}",
     "spec.metrics.port:", "less than or equal to 65535", "bad"},
    {"NegativeMetricsPort", "{image: w, command: [t], metrics: {port: -1}}",
     "spec.metrics.port:", "greater than or equal to 0", "bad"},
    {"ZeroDdpBucketCap", "{image: w, command: [t], ddp: {bucketCapMB: 0}}",
     "spec.ddp.bucketCapMB:", "greater than or equal to 1", "bad"},
    {"DdpStaticGraphNotBoolean", "{image: w, command: [t], ddp: {staticGraph: 'on'}}",
     "spec.ddp.staticGraph:", "must be of type boolean", "bad"},
    {"ZeroCheckpointKeep", "{image: w, command: [t], checkpoint: {keep: 0}}",
     "spec.checkpoint.keep:", "greater than or equal to 1", "bad"},
    {"NegativeCheckpointEverySteps", "{image: w, command: [t], checkpoint: {everySteps: -1}}",
     "spec.checkpoint.everySteps:", "greater than or equal to 0", "bad"},
    {"UnknownTrackerType", "{image: w, command: [t], trackers: [{type: neptune}]}",
     "spec.trackers[0].type:", "Unsupported value: \"neptune\"", "bad"},
    {"DuplicateTrackerType", "{image: w, command: [t], trackers: [{type: jsonl}, {type: jsonl}]}",
     "spec.trackers[1]:", "Duplicate value", "bad"},
    {"TrackerSecretRefWithoutName", "{image: w, command: [t], trackers: [{type: wandb, secretRef: {key: k}}]}",
     "spec.trackers[0].secretRef.name: Required value", "Required value", "bad"},
    {"NodeSelectorValueNotString", "{image: w, command: [t], template: {nodeSelector: {gpus: 8}}}",
     "spec.template.nodeSelector.gpus:", "must be of type string", "bad"},
    {"UnknownSpecField", "{image: w, command: [t], replicas: 4}", "\"spec.replicas\"", "unknown field", "bad"},
    {"UnknownNestedField", "{image: w, command: [t], runPolicy: {retries: 2}}", "\"spec.runPolicy.retries\"",
     "unknown field", "bad"},
    {"NameLongerThan50Characters", "{image: w, command: [t]}", "metadata.name:", "no more than 50 characters",
     "job-name-that-is-far-too-long-for-pod-names-to-derive-from"},
    {"NameNotADns1035Label", "{image: w, command: [t]}", "metadata.name:", "DNS-1035", "1st-job"},
    {"MissingSpec", nullptr, "spec: Required value", "Required value", "bad"},
    // Specs that would fail later for a reason they already show.
    {"NoProgram", "{image: w}", "spec.command: Required value", "the training program to run",
     "bad"},
    {"CheckpointVolumeNotInTemplate",
     "{image: w, command: [t], checkpoint: {volume: ckpt}, template: {volumes: [{name: data, "
     "emptyDir: {}}]}}",
     "spec.checkpoint.volume:", "must name a volume of spec.template.volumes", "bad"},
    {"VolumeMountOfAnUndeclaredVolume",
     "{image: w, command: [t], template: {volumeMounts: [{name: data, mountPath: /data}]}}",
     "spec.template.volumeMounts:", "every volumeMounts[].name must name a volume", "bad"},
    {"MetricsPortsPast65535", "{image: w, command: [t], gpusPerNode: 8, metrics: {port: 65530}}",
     "spec.metrics.port:", "port + procsPerNode - 1 must be at most 65535", "bad"},
    {"RunNamePrefixWithSlash", "{image: w, command: [t], logging: {runNamePrefix: a/b}}",
     "spec.logging.runNamePrefix:", "may not contain '/'", "bad"},
    {"TrackerSettingItDoesNotTake",
     "{image: w, command: [t], trackers: [{type: tensorboard, settings: {project: p}}]}",
     "spec.trackers[0].settings:", "has a setting its tracker type does not take", "bad"},
    {"MlflowWithoutTrackingUri", "{image: w, command: [t], trackers: [{type: mlflow}]}",
     "spec.trackers: Required value", "an mlflow tracker needs its tracking server", "bad"},
    {"MlflowTrackingUriNotHttp",
     "{image: w, command: [t], trackers: [{type: mlflow, settings: {tracking_uri: 'file:///m'}}]}",
     "spec.trackers[0].settings:", "must be an http:// or https:// MLflow tracking server", "bad"},
    {"MlflowTimeoutOutOfRange",
     "{image: w, command: [t], trackers: [{type: mlflow, settings: {tracking_uri: 'http://m', "
     "timeout_seconds: 7200}}]}",
     "spec.trackers[0].settings:", "timeout_seconds must be a whole number of seconds", "bad"},
    {"WandbModeUnknown",
     "{image: w, command: [t], trackers: [{type: wandb, settings: {mode: cloud}}]}",
     "spec.trackers[0].settings:", "mode must be offline or online", "bad"},
    {"WandbRunIdWithSpaces",
     "{image: w, command: [t], trackers: [{type: wandb, settings: {run_id: 'my run'}}]}",
     "spec.trackers[0].settings:", "run_id must be 1-64 letters", "bad"},
    {"SeccompProfileUnknown",
     "{image: w, command: [t], template: {securityContext: {seccompProfile: Localhost}}}",
     "spec.template.securityContext.seccompProfile:", "Unsupported value: \"Localhost\"", "bad"},
};

class RejectsInvalidSpec : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(RejectsInvalidSpec, NamingTheFieldPath) {
  const InvalidCase& c = GetParam();
  const std::string path =
      write_manifest(std::string("invalid-") + c.name, job_manifest(c.job_name, c.spec));
  auto r = cp().kubectl({"apply", "--validate=strict", "-n", kNamespace, "-f", path});
  EXPECT_FALSE(r.status.success()) << "accepted:\n" << job_manifest(c.job_name, c.spec);
  EXPECT_NE(r.output.find(c.field), std::string::npos)
      << "the message does not name " << c.field << ":\n"
      << r.output;
  EXPECT_NE(r.output.find(c.reason), std::string::npos)
      << "rejected, but not because " << c.reason << ":\n"
      << r.output;
  // Nothing was stored.
  auto got = cp().kubectl({"get", "acceljob", c.job_name, "-n", kNamespace, "-o", "name"});
  EXPECT_FALSE(got.status.success()) << got.output;
}

INSTANTIATE_TEST_SUITE_P(Table, RejectsInvalidSpec, ::testing::ValuesIn(kInvalid),
                         [](const ::testing::TestParamInfo<InvalidCase>& info) {
                           return std::string(info.param.name);
                         });

// Every cross-field rule the CRD carries (api/src/field_table.cpp, acceljob_cel_rules) has a row
// above that the real apiserver rejects with that rule's own message: a rule added to the
// schema without an end-to-end rejection here fails this test.
TEST(CrdTable, EveryCelRuleOfTheSchemaHasARejectedSpec) {
  for (const auto& rule : accel::api::acceljob_cel_rules()) {
    if (rule.id == "procs-immutable") continue;  // an update rule: CrdImmutability covers it
    bool covered = false;
    for (const auto& c : kInvalid) covered = covered || rule.message.find(c.reason) != std::string::npos;
    EXPECT_TRUE(covered) << "CEL rule '" << rule.id << "' (" << rule.message << ") has no row in kInvalid";
  }
}

// `accel run` (accel::api's parse, defaults and validate) refuses every row of a CEL rule with
// the same field and the same reason as the apiserver: the C++ twin of each rule agrees.
TEST(CrdTable, AccelRunRefusesWhatEveryCelRuleRefusesWithTheSameMessage) {
  for (const auto& c : kInvalid) {
    bool cel = false;
    for (const auto& rule : accel::api::acceljob_cel_rules())
      cel = cel || rule.message.find(c.reason) != std::string::npos;
    if (!cel || !c.spec) continue;
    SCOPED_TRACE(c.name);
    std::string said;
    try {
      accel::api::AccelJob job = accel::api::parse_acceljob_yaml(job_manifest(c.job_name, c.spec));
      accel::api::apply_defaults(job);
      for (const auto& e : accel::api::validate(job)) said += e.to_string() + "\n";
    } catch (const std::exception& e) {
      said = e.what();
    }
    EXPECT_NE(said.find(c.field), std::string::npos) << said;
    EXPECT_NE(said.find(c.reason), std::string::npos) << said;
  }
}

// ---------------------------------------------------------------------------------------------
// Valid specs.

// Where a setting may come from elsewhere, the rule lets it: MLFLOW_TRACKING_URI in the pod env
// stands for the tracker's tracking_uri, integers are accepted where the worker reads numbers.
TEST(CrdAccepts, SpecsThatMeetTheReferenceAndTrackerRules) {
  const char* specs[] = {
      "{image: w, args: [train.py]}",
      "{image: w, command: [t], trackers: [{type: mlflow}], env: [{name: MLFLOW_TRACKING_URI, "
      "valueFrom: {secretKeyRef: {name: m, key: uri}}}]}",
      "{image: w, command: [t], trackers: [{type: mlflow, settings: {tracking_uri: "
      "'https://m:5000', timeout_seconds: 60, experiment_name: e}}, {type: wandb, settings: "
      "{mode: offline, run_id: run-1, project: p}}]}",
      "{image: w, command: [t], checkpoint: {volume: ckpt}, template: {volumes: [{name: ckpt, "
      "persistentVolumeClaim: {claimName: c}}], volumeMounts: [{name: ckpt, mountPath: /ckpt}]}}",
      "{image: w, command: [t], gpusPerNode: 8, metrics: {port: 65528}}",
  };
  int i = 0;
  for (const char* spec : specs) {
    SCOPED_TRACE(spec);
    const std::string name = "ok-" + std::to_string(i++);
    auto r = cp().kubectl({"apply", "--dry-run=server", "--validate=strict", "-n", kNamespace, "-f",
                           write_manifest(name, job_manifest(name, spec))});
    EXPECT_TRUE(r.status.success()) << r.output;
    accel::api::AccelJob job = accel::api::parse_acceljob_yaml(job_manifest(name, spec));
    accel::api::apply_defaults(job);
    const auto errors = accel::api::validate(job);
    EXPECT_TRUE(errors.empty()) << errors.front().to_string();
  }
}

TEST(CrdAccepts, EveryTopLevelExampleWithServerSideDryRun) {
  int seen = 0;
  for (const auto& entry : fs::directory_iterator(source_dir() + "/examples")) {
    if (!entry.is_regular_file() || entry.path().extension() != ".yaml") continue;
    ++seen;
    SCOPED_TRACE(entry.path().string());
    auto r = cp().kubectl({"apply", "--dry-run=server", "--validate=strict", "-n", kNamespace, "-f",
                           entry.path().string()});
    EXPECT_TRUE(r.status.success()) << r.output;
    EXPECT_NE(r.output.find("acceljob.accel.dev/"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("(server dry run)"), std::string::npos) << r.output;
  }
  EXPECT_GE(seen, 2) << "no AccelJob examples found in examples/";
}

TEST(CrdAccepts, MinimalSpecAndFillsSchemaDefaultsOnTheServer) {
  const std::string path = write_manifest("minimal", job_manifest("minimal", "{image: w, command: [t]}"));
  auto r = cp().kubectl({"create", "--dry-run=server", "-n", kNamespace, "-f", path, "-o",
                         "jsonpath={.spec.nodes} {.spec.gpusPerNode} {.spec.precision} "
                         "{.spec.runPolicy.restartPolicy} {.spec.runPolicy.maxRestarts} "
                         "{.spec.processGroup.backend} {.spec.metrics.port}"});
  ASSERT_TRUE(r.status.success()) << r.output;
  EXPECT_EQ(r.output, "1 0 bf16 OnFailure 3 auto 9400");
}

TEST(CrdAccepts, UnknownFieldIsPrunedWhenValidationIsNotStrict) {
  const std::string path =
      write_manifest("pruned", job_manifest("pruned", "{image: w, command: [t], replicas: 4}"));
  auto r = cp().kubectl({"create", "--dry-run=server", "--validate=ignore", "-n", kNamespace, "-f",
                         path, "-o", "json"});
  ASSERT_TRUE(r.status.success()) << r.output;
  EXPECT_EQ(r.output.find("replicas"), std::string::npos) << r.output;
}

// ---------------------------------------------------------------------------------------------
// Immutability: the gang's shape and image cannot change under a running job.

struct ImmutableCase {
  const char* name;
  const char* original;  // .spec at creation
  const char* changed;   // .spec re-applied
  const char* field;
};
std::ostream& operator<<(std::ostream& os, const ImmutableCase& c) { return os << c.name; }

const ImmutableCase kImmutable[] = {
    {"Nodes", "{image: w, command: [t], nodes: 2}", "{image: w, command: [t], nodes: 3}", "spec.nodes:"},
    {"Image", "{image: w, command: [t], nodes: 2}", "{image: w2, nodes: 2}", "spec.image:"},
    {"GpusPerNode", "{image: w, command: [t], gpusPerNode: 0}", "{image: w, command: [t], gpusPerNode: 2}",
     "spec.gpusPerNode:"},
    {"ProcsPerNode", "{image: w, command: [t], procsPerNode: 2}", "{image: w, command: [t], procsPerNode: 4}",
     "spec.procsPerNode:"},
    {"ProcsPerNodeAddedLater", "{image: w, command: [t]}", "{image: w, command: [t], procsPerNode: 2}", "spec.procsPerNode:"},
};

class RejectsChangeOf : public ::testing::TestWithParam<ImmutableCase> {};

TEST_P(RejectsChangeOf, ImmutableField) {
  const ImmutableCase& c = GetParam();
  std::string name = "immutable-" + std::string(c.name);
  for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto created = cp().kubectl(
      {"apply", "-n", kNamespace, "-f", write_manifest(name, job_manifest(name, c.original))});
  ASSERT_TRUE(created.status.success()) << created.output;
  auto changed = cp().kubectl({"apply", "-n", kNamespace, "-f",
                               write_manifest(name + "-changed", job_manifest(name, c.changed))});
  EXPECT_FALSE(changed.status.success()) << changed.output;
  EXPECT_NE(changed.output.find(c.field), std::string::npos) << changed.output;
  EXPECT_NE(changed.output.find("field is immutable"), std::string::npos) << changed.output;
}

INSTANTIATE_TEST_SUITE_P(Table, RejectsChangeOf, ::testing::ValuesIn(kImmutable),
                         [](const ::testing::TestParamInfo<ImmutableCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(CrdUpdate, AcceptsAChangeOfAMutableField) {
  const std::string name = "mutable";
  auto created = cp().kubectl({"apply", "-n", kNamespace, "-f",
                               write_manifest(name, job_manifest(name, "{image: w, command: [t], nodes: 2}"))});
  ASSERT_TRUE(created.status.success()) << created.output;
  auto changed = cp().kubectl(
      {"apply", "-n", kNamespace, "-f",
       write_manifest(name + "-changed",
                      job_manifest(name, "{image: w, command: [t], nodes: 2, runPolicy: {suspend: true}}"))});
  ASSERT_TRUE(changed.status.success()) << changed.output;
  auto got = cp().kubectl(
      {"get", "aj", name, "-n", kNamespace, "-o", "jsonpath={.spec.runPolicy.suspend}"});
  EXPECT_EQ(got.output, "true");
}

// ---------------------------------------------------------------------------------------------
// What kubectl shows.

TEST(CrdKubectl, ExplainPrintsTheRunPolicyDescriptions) {
  std::string out;
  // The apiserver publishes a new CRD's OpenAPI a little after it is Established.
  const bool ok = eventually([&] {
    auto r = cp().kubectl({"explain", "acceljob.spec.runPolicy"});
    out = r.output;
    return r.status.success() && out.find("maxRestarts") != std::string::npos;
  });
  ASSERT_TRUE(ok) << out;
  EXPECT_NE(out.find("Restarts, deadlines and clean-up."), std::string::npos) << out;
  EXPECT_NE(out.find("Gang restarts before the job fails."), std::string::npos) << out;
  EXPECT_NE(out.find("restartPolicy"), std::string::npos) << out;
  EXPECT_NE(out.find("cleanPodPolicy"), std::string::npos) << out;
}

TEST(CrdKubectl, GetShowsThePrinterColumnsIncludingStatus) {
  const std::string ns = "crd-columns";
  ASSERT_TRUE(cp().kubectl({"create", "namespace", ns}).status.success());
  auto created = cp().kubectl(
      {"apply", "-n", ns, "-f",
       write_manifest("columns", job_manifest("columns", "{image: w, command: [t], nodes: 3, gpusPerNode: 2}"))});
  ASSERT_TRUE(created.status.success()) << created.output;
  // Status is written through the status subresource, as the operator does.
  auto patched =
      cp().kubectl({"patch", "aj", "columns", "-n", ns, "--subresource=status", "--type=merge",
                    "-p", R"({"status":{"phase":"Running","restarts":1,"disruptions":4,"progress":{"step":42}}})"});
  ASSERT_TRUE(patched.status.success()) << patched.output;

  auto r = cp().kubectl({"get", "aj", "-n", ns});
  ASSERT_TRUE(r.status.success()) << r.output;
  std::istringstream lines(r.output);
  std::string header, row;
  std::getline(lines, header);
  std::getline(lines, row);
  std::vector<std::string> h, v;
  for (std::istringstream s(header); s >> header;) h.push_back(header);
  for (std::istringstream s(row); s >> row;) v.push_back(row);
  const std::vector<std::string> want_header = {"NAME",     "PHASE",       "NODES", "GPUS/NODE", "PRECISION",
                                                "RESTARTS", "DISRUPTIONS", "STEP",  "AGE"};
  EXPECT_EQ(h, want_header) << r.output;
  ASSERT_EQ(v.size(), want_header.size()) << r.output;
  EXPECT_EQ(v[0], "columns");
  EXPECT_EQ(v[1], "Running");
  EXPECT_EQ(v[2], "3");
  EXPECT_EQ(v[3], "2");
  EXPECT_EQ(v[4], "bf16");
  EXPECT_EQ(v[5], "1");
  EXPECT_EQ(v[6], "4");
  EXPECT_EQ(v[7], "42");

  // The `accel` category lists AccelJobs too.
  auto cat = cp().kubectl({"get", "accel", "-n", ns, "-o", "name"});
  EXPECT_EQ(cat.output, "acceljob.accel.dev/columns\n") << cat.output;
}

TEST(CrdKubectl, StatusSubresourceIgnoresStatusWrittenThroughTheMainResource) {
  const std::string name = "status-split";
  auto created = cp().kubectl(
      {"apply", "-n", kNamespace, "-f", write_manifest(name, job_manifest(name, "{image: w, command: [t]}"))});
  ASSERT_TRUE(created.status.success()) << created.output;
  auto patched = cp().kubectl({"patch", "aj", name, "-n", kNamespace, "--type=merge", "-p",
                               R"({"status":{"phase":"Succeeded"}})"});
  ASSERT_TRUE(patched.status.success()) << patched.output;
  auto got = cp().kubectl({"get", "aj", name, "-n", kNamespace, "-o", "jsonpath={.status.phase}"});
  EXPECT_EQ(got.output, "");
}

}  // namespace
}  // namespace accel::testing

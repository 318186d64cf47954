// YAML <-> JSON: what the user wrote survives parse -> JSON -> parse, and status survives the
// status subresource's JSON.
#include <algorithm>
#include <iterator>
#include <set>

#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"
#include "test_jobs.h"

namespace accel::api {
namespace {

// Every spec field, written as to_json writes it (so the JSON forms can be compared whole).
const char* kFullJob = R"(apiVersion: accel.dev/v1alpha1
kind: AccelJob
metadata:
  name: full
  namespace: team-a
  labels: {team: a}
  annotations: {note: "x"}
spec:
  image: accel-worker:cuda
  command: [accel-train-gpt, --config, cfg.yaml]
  args: ["--steps", "100"]
  env:
    - name: HF_HOME
      value: /cache
    - name: WANDB_API_KEY
      valueFrom:
        secretKeyRef: {name: wandb, key: api-key}
  workingDir: /workspace
  nodes: 4
  gpusPerNode: 8
  procsPerNode: 8
  resources:
    requests: {cpu: "32", memory: 256Gi}
    limits: {nvidia.com/gpu: "8"}
  precision: fp16
  gradientAccumulationSteps: 4
  trackers:
    - type: wandb
      settings: {project: gpt, entity: lab}
      secretRef: {name: wandb, key: api-key}
    - type: mlflow
      settings: {tracking_uri: "http://mlflow:5000"}
  logging: {projectDir: /workspace/gpt, loggingDir: /workspace/gpt/logs, runNamePrefix: exp1}
  processGroup: {backend: nccl, timeoutSeconds: 600, rendezvousTimeoutSeconds: 120}
  ddp: {bucketCapMB: 50, gradientAsBucketView: true, staticGraph: true, findUnusedParameters: false}
  checkpoint: {dir: /ckpt, everySteps: 100, keep: 5, volume: ckpt}
  metrics: {port: 9500}
  runPolicy:
    restartPolicy: ExitCode
    maxRestarts: 5
    backoff: {initialSeconds: 5, maxSeconds: 60, factor: 1.5}
    activeDeadlineSeconds: 86400
    startupTimeoutSeconds: 900
    stallTimeoutSeconds: 1200
    ttlSecondsAfterFinished: 3600
    cleanPodPolicy: All
    suspend: false
  template:
    nodeSelector: {gpu: h100}
    tolerations: [{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}]
    volumes: [{name: ckpt, persistentVolumeClaim: {claimName: ckpt}}]
    volumeMounts: [{name: ckpt, mountPath: /ckpt}]
    serviceAccountName: trainer
    priorityClassName: high
    terminationGracePeriodSeconds: 600
    securityContext:
      runAsNonRoot: true
      runAsUser: 1000
      runAsGroup: 1000
      fsGroup: 2000
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      seccompProfile: RuntimeDefault
      capabilities: {add: [IPC_LOCK], drop: [ALL]}
)";

// The JSON paths a value writes: objects are walked into, lists of objects as "<path>[]";
// maps and string lists are leaves (their keys are the user's, not the schema's); of a raw
// list's items only the keys the table names are paths.
void collect_paths(const nlohmann::json& j, const std::string& path, std::set<std::string>& out) {
  out.insert(path);
  const FieldSpec* f = find_field(path);
  if (f && f->type == FieldType::RawObjectList) {
    for (const auto& item : j)
      for (const auto& [k, v] : item.items())
        if (find_field(path + "[]." + k)) out.insert(path + "[]." + k);
    return;
  }
  if (f && f->type != FieldType::Object && f->type != FieldType::ObjectList) return;
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) collect_paths(v, path + "." + k, out);
  } else if (j.is_array()) {
    for (const auto& item : j)
      if (item.is_object())
        for (const auto& [k, v] : item.items()) collect_paths(v, path + "[]." + k, out);
  }
}

// A job with every field of the table set, written and read back: the codec's visit functions
// and the field table must name the same paths, or a field exists in one and not the other.
TEST(RoundTrip, TheCodecAndTheFieldTableNameTheSamePaths) {
  AccelJob job = parse_acceljob_yaml(kFullJob);
  AccelJobStatus& s = job.status;
  s.phase = JobPhase::Succeeded;
  s.conditions.push_back({"Succeeded", "True", "Completed", "done", "2025-01-02T04:00:00Z"});
  s.restarts = 1;
  s.attempt = 1;
  s.lastFailure = FailureInfo{"full-node-1", 3, 80, "CollectiveTimeout"};
  s.startTime = "2025-01-02T03:00:00Z";
  s.completionTime = "2025-01-02T04:00:00Z";
  s.observedGeneration = 2;
  s.progress = Progress{1000, 1000, 512.5, 0.0, "2025-01-02T03:59:00Z"};
  s.progress->loss = 2.5;
  s.progress->activity = "training";
  nlohmann::json j = job;

  std::set<std::string> written;
  for (const char* root : {"spec", "status"}) collect_paths(j.at(root), root, written);
  std::set<std::string> table;
  for (const FieldSpec& f : acceljob_fields()) table.insert(f.path);

  std::vector<std::string> only_written, only_table;
  std::set_difference(written.begin(), written.end(), table.begin(), table.end(),
                      std::back_inserter(only_written));
  std::set_difference(table.begin(), table.end(), written.begin(), written.end(),
                      std::back_inserter(only_table));
  EXPECT_TRUE(only_written.empty()) << "written but not in the field table: "
                                    << ::testing::PrintToString(only_written);
  EXPECT_TRUE(only_table.empty()) << "in the field table but not written (extend kFullJob or "
                                     "the visit function): "
                                  << ::testing::PrintToString(only_table);
  // And reading it back keeps every one of them.
  EXPECT_EQ(nlohmann::json(nlohmann::json::parse(j.dump()).get<AccelJob>()), j);
}

TEST(RoundTrip, JsonOfAParsedSpecIsWhatTheYamlSaid) {
  AccelJob job = parse_acceljob_yaml(kFullJob);
  nlohmann::json from_yaml = yaml_to_json(YAML::Load(kFullJob));
  nlohmann::json written = job;
  EXPECT_EQ(written, from_yaml) << nlohmann::json::diff(from_yaml, written).dump(2);
}

TEST(RoundTrip, YamlToJsonToStructIsLossless) {
  AccelJob job = parse_acceljob_yaml(kFullJob);
  std::string text = nlohmann::json(job).dump();
  AccelJob again = nlohmann::json::parse(text).get<AccelJob>();
  EXPECT_EQ(nlohmann::json(again), nlohmann::json(job));
  EXPECT_EQ(again.spec.env[1].valueFrom->secretKeyRef->key, "api-key");
  EXPECT_EQ(again.spec.runPolicy.backoff.factor, 1.5);
  EXPECT_EQ(again.spec.template_.volumes[0]["persistentVolumeClaim"]["claimName"], "ckpt");
  EXPECT_EQ(again.metadata.namespace_, "team-a");
}

TEST(RoundTrip, FullJobValidatesClean) {
  AccelJob job = parse_acceljob_yaml(kFullJob);
  auto errors = validate(job);
  EXPECT_TRUE(errors.empty()) << errors.front().to_string();
}

TEST(RoundTrip, StatusSurvivesJson) {
  AccelJobStatus s;
  s.phase = JobPhase::Restarting;
  s.conditions.push_back({"Restarting", "True", "CollectiveTimeout", "rank 3 exited 80", "2025-01-02T03:04:05Z"});
  s.restarts = 2;
  s.attempt = 2;
  s.lastFailure = FailureInfo{"gpt-node-1", 3, 80, "CollectiveTimeout"};
  s.startTime = "2025-01-02T03:00:00Z";
  s.observedGeneration = 7;
  s.progress = Progress{120, 1000, 512.5, 3600.0, "2025-01-02T03:04:00Z"};
  nlohmann::json j = s;
  AccelJobStatus back = nlohmann::json::parse(j.dump()).get<AccelJobStatus>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.lastFailure->exitCode, 80);
  EXPECT_EQ(back.progress->samplesPerSecond, 512.5);
  EXPECT_EQ(j["phase"], "Restarting");
}

TEST(RoundTrip, MetadataFromTheApiServer) {
  nlohmann::json j = nlohmann::json::parse(R"({"apiVersion":"accel.dev/v1alpha1","kind":"AccelJob",
    "metadata":{"name":"g","namespace":"d","uid":"u-1","generation":3,"resourceVersion":"42",
      "creationTimestamp":"2025-01-01T00:00:00Z","deletionTimestamp":"2025-01-02T00:00:00Z",
      "labels":{"a":"b"},"annotations":{"c":"d"}},
    "spec":{"image":"i"}})");
  AccelJob job = j.get<AccelJob>();
  EXPECT_EQ(job.metadata.uid, "u-1");
  EXPECT_EQ(job.metadata.resourceVersion, "42");
  EXPECT_EQ(job.metadata.deletionTimestamp, "2025-01-02T00:00:00Z");
  EXPECT_EQ(nlohmann::json(job), j);
}

}  // namespace
}  // namespace accel::api

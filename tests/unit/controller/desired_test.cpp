// desired(): the Service and Pods of one attempt — golden cases and one test per promise.
#include <gtest/gtest.h>

#include "accel/controller/desired.h"
#include "fixtures.h"

namespace accel::op {
namespace {

using nlohmann::json;
using testing::cpu_job;
using testing::gpu_job;

const json& container(const json& pod) { return pod["spec"]["containers"][0]; }

std::map<std::string, json> env_map(const json& pod) {
  std::map<std::string, json> out;
  for (const auto& e : container(pod)["env"]) out[e["name"]] = e;
  return out;
}

std::string env_value(const json& pod, const std::string& name) {
  auto env = env_map(pod);
  auto it = env.find(name);
  return it == env.end() ? "<absent>" : it->second.value("value", "<valueFrom>");
}

TEST(DesiredPod, TwoNodeCpuJobNodeOneGolden) {
  const json want = json::parse(R"json({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {
      "name": "gpt-tiny-a2-n1", "namespace": "research",
      "labels": {"accel.dev/attempt": "2", "accel.dev/job-name": "gpt-tiny",
                 "accel.dev/job-uid": "6f1c2f0e-0000-4000-8000-000000000001", "accel.dev/node-rank": "1"},
      "annotations": {"prometheus.io/path": "/metrics", "prometheus.io/port": "9400", "prometheus.io/scrape": "true"},
      "ownerReferences": [{"apiVersion": "accel.dev/v1alpha1", "kind": "AccelJob", "name": "gpt-tiny",
                           "uid": "6f1c2f0e-0000-4000-8000-000000000001", "controller": true,
                           "blockOwnerDeletion": true}]
    },
    "spec": {
      "hostname": "gpt-tiny-n1", "subdomain": "gpt-tiny", "restartPolicy": "Never",
      "enableServiceLinks": false, "terminationGracePeriodSeconds": 30,
      "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
      "volumes": [{"name": "accel-scratch", "emptyDir": {}}],
      "containers": [{
        "name": "worker", "image": "accel-worker:cpu",
        "command": ["accel", "launch", "--", "accel-train-gpt"],
        "ports": [{"name": "metrics", "containerPort": 9400, "protocol": "TCP"}],
        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": false,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "accel-scratch", "mountPath": "/tmp"}],
        "env": [
          {"name": "MASTER_ADDR", "value": "gpt-tiny-n0.gpt-tiny"},
          {"name": "MASTER_PORT", "value": "29500"},
          {"name": "NNODES", "value": "2"},
          {"name": "NODE_RANK", "value": "1"},
          {"name": "WORLD_SIZE", "value": "2"},
          {"name": "LOCAL_WORLD_SIZE", "value": "1"},
          {"name": "ACCEL_CONTRACT_VERSION", "value": "1"},
          {"name": "ACCEL_JOB_NAME", "value": "gpt-tiny"},
          {"name": "ACCEL_JOB_NAMESPACE", "value": "research"},
          {"name": "ACCEL_RESTART_COUNT", "value": "2"},
          {"name": "ACCEL_MIXED_PRECISION", "value": "bf16"},
          {"name": "ACCEL_GRADIENT_ACCUMULATION_STEPS", "value": "2"},
          {"name": "ACCEL_NUM_PROCESSES", "value": "1"},
          {"name": "ACCEL_NUM_MACHINES", "value": "2"},
          {"name": "ACCEL_MACHINE_RANK", "value": "1"},
          {"name": "ACCEL_MAIN_PROCESS_IP", "value": "gpt-tiny-n0.gpt-tiny"},
          {"name": "ACCEL_MAIN_PROCESS_PORT", "value": "29500"},
          {"name": "ACCEL_CPU", "value": "true"},
          {"name": "ACCEL_GPUS_PER_NODE", "value": "0"},
          {"name": "ACCEL_BACKEND", "value": "auto"},
          {"name": "ACCEL_PG_TIMEOUT_SECONDS", "value": "1800"},
          {"name": "ACCEL_RENDEZVOUS_TIMEOUT_SECONDS", "value": "300"},
          {"name": "ACCEL_DDP_BUCKET_CAP_MB", "value": "25"},
          {"name": "ACCEL_DDP_GRADIENT_AS_BUCKET_VIEW", "value": "false"},
          {"name": "ACCEL_DDP_STATIC_GRAPH", "value": "false"},
          {"name": "ACCEL_DDP_FIND_UNUSED_PARAMETERS", "value": "false"},
          {"name": "ACCEL_LOG_WITH", "value": "tensorboard,jsonl"},
          {"name": "ACCEL_PROJECT_DIR", "value": "/workspace"},
          {"name": "ACCEL_CHECKPOINT_DIR", "value": "/workspace/checkpoints"},
          {"name": "ACCEL_CHECKPOINT_EVERY_STEPS", "value": "20"},
          {"name": "ACCEL_CHECKPOINT_KEEP", "value": "3"},
          {"name": "ACCEL_METRICS_PORT", "value": "9400"},
          {"name": "ACCEL_TERMINATION_GRACE_SECONDS", "value": "30"},
          {"name": "ACCEL_METRICS_HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}
        ]
      }]
    }
  })json");
  const json got = desired_pod(cpu_job(), 2, 1, {});
  EXPECT_EQ(got, want) << got.dump(2);
}

TEST(DesiredService, HeadlessServiceGolden) {
  const json want = json::parse(R"json({
    "apiVersion": "v1", "kind": "Service",
    "metadata": {
      "name": "gpt-tiny", "namespace": "research",
      "labels": {"accel.dev/job-name": "gpt-tiny", "accel.dev/job-uid": "6f1c2f0e-0000-4000-8000-000000000001"},
      "ownerReferences": [{"apiVersion": "accel.dev/v1alpha1", "kind": "AccelJob", "name": "gpt-tiny",
                           "uid": "6f1c2f0e-0000-4000-8000-000000000001", "controller": true,
                           "blockOwnerDeletion": true}]
    },
    "spec": {
      "clusterIP": "None", "publishNotReadyAddresses": true,
      "selector": {"accel.dev/job-name": "gpt-tiny", "accel.dev/job-uid": "6f1c2f0e-0000-4000-8000-000000000001"},
      "ports": [{"name": "rendezvous", "port": 29500, "targetPort": 29500, "protocol": "TCP"},
                {"name": "metrics", "port": 9400, "targetPort": 9400, "protocol": "TCP"}]
    }
  })json");
  EXPECT_EQ(desired_service(cpu_job(), {}), want);
}

TEST(DesiredPod, OneGpuNodeWithEightGpusGetsGpuLimitsRequestsAndOneMetricsPortPerProcess) {
  const json pod = desired_pod(gpu_job(), 0, 0, {});
  const json& c = container(pod);
  EXPECT_EQ(c["resources"], json::parse(R"({"limits": {"nvidia.com/gpu": "8"},
                                            "requests": {"cpu": "32", "memory": "256Gi"}})"));
  ASSERT_EQ(c["ports"].size(), 9u);
  EXPECT_EQ(c["ports"][0],
            json::parse(R"({"name": "rendezvous", "containerPort": 29500, "protocol": "TCP"})"));
  EXPECT_EQ(c["ports"][1]["name"], "metrics");
  EXPECT_EQ(c["ports"][1]["containerPort"], 9400);
  EXPECT_EQ(c["ports"][8]["name"], "metrics-7");
  EXPECT_EQ(c["ports"][8]["containerPort"], 9407);
  EXPECT_EQ(
      pod["spec"]["tolerations"],
      json::parse(R"([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])"));
}

TEST(DesiredPod, GpuJobEnvContractSaysEightProcessesOnOneNodeWithNccl) {
  const json pod = desired_pod(gpu_job(), 0, 0, {});
  EXPECT_EQ(env_value(pod, "MASTER_ADDR"), "mlp-gpu-n0.mlp-gpu");
  EXPECT_EQ(env_value(pod, "NNODES"), "1");
  EXPECT_EQ(env_value(pod, "NODE_RANK"), "0");
  EXPECT_EQ(env_value(pod, "WORLD_SIZE"), "8");
  EXPECT_EQ(env_value(pod, "LOCAL_WORLD_SIZE"), "8");
  EXPECT_EQ(env_value(pod, "ACCEL_CPU"), "false");
  EXPECT_EQ(env_value(pod, "ACCEL_BACKEND"), "nccl");
  EXPECT_EQ(env_value(pod, "ACCEL_RESTART_COUNT"), "0");
  EXPECT_EQ(env_value(pod, "ACCEL_JOB_NAMESPACE"), "vision");
}

TEST(DesiredPod, LimitsFromSpecResourcesAreKeptAndGpuCountComesFromGpusPerNode) {
  api::AccelJob job = gpu_job();
  job.spec.resources.limits = {{"memory", "300Gi"}, {"nvidia.com/gpu", "2"}};
  const json res = container(desired_pod(job, 0, 0, {}))["resources"];
  EXPECT_EQ(res["limits"], json::parse(R"({"memory": "300Gi", "nvidia.com/gpu": "8"})"));
}

// An extended resource's request must equal its limit, or the API server rejects the pod.
TEST(DesiredPod, AGpuRequestTheUserWroteFollowsGpusPerNode) {
  api::AccelJob job = gpu_job();
  job.spec.resources.requests = {{"cpu", "16"}, {"nvidia.com/gpu", "1"}};
  const json res = container(desired_pod(job, 0, 0, {}))["resources"];
  EXPECT_EQ(res["requests"], json::parse(R"({"cpu": "16", "nvidia.com/gpu": "8"})"));
  EXPECT_EQ(res["limits"], json::parse(R"({"nvidia.com/gpu": "8"})"));
}

TEST(DesiredPod, CpuJobHasNoGpuResource) {
  EXPECT_FALSE(container(desired_pod(cpu_job(), 0, 0, {})).contains("resources"));
}

TEST(DesiredPod, NamesCarryAttemptAndNodeSoAGangNeverCollidesWithTheLast) {
  const auto objs = desired(cpu_job(), 3, {});
  ASSERT_EQ(objs.pods.size(), 2u);
  EXPECT_EQ(objs.pods[0]["metadata"]["name"], "gpt-tiny-a3-n0");
  EXPECT_EQ(objs.pods[1]["metadata"]["name"], "gpt-tiny-a3-n1");
  EXPECT_NE(desired_pod(cpu_job(), 4, 0, {})["metadata"]["name"], objs.pods[0]["metadata"]["name"]);
}

TEST(DesiredPod, HostnameAndSubdomainAreStableAcrossAttempts) {
  const json a = desired_pod(cpu_job(), 0, 1, {}), b = desired_pod(cpu_job(), 5, 1, {});
  EXPECT_EQ(a["spec"]["hostname"], "gpt-tiny-n1");
  EXPECT_EQ(a["spec"]["subdomain"], "gpt-tiny");
  EXPECT_EQ(b["spec"]["hostname"], a["spec"]["hostname"]);
  EXPECT_EQ(b["spec"]["subdomain"], a["spec"]["subdomain"]);
  // The Service that gives them DNS has the subdomain's name.
  EXPECT_EQ(desired_service(cpu_job(), {})["metadata"]["name"], "gpt-tiny");
}

TEST(DesiredPod, MasterAddrIsFullyQualifiedWhenAClusterDomainIsConfigured) {
  OperatorOptions o;
  o.cluster_domain = "cluster.local";
  EXPECT_EQ(env_value(desired_pod(cpu_job(), 0, 1, o), "MASTER_ADDR"),
            "gpt-tiny-n0.gpt-tiny.research.svc.cluster.local");
}

TEST(DesiredPod, LabelsIdentifyJobUidNodeAndAttempt) {
  const json labels = desired_pod(cpu_job(), 7, 1, {})["metadata"]["labels"];
  EXPECT_EQ(labels["accel.dev/job-name"], "gpt-tiny");
  EXPECT_EQ(labels["accel.dev/job-uid"], "6f1c2f0e-0000-4000-8000-000000000001");
  EXPECT_EQ(labels["accel.dev/node-rank"], "1");
  EXPECT_EQ(labels["accel.dev/attempt"], "7");
}

TEST(DesiredPod, ServiceSelectsEveryPodOfTheJob) {
  const json selector = desired_service(cpu_job(), {})["spec"]["selector"];
  const json labels = desired_pod(cpu_job(), 1, 1, {})["metadata"]["labels"];
  for (const auto& [k, v] : selector.items()) EXPECT_EQ(labels[k], v) << k;
  EXPECT_EQ(pod_selector(cpu_job()),
            "accel.dev/job-name=gpt-tiny,accel.dev/job-uid=6f1c2f0e-0000-4000-8000-000000000001");
}

TEST(DesiredPod, CommandRunsUserCommandAndArgsUnderAccelLaunch) {
  api::AccelJob job = cpu_job();
  job.spec.command = {"python", "-m", "train"};
  job.spec.args = {"--lr", "3e-4"};
  OperatorOptions o;
  o.entrypoint = "/usr/local/bin/accel";
  EXPECT_EQ(
      container(desired_pod(job, 0, 0, o))["command"],
      json::parse(
          R"(["/usr/local/bin/accel", "launch", "--", "python", "-m", "train", "--lr", "3e-4"])"));
}

TEST(DesiredPod, RendezvousPortIsDeclaredOnNodeZeroOnly) {
  auto names = [](const json& pod) {
    std::vector<std::string> out;
    for (const auto& p : container(pod)["ports"]) out.push_back(p["name"]);
    return out;
  };
  EXPECT_EQ(names(desired_pod(cpu_job(), 0, 0, {})),
            (std::vector<std::string>{"rendezvous", "metrics"}));
  EXPECT_EQ(names(desired_pod(cpu_job(), 0, 1, {})), (std::vector<std::string>{"metrics"}));
}

TEST(DesiredPod, SecretKeyRefEnvStaysAValueFromAndNoSecretReachesLabelsOrAnnotations) {
  api::AccelJob job = cpu_job();
  job.spec.env.push_back(
      {"HF_TOKEN", std::nullopt, api::EnvVarSource{api::SecretKeySelector{"hf", "token"}}});
  job.spec.env.push_back({"DATA_ROOT", std::string("/data"), std::nullopt});
  const json pod = desired_pod(job, 0, 0, {});
  auto env = env_map(pod);
  EXPECT_EQ(env["HF_TOKEN"], json::parse(R"({"name": "HF_TOKEN",
                                             "valueFrom": {"secretKeyRef": {"name": "hf", "key": "token"}}})"));
  EXPECT_EQ(env["DATA_ROOT"], json::parse(R"({"name": "DATA_ROOT", "value": "/data"})"));
  // User variables come after the contract, in the order written.
  const json& list = container(pod)["env"];
  EXPECT_EQ(list[list.size() - 2]["name"], "HF_TOKEN");
  EXPECT_EQ(list[list.size() - 1]["name"], "DATA_ROOT");
  const std::string meta = pod["metadata"].dump();
  EXPECT_EQ(meta.find("hf"), std::string::npos);
  EXPECT_EQ(meta.find("token"), std::string::npos);
}

TEST(DesiredPod, TrackerSecretRefBecomesTheTrackersOwnEnvVariable) {
  api::AccelJob job = cpu_job();
  api::Tracker wandb;
  wandb.type = api::TrackerType::WandB;
  wandb.secretRef = api::SecretKeySelector{"wandb", "api-key"};
  job.spec.trackers.push_back(wandb);
  auto env = env_map(desired_pod(job, 0, 0, {}));
  EXPECT_EQ(env["WANDB_API_KEY"], json::parse(R"({"name": "WANDB_API_KEY",
                                                  "valueFrom": {"secretKeyRef": {"name": "wandb", "key": "api-key"}}})"));
  EXPECT_EQ(tracker_secret_env_name(api::TrackerType::MLflow), "MLFLOW_TRACKING_TOKEN");
  EXPECT_EQ(tracker_secret_env_name(api::TrackerType::TensorBoard),
            "ACCEL_TRACKER_TENSORBOARD_SECRET");
}

TEST(DesiredPod, TrackerSecretIsLeftToSpecEnvWhenTheUserWiresTheSameVariable) {
  api::AccelJob job = cpu_job();
  api::Tracker wandb;
  wandb.type = api::TrackerType::WandB;
  wandb.secretRef = api::SecretKeySelector{"wandb", "api-key"};
  job.spec.trackers.push_back(wandb);
  job.spec.env.push_back(
      {"WANDB_API_KEY", std::nullopt, api::EnvVarSource{api::SecretKeySelector{"mine", "k"}}});
  int count = 0;
  const json pod = desired_pod(job, 0, 0, {});
  for (const auto& e : container(pod)["env"])
    if (e["name"] == "WANDB_API_KEY") {
      ++count;
      EXPECT_EQ(e["valueFrom"]["secretKeyRef"]["name"], "mine");
    }
  EXPECT_EQ(count, 1);
}

api::AccelJob with_volume(const std::string& mounts_json) {
  api::AccelJob job = cpu_job();
  job.spec.template_.volumes =
      json::parse(R"([{"name": "ckpt", "persistentVolumeClaim": {"claimName": "c"}}])");
  job.spec.template_.volumeMounts = json::parse(mounts_json);
  job.spec.checkpoint.volume = "ckpt";
  job.spec.checkpoint.dir = "/ckpt/run1";
  return job;
}

TEST(DesiredPod, CheckpointVolumeIsMountedAtCheckpointDir) {
  const json pod = desired_pod(with_volume("[]"), 0, 0, {});
  EXPECT_EQ(container(pod)["volumeMounts"],
            json::parse(R"([{"name": "accel-scratch", "mountPath": "/tmp"},
                            {"name": "ckpt", "mountPath": "/ckpt/run1"}])"));
  EXPECT_EQ(pod["spec"]["volumes"][0]["name"], "ckpt");
}

TEST(DesiredPod, CheckpointVolumeIsNotMountedTwiceWhenATemplateMountHoldsTheDir) {
  const json pod =
      desired_pod(with_volume(R"([{"name": "ckpt", "mountPath": "/ckpt/"}])"), 0, 0, {});
  EXPECT_EQ(container(pod)["volumeMounts"],
            json::parse(R"([{"name": "ckpt", "mountPath": "/ckpt/"},
                            {"name": "accel-scratch", "mountPath": "/tmp"}])"));
}

// ---- pod security (spec.template.securityContext) ----

api::AccelJob job_from(const std::string& template_yaml) {
  api::AccelJob job = api::parse_acceljob_yaml(
      "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata: {name: sec, namespace: ns, uid: u}\n"
      "spec:\n  image: img\n  command: [train]\n" + template_yaml);
  api::apply_defaults(job);
  return job;
}

TEST(DesiredPodSecurity, DefaultsMeetTheRestrictedPodSecurityStandard) {
  const json pod = desired_pod(job_from(""), 0, 0, {});
  EXPECT_EQ(pod["spec"]["securityContext"],
            json::parse(R"({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}})"));
  const json& c = container(pod)["securityContext"];
  EXPECT_EQ(c["allowPrivilegeEscalation"], false);
  EXPECT_EQ(c["capabilities"], json::parse(R"({"drop": ["ALL"]})"));
  // /workspace is the image's own filesystem here: it must stay writable.
  EXPECT_EQ(c["readOnlyRootFilesystem"], false);
}

TEST(DesiredPodSecurity, RootFilesystemIsReadOnlyWhenEveryDirectoryTheWorkerWritesIsAVolume) {
  const json pod = desired_pod(job_from(R"(  template:
    volumes: [{name: work, emptyDir: {}}]
    volumeMounts: [{name: work, mountPath: /workspace}]
)"), 0, 0, {});
  EXPECT_EQ(container(pod)["securityContext"]["readOnlyRootFilesystem"], true);
  // A loggingDir outside the volume needs the image's filesystem again.
  const json off = desired_pod(job_from(R"(  logging: {loggingDir: /var/log/run}
  template:
    volumes: [{name: work, emptyDir: {}}]
    volumeMounts: [{name: work, mountPath: /workspace}]
)"), 0, 0, {});
  EXPECT_EQ(container(off)["securityContext"]["readOnlyRootFilesystem"], false);
}

TEST(DesiredPodSecurity, EachFieldOptsOutOnItsOwn) {
  const json pod = desired_pod(job_from(R"(  template:
    securityContext:
      runAsNonRoot: false
      runAsUser: 0
      fsGroup: 2000
      allowPrivilegeEscalation: true
      readOnlyRootFilesystem: true
      seccompProfile: Unconfined
      capabilities: {add: [IPC_LOCK]}
)"), 0, 0, {});
  EXPECT_EQ(pod["spec"]["securityContext"],
            json::parse(R"({"runAsNonRoot": false, "runAsUser": 0, "fsGroup": 2000,
                            "seccompProfile": {"type": "Unconfined"}})"));
  EXPECT_EQ(container(pod)["securityContext"],
            json::parse(R"({"allowPrivilegeEscalation": true, "readOnlyRootFilesystem": true,
                            "capabilities": {"add": ["IPC_LOCK"], "drop": ["ALL"]}})"));
  // drop: [] keeps the container runtime's default capabilities.
  const json keep = desired_pod(job_from("  template:\n    securityContext: {capabilities: {drop: []}}\n"),
                                0, 0, {});
  EXPECT_FALSE(container(keep)["securityContext"].contains("capabilities"));
}

TEST(DesiredPodSecurity, AVolumeMountAtTmpReplacesTheScratchVolume) {
  const json pod = desired_pod(job_from(R"(  template:
    volumes: [{name: fast, emptyDir: {medium: Memory}}]
    volumeMounts: [{name: fast, mountPath: /tmp}]
)"), 0, 0, {});
  EXPECT_EQ(container(pod)["volumeMounts"], json::parse(R"([{"name": "fast", "mountPath": "/tmp"}])"));
  EXPECT_EQ(pod["spec"]["volumes"].size(), 1u);
}

TEST(DesiredPod, CheckpointVolumeMissingFromTemplateVolumesIsRejectedNamingTheField) {
  api::AccelJob job = with_volume("[]");
  job.spec.template_.volumes = json::array();
  try {
    desired_pod(job, 0, 0, {});
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("spec.checkpoint.volume"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'ckpt'"), std::string::npos) << e.what();
  }
}

TEST(DesiredPod, TemplateSchedulingFieldsAreCopied) {
  api::AccelJob job = cpu_job();
  job.spec.template_.nodeSelector = {{"pool", "train"}};
  job.spec.template_.serviceAccountName = "trainer";
  job.spec.template_.priorityClassName = "high";
  job.spec.workingDir = "/src";
  const json pod = desired_pod(job, 0, 0, {});
  EXPECT_EQ(pod["spec"]["nodeSelector"], json::parse(R"({"pool": "train"})"));
  EXPECT_EQ(pod["spec"]["serviceAccountName"], "trainer");
  EXPECT_EQ(pod["spec"]["priorityClassName"], "high");
  EXPECT_EQ(container(pod)["workingDir"], "/src");
}

TEST(DesiredPod, NoMetricsPortsOrAnnotationsWhenMetricsAreOff) {
  api::AccelJob job = cpu_job();
  job.spec.metrics.port = 0;
  const json pod = desired_pod(job, 0, 1, {});
  EXPECT_FALSE(pod["metadata"].contains("annotations"));
  EXPECT_FALSE(container(pod).contains("ports"));
  EXPECT_EQ(desired_service(job, {})["spec"]["ports"].size(), 1u);
}

TEST(DesiredPod, MetricsServerBindsThePodIpOnEveryNode) {
  for (int node : {0, 1}) {
    const json pod = desired_pod(cpu_job(), 0, node, {});
    EXPECT_EQ(env_map(pod)["ACCEL_METRICS_HOST"],
              json::parse(R"({"name": "ACCEL_METRICS_HOST",
                              "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}})"))
        << "node " << node;
  }
}

TEST(DesiredPod, PrometheusAnnotationsCanBeTurnedOff) {
  OperatorOptions o;
  o.prometheus_annotations = false;
  EXPECT_FALSE(desired_pod(cpu_job(), 0, 0, o)["metadata"].contains("annotations"));
}

TEST(DesiredPod, MetricsPortsThatIncludeTheRendezvousPortAreRejected) {
  api::AccelJob job = gpu_job();
  job.spec.metrics.port = 29495;  // 29495..29502 per process
  EXPECT_THROW(desired_pod(job, 0, 0, {}), std::invalid_argument);
  EXPECT_THROW(desired_service(job, {}), std::invalid_argument);
}

TEST(DesiredPod, AJobWithoutUidCannotOwnPods) {
  api::AccelJob job = cpu_job();
  job.metadata.uid.clear();
  EXPECT_THROW(desired(job, 0, {}), std::invalid_argument);
}

TEST(Desired, SameInputGivesIdenticalOutput) {
  const auto a = desired(gpu_job(), 1, {}), b = desired(gpu_job(), 1, {});
  EXPECT_EQ(a.service.dump(), b.service.dump());
  ASSERT_EQ(a.pods.size(), 1u);
  EXPECT_EQ(a.pods[0].dump(), b.pods[0].dump());
}

TEST(Desired, OnePodPerNodeInNodeOrder) {
  api::AccelJob job = cpu_job();
  job.spec.nodes = 4;
  const auto objs = desired(job, 0, {});
  ASSERT_EQ(objs.pods.size(), 4u);
  for (int n = 0; n < 4; ++n)
    EXPECT_EQ(objs.pods[n]["metadata"]["labels"]["accel.dev/node-rank"], std::to_string(n));
}

}  // namespace
}  // namespace accel::op

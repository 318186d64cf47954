// The records the operator's caches keep (records.h): read from real-shaped API objects, they
// hold what the reconciler reads and nothing that it does not.
#include <gtest/gtest.h>

#include "accel/controller/naming.h"
#include "accel/manager/records.h"

namespace accel::op {
namespace {

using nlohmann::json;

json pod_json() {
  return json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "train-a1-n0", "namespace": "team", "uid": "p-1", "resourceVersion": "42",
      "creationTimestamp": "2026-12-02T08:00:00Z",
      "labels": {"accel.dev/job-name": "train", "accel.dev/job-uid": "j-1",
                 "accel.dev/attempt": "1", "accel.dev/node-rank": "0", "team": "vision"},
      "annotations": {"big": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
      "managedFields": [{"manager": "kubelet"}]},
    "spec": {"containers": [{"name": "worker", "image": "accel:dev", "command": ["accel"]}],
             "schedulingGates": [{"name": "kueue.x-k8s.io/admission"}]},
    "status": {"phase": "Failed", "podIP": "10.1.2.3",
      "conditions": [
        {"type": "PodScheduled", "status": "True"},
        {"type": "Ready", "status": "False", "reason": "PodFailed"},
        {"type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
         "message": "Eviction API: evicting"},
        {"type": "ContainersReady", "status": "False"}],
      "containerStatuses": [{"name": "worker", "state": {"terminated": {"exitCode": 137,
        "reason": "OOMKilled", "finishedAt": "2026-12-02T08:05:00Z"}}}]}})");
}

TEST(PodRecord, KeepsWhatTheReconcilerReadsAndOnlyTheConditionsItReads) {
  auto r = kube::RecordTraits<PodRecord>::decode(pod_json());
  EXPECT_EQ(kube::RecordTraits<PodRecord>::key(*r), "team/train-a1-n0");
  EXPECT_EQ(kube::RecordTraits<PodRecord>::resource_version(*r), "42");
  EXPECT_EQ(kube::RecordTraits<PodRecord>::label(*r, kLabelJobName), "train");
  EXPECT_EQ(kube::RecordTraits<PodRecord>::label(*r, kLabelJobUid), "j-1");
  EXPECT_EQ(kube::RecordTraits<PodRecord>::label(*r, "team"), "");  // not kept
  EXPECT_EQ(r->pod_ip, "10.1.2.3");
  const ObservedPod& p = r->observed;
  EXPECT_EQ(p.name, "train-a1-n0");
  EXPECT_EQ(p.attempt, 1);
  EXPECT_EQ(p.node_rank, 0);
  EXPECT_EQ(p.phase, PodPhase::Failed);
  ASSERT_TRUE(p.terminated);
  EXPECT_EQ(p.terminated->exit_code, 137);
  EXPECT_EQ(p.terminated->reason, "OOMKilled");
  EXPECT_EQ(p.scheduling_gates, std::vector<std::string>{"kueue.x-k8s.io/admission"});
  ASSERT_EQ(p.conditions.size(), 2u);  // PodScheduled and DisruptionTarget; Ready etc. dropped
  ASSERT_NE(p.true_condition("DisruptionTarget"), nullptr);
  EXPECT_EQ(p.true_condition("DisruptionTarget")->reason, "EvictionByEvictionAPI");
  EXPECT_NE(p.true_condition("PodScheduled"), nullptr);
  EXPECT_EQ(p.true_condition("Ready"), nullptr);
}

TEST(PodRecord, TheSameAsTheReconcilersReadingOfTheWholePodForWhatItReads) {
  const json pod = pod_json();
  auto r = kube::RecordTraits<PodRecord>::decode(json(pod));
  const ObservedPod whole = observed_pod_from_json(pod);
  EXPECT_EQ(r->observed.name, whole.name);
  EXPECT_EQ(r->observed.phase, whole.phase);
  EXPECT_EQ(r->observed.created, whole.created);
  EXPECT_EQ(r->observed.deletion_timestamp, whole.deletion_timestamp);
  for (const char* type : kReconciledPodConditions) {
    const PodCondition* a = r->observed.true_condition(type);
    const PodCondition* b = whole.true_condition(type);
    ASSERT_EQ(a == nullptr, b == nullptr) << type;
    if (a) EXPECT_EQ(a->message, b->message) << type;
  }
}

TEST(ServiceRecord, KeepsNameNamespaceVersionAndTheJobLabels) {
  auto r = kube::RecordTraits<ServiceRecord>::decode(json::parse(R"({
    "metadata": {"name": "train", "namespace": "team", "resourceVersion": "7",
                 "labels": {"accel.dev/job-name": "train", "accel.dev/job-uid": "j-1"}},
    "spec": {"clusterIP": "None", "ports": [{"port": 29500}]}})"));
  EXPECT_EQ(kube::RecordTraits<ServiceRecord>::key(*r), "team/train");
  EXPECT_EQ(r->resource_version, "7");
  EXPECT_EQ(r->job_uid, "j-1");
}

TEST(JobRecord, ParsesTheJobOnceAndNamesItForEvents) {
  auto r = kube::RecordTraits<JobRecord>::decode(json::parse(R"({
    "metadata": {"name": "train", "namespace": "team", "uid": "j-1", "resourceVersion": "9",
                 "labels": {"kueue.x-k8s.io/queue-name": "main"},
                 "annotations": {"accel.dev/progress-url": "http://x/progress",
                   "kubectl.kubernetes.io/last-applied-configuration": "{\"spec\":{\"nodes\":2}}"}},
    "spec": {"nodes": 2, "command": ["python", "train.py"]},
    "status": {"phase": "Running", "attempt": 3}})"));
  ASSERT_TRUE(r->job) << r->error;
  EXPECT_EQ(r->job->spec.nodes, 2);
  EXPECT_EQ(r->job->status.attempt, 3);
  EXPECT_EQ(r->job->status.phase, api::JobPhase::Running);
  EXPECT_EQ(kube::RecordTraits<JobRecord>::label(*r, "kueue.x-k8s.io/queue-name"), "main");
  EXPECT_TRUE(r->has_status);
  // kubectl's copy of the whole spec is not kept; the annotations the operator reads are.
  EXPECT_EQ(r->job->metadata.annotations.count("kubectl.kubernetes.io/last-applied-configuration"), 0u);
  EXPECT_EQ(r->job->metadata.annotations.at("accel.dev/progress-url"), "http://x/progress");
  // A list's items carry no apiVersion/kind; the Events' involvedObject needs them.
  EXPECT_EQ(r->ref.api_version, "accel.dev/v1alpha1");
  EXPECT_EQ(r->ref.kind, "AccelJob");
  EXPECT_EQ(r->ref.uid, "j-1");
  EXPECT_EQ(kube::RecordTraits<JobRecord>::key(*r), "team/train");
}

TEST(JobRecord, AJobThatCannotBeReadIsKeptWithTheReason) {
  auto r = kube::RecordTraits<JobRecord>::decode(json::parse(R"({
    "apiVersion": "accel.dev/v1alpha1", "kind": "AccelJob",
    "metadata": {"name": "bad", "namespace": "team", "resourceVersion": "3"},
    "spec": {"nodes": "two"}})"));
  EXPECT_FALSE(r->job);
  EXPECT_FALSE(r->error.empty());
  EXPECT_FALSE(r->has_status);
  EXPECT_EQ(kube::RecordTraits<JobRecord>::key(*r), "team/bad");
  EXPECT_EQ(kube::RecordTraits<JobRecord>::resource_version(*r), "3");
}

}  // namespace
}  // namespace accel::op

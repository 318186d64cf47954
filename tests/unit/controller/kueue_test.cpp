// Kueue in the reconciler (operator/controller/KUEUE.md): a job that names a LocalQueue has its
// pods labelled as one plain-pod group per attempt; while Kueue's admission gate holds them the
// job is Queued (its start-up clock and activeDeadlineSeconds do not run), and Starting once
// admitted. The behaviour against a real Kueue is tested in
// tests/integration/operator/kueue_integration_test.cpp.
#include <gtest/gtest.h>

#include "accel/controller/conditions.h"
#include "accel/controller/desired.h"
#include "accel/controller/reconcile.h"
#include "fixtures.h"

namespace accel::op {
namespace {

using api::JobPhase;
using testing::pod;
using testing::t;
using P = PodPhase;
using Strings = std::vector<std::string>;

api::AccelJob queued_job() {
  api::AccelJob job = testing::cpu_job();
  job.metadata.labels["kueue.x-k8s.io/queue-name"] = "team-a";
  job.metadata.labels["kueue.x-k8s.io/priority-class"] = "high";
  job.spec.runPolicy.activeDeadlineSeconds = 100;
  return job;
}

ObservedPod gated(ObservedPod p) {
  p.scheduling_gates = {"kueue.x-k8s.io/admission"};
  return p;
}

ObservedState gang(std::int64_t attempt, bool is_gated) {
  ObservedState o;
  for (int n : {0, 1}) {
    ObservedPod p = pod(queued_job(), attempt, n, P::Pending);
    o.pods.push_back(is_gated ? gated(p) : p);
  }
  o.services = {"gpt-tiny"};
  return o;
}

// The job as written by reconciles at the given times: launched at t(0), then `worlds` in turn.
api::AccelJob after(std::vector<std::pair<Time, ObservedState>> worlds) {
  api::AccelJob job = queued_job();
  job.status = reconcile(job, {}, t(0)).status;
  for (const auto& [when, world] : worlds) job.status = reconcile(job, world, when).status;
  return job;
}

const api::Condition* queued(const api::AccelJobStatus& s) { return find_condition(s.conditions, kCondQueued); }

TEST(Kueue, PodsOfAQueuedJobFormOnePlainPodGroupPerAttempt) {
  const auto p = desired_pod(queued_job(), 2, 1, {});
  EXPECT_EQ(p["metadata"]["labels"]["kueue.x-k8s.io/queue-name"], "team-a");
  EXPECT_EQ(p["metadata"]["labels"]["kueue.x-k8s.io/pod-group-name"], "gpt-tiny-a2");
  EXPECT_EQ(p["metadata"]["labels"]["kueue.x-k8s.io/priority-class"], "high");
  EXPECT_EQ(p["metadata"]["annotations"]["kueue.x-k8s.io/pod-group-total-count"], "2");
  EXPECT_EQ(p["metadata"]["annotations"]["kueue.x-k8s.io/retriable-in-group"], "false");
  OperatorOptions off;
  off.kueue = false;
  EXPECT_FALSE(desired_pod(queued_job(), 2, 1, off)["metadata"]["labels"].contains("kueue.x-k8s.io/pod-group-name"))
      << "--kueue-integration=false ignores the label";
  const auto plain = desired_pod(testing::cpu_job(), 2, 1, {});
  EXPECT_FALSE(plain["metadata"]["labels"].contains("kueue.x-k8s.io/pod-group-name"));
  EXPECT_FALSE(plain["metadata"].contains("annotations") &&
               plain["metadata"]["annotations"].contains("kueue.x-k8s.io/pod-group-total-count"));
}

TEST(Kueue, AGatedGangIsQueuedNamingItsQueueAndSaysSoOnce) {
  api::AccelJob job = after({});
  const Decision d = reconcile(job, gang(0, true), t(5));
  EXPECT_EQ(d.status.phase, JobPhase::Queued);
  ASSERT_NE(queued(d.status), nullptr);
  EXPECT_EQ(queued(d.status)->status, "True");
  EXPECT_EQ(queued(d.status)->reason, "WaitingForQuota");
  EXPECT_NE(queued(d.status)->message.find("LocalQueue team-a"), std::string::npos);
  // (The deadline's wake-up was computed before the gate was seen; it finds nothing to do.)
  EXPECT_EQ(d.summary(), (Strings{"Event Normal Queued", "RequeueAfter 95s"}));
  EXPECT_TRUE(d.status.startTime.empty()) << "activeDeadlineSeconds does not run while queued";

  job.status = d.status;
  EXPECT_EQ(reconcile(job, gang(0, true), t(9)).summary(), Strings{});
}

TEST(Kueue, NeitherTheStartupClockNorTheDeadlineRunWhileQueued) {
  api::AccelJob job = after({{t(5), gang(0, true)}});
  // Past startupTimeoutSeconds (600) and activeDeadlineSeconds (100) since the pods' creation.
  const Decision d = reconcile(job, gang(0, true), t(5000));
  EXPECT_EQ(d.status.phase, JobPhase::Queued);
  EXPECT_EQ(d.status.restarts, 0);
  EXPECT_FALSE(d.requeue_after());
}

TEST(Kueue, AdmissionMakesTheJobStartingAndStartsItsClocksThen) {
  api::AccelJob job = after({{t(5), gang(0, true)}});
  const Decision d = reconcile(job, gang(0, false), t(1000));
  EXPECT_EQ(d.status.phase, JobPhase::Starting);
  EXPECT_EQ(queued(d.status)->status, "False");
  EXPECT_EQ(queued(d.status)->reason, "Admitted");
  EXPECT_EQ(d.status.startTime, format_rfc3339(t(1000)));
  EXPECT_EQ(d.summary(), (Strings{"Event Normal Admitted", "RequeueAfter 100s"}));

  job.status = d.status;
  const Decision late = reconcile(job, gang(0, false), t(1000 + 101));
  EXPECT_EQ(late.status.phase, JobPhase::Failed) << "the deadline counts from the admission";
}

TEST(Kueue, AJobThatIsNeverGatedIsNeverCalledQueued) {
  api::AccelJob job = after({});
  const Decision d = reconcile(job, gang(0, false), t(5));
  EXPECT_EQ(d.status.phase, JobPhase::Starting);
  EXPECT_EQ(queued(d.status), nullptr);
  for (const auto& line : d.summary()) EXPECT_NE(line, "Event Normal Admitted");
}

TEST(Kueue, APreemptedGangGoesBackToTheQueueAsItsNextAttempt) {
  api::AccelJob job = after({{t(5), gang(0, true)}, {t(10), gang(0, false)}});
  ObservedState running = gang(0, false);
  for (auto& p : running.pods) p.phase = P::Running;
  job.status = reconcile(job, running, t(20)).status;
  ASSERT_EQ(job.status.phase, JobPhase::Running);

  ObservedState preempted = running;
  for (auto& p : preempted.pods) {
    p.conditions.push_back({"TerminationTarget", "True", "WorkloadEvictedDueToPreempted",
                            "Preempted to accommodate a workload (UID: 1) due to prioritization"});
    p.deletion_timestamp = t(30);
  }
  job.status = reconcile(job, preempted, t(30)).status;
  EXPECT_EQ(job.status.phase, JobPhase::Restarting);
  EXPECT_EQ(job.status.disruptions, 1);
  EXPECT_EQ(job.status.restarts, 0) << "a preemption is not the job's failure";
  ASSERT_TRUE(job.status.lastFailure);
  EXPECT_EQ(job.status.lastFailure->reason, "WorkloadEvictedDueToPreempted");
  EXPECT_TRUE(job.status.lastFailure->disruption);

  job.status = reconcile(job, {}, t(31)).status;  // old pods gone: attempt 1 created
  const Decision d = reconcile(job, gang(1, true), t(32));
  EXPECT_EQ(d.status.phase, JobPhase::Queued);
  EXPECT_EQ(d.status.attempt, 1);
  EXPECT_NE(queued(d.status)->message.find("pod group gpt-tiny-a1"), std::string::npos);
}

}  // namespace
}  // namespace accel::op

// Gang scheduling in the reconciler (operator/controller/GANG.md): the PodGroup of each attempt
// and the GangScheduled condition, with Kubernetes' own gang scheduling (Native) and on a
// cluster that does not serve it (Unavailable). The behaviour against the real kube-scheduler
// is tested in tests/integration/operator/gang_scheduling_test.cpp.
#include <gtest/gtest.h>

#include "accel/controller/conditions.h"
#include "accel/controller/desired.h"
#include "accel/controller/reconcile.h"
#include "fixtures.h"

namespace accel::op {
namespace {

using api::JobPhase;
using testing::cpu_job;
using testing::exited;
using testing::pod;
using testing::t;
using P = PodPhase;
using Strings = std::vector<std::string>;

OperatorOptions native() {
  OperatorOptions o;
  o.gang = GangScheduling::Native;
  return o;
}

api::AccelJob job_in(JobPhase phase, std::int64_t attempt = 0) {
  api::AccelJob job = cpu_job();
  job.status.phase = phase;
  job.status.attempt = attempt;
  return job;
}

// A pod the scheduler could not place: PodScheduled False/Unschedulable with its message.
ObservedPod unschedulable(ObservedPod p, const std::string& message) {
  p.conditions.push_back({"PodScheduled", "False", "Unschedulable", message});
  return p;
}
ObservedPod scheduled(ObservedPod p) {
  p.conditions.push_back({"PodScheduled", "True", "", ""});
  return p;
}

const char* kGroupWaits =
    "pod group is unschedulable, waiting for minCount pods from a gang to be scheduled";
const char* kNoRoom = "0/2 nodes are available: 2 Insufficient nvidia.com/gpu.";

ObservedState waiting_gang(std::int64_t attempt) {
  ObservedState o;
  o.pods = {unschedulable(pod(cpu_job(), attempt, 0, P::Pending), kGroupWaits),
            unschedulable(pod(cpu_job(), attempt, 1, P::Pending), kNoRoom)};
  o.services = {"gpt-tiny"};
  return o;
}

// The status after launching attempt `attempt` natively at t(0).
api::AccelJob launched(std::int64_t attempt) {
  api::AccelJob job = job_in(attempt == 0 ? JobPhase::Pending : JobPhase::Restarting, attempt);
  job.status = reconcile(job, {}, t(0), native()).status;
  return job;
}

const api::Condition& gang_condition(const Decision& d) {
  static const api::Condition none{"<absent>", "", "", "", ""};
  const api::Condition* c = find_condition(d.status.conditions, kCondGangScheduled);
  return c ? *c : none;
}

TEST(Gang, NativeLaunchCreatesTheAttemptsPodGroupBeforeItsPods) {
  const Decision d = reconcile(job_in(JobPhase::Pending), {}, t(0), native());
  EXPECT_EQ(d.summary(), (Strings{"CreateService gpt-tiny", "CreatePodGroup gpt-tiny-a0",
                                  "CreatePod gpt-tiny-a0-n0", "CreatePod gpt-tiny-a0-n1",
                                  "Event Normal GangCreated", "RequeueAfter 600s"}));
  const auto& group = std::get<CreatePodGroup>(d.actions[1]).object;
  EXPECT_EQ(group["apiVersion"], "scheduling.k8s.io/v1alpha2");
  EXPECT_EQ(group["spec"]["schedulingPolicy"]["gang"]["minCount"], 2);
  EXPECT_EQ(group["metadata"]["ownerReferences"][0]["uid"], cpu_job().metadata.uid);
  EXPECT_EQ(group["metadata"]["labels"]["accel.dev/attempt"], "0");
  for (int i : {2, 3})
    EXPECT_EQ(std::get<CreatePod>(d.actions[i]).object["spec"]["schedulingGroup"]["podGroupName"],
              "gpt-tiny-a0");
  EXPECT_EQ(gang_condition(d).status, "False");
  EXPECT_EQ(gang_condition(d).reason, "WaitingForPlacement");
}

TEST(Gang, WithoutGangSchedulingPodsNameNoGroupAndThereIsNoCondition) {
  const Decision d = reconcile(job_in(JobPhase::Pending), {}, t(0));
  for (const auto& a : d.actions) {
    EXPECT_FALSE(std::holds_alternative<CreatePodGroup>(a));
    if (auto p = std::get_if<CreatePod>(&a)) {
      EXPECT_FALSE(p->object["spec"].contains("schedulingGroup"));
    }
  }
  EXPECT_EQ(gang_condition(d).type, "<absent>");
}

TEST(Gang, ARestartGetsAFreshGroupAndDeletesThePreviousOne) {
  const Decision d = reconcile(job_in(JobPhase::Restarting, 3), {}, t(100), native());
  EXPECT_EQ(d.summary(), (Strings{"CreateService gpt-tiny", "DeletePodGroup gpt-tiny-a2",
                                  "CreatePodGroup gpt-tiny-a3", "CreatePod gpt-tiny-a3-n0",
                                  "CreatePod gpt-tiny-a3-n1", "Event Normal GangCreated",
                                  "RequeueAfter 600s"}));
}

TEST(Gang, AnUnschedulableGangSaysWhyOnceWithTheSchedulersMessage) {
  const api::AccelJob job = launched(0);
  const Decision d = reconcile(job, waiting_gang(0), t(5), native());
  EXPECT_EQ(gang_condition(d).status, "False");
  EXPECT_EQ(gang_condition(d).reason, "Unschedulable");
  // The pod the scheduler tried names the missing resource; the group's own line does not.
  EXPECT_NE(gang_condition(d).message.find(kNoRoom), std::string::npos) << gang_condition(d).message;
  EXPECT_NE(gang_condition(d).message.find("PodGroup gpt-tiny-a0, minCount 2"), std::string::npos);
  EXPECT_EQ(d.summary(), Strings{"Event Warning GangUnschedulable"});

  api::AccelJob again = job;
  again.status = d.status;
  const Decision d2 = reconcile(again, waiting_gang(0), t(9), native());
  EXPECT_EQ(d2.summary(), Strings{}) << "the Event is not repeated while the gang keeps waiting";
}

// Before its first scheduling cycle every gang's pods say the group waits for its pods: that is
// not a lack of room, and no Warning is due.
TEST(Gang, AGroupWaitingForItsOwnPodsIsNotCalledUnschedulable) {
  const api::AccelJob job = launched(0);
  ObservedState o;
  o.pods = {unschedulable(pod(cpu_job(), 0, 0, P::Pending), kGroupWaits),
            unschedulable(pod(cpu_job(), 0, 1, P::Pending), kGroupWaits)};
  o.services = {"gpt-tiny"};
  const Decision d = reconcile(job, o, t(1), native());
  EXPECT_EQ(gang_condition(d).reason, "WaitingForPlacement");
  EXPECT_EQ(d.summary(), Strings{});
}

TEST(Gang, TheStartupClockDoesNotRunWhileTheGangWaitsForRoom) {
  api::AccelJob job = launched(0);
  job.status = reconcile(job, waiting_gang(0), t(5), native()).status;
  // Far past startupTimeoutSeconds (600) from the pods' creation at t(0): still waiting, no restart.
  const Decision d = reconcile(job, waiting_gang(0), t(5000), native());
  EXPECT_EQ(d.status.phase, JobPhase::Starting);
  EXPECT_EQ(d.status.restarts, 0);
  EXPECT_FALSE(d.requeue_after()) << "nothing to wake for: the scheduler's decisions wake the job";
}

TEST(Gang, APlacedGangIsSaidOnceAndItsStartupClockStartsThen) {
  api::AccelJob job = launched(0);
  job.status = reconcile(job, waiting_gang(0), t(5), native()).status;
  ObservedState placed;
  placed.pods = {scheduled(pod(cpu_job(), 0, 0, P::Pending)),
                 scheduled(pod(cpu_job(), 0, 1, P::Pending))};
  placed.services = {"gpt-tiny"};
  const Decision d = reconcile(job, placed, t(1000), native());
  EXPECT_EQ(gang_condition(d).status, "True");
  EXPECT_EQ(gang_condition(d).reason, "GangPlaced");
  EXPECT_EQ(d.summary(), (Strings{"Event Normal GangScheduled", "RequeueAfter 600s"}));

  job.status = d.status;
  const Decision late = reconcile(job, placed, t(1000 + 601), native());
  EXPECT_EQ(late.status.phase, JobPhase::Restarting) << "600 s after placement, not after creation";
  EXPECT_EQ(late.status.lastFailure->reason, "StartupTimeout");
}

TEST(Gang, MissingPodsOfAStartingGangComeBackWithTheirGroup) {
  api::AccelJob job = launched(0);
  ObservedState one;
  one.pods = {pod(cpu_job(), 0, 0, P::Pending)};
  one.services = {"gpt-tiny"};
  const Decision d = reconcile(job, one, t(5), native());
  EXPECT_EQ(d.summary(), (Strings{"CreatePodGroup gpt-tiny-a0", "CreatePod gpt-tiny-a0-n1"}));
}

TEST(Gang, AClusterWithoutTheApiSaysSoInAConditionAndNoEvent) {
  OperatorOptions o;
  o.gang = GangScheduling::Unavailable;
  api::AccelJob job = job_in(JobPhase::Pending);
  const Decision d = reconcile(job, {}, t(0), o);
  EXPECT_EQ(gang_condition(d).reason, "GangSchedulingUnavailable");
  EXPECT_NE(gang_condition(d).message.find("scheduling.k8s.io/v1alpha2"), std::string::npos);
  Strings expected{"CreateService gpt-tiny", "CreatePod gpt-tiny-a0-n0", "CreatePod gpt-tiny-a0-n1",
                   "Event Normal GangCreated", "RequeueAfter 600s"};
  EXPECT_EQ(d.summary(), expected);
  for (const auto& a : d.actions) {
    if (auto p = std::get_if<CreatePod>(&a)) {
      EXPECT_FALSE(p->object["spec"].contains("schedulingGroup"));
    }
  }

  // The next attempt is placed the same way, and says so the same way.
  api::AccelJob restarted = job_in(JobPhase::Restarting, 1);
  restarted.status.conditions = d.status.conditions;
  const Decision d2 = reconcile(restarted, {}, t(50), o);
  for (const auto& line : d2.summary()) EXPECT_NE(line, "Event Normal GangSchedulingUnavailable");
  EXPECT_EQ(gang_condition(d2).reason, "GangSchedulingUnavailable");
}

TEST(Gang, AFinishedGangKeepsItsGroupForTheGarbageCollector) {
  api::AccelJob job = launched(0);
  ObservedState done;
  done.pods = {exited(pod(cpu_job(), 0, 0, P::Running), 0, t(90)),
               exited(pod(cpu_job(), 0, 1, P::Running), 0, t(90))};
  done.services = {"gpt-tiny"};
  job.status.phase = JobPhase::Running;
  const Decision d = reconcile(job, done, t(95), native());
  EXPECT_EQ(d.status.phase, JobPhase::Succeeded);
  for (const auto& line : d.summary()) EXPECT_EQ(line.find("PodGroup"), std::string::npos) << line;
}

}  // namespace
}  // namespace accel::op

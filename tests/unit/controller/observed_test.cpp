// observed_pod_from_json / progress_from_json: what the reconciler reads from core/v1 Pods and
// the worker's /progress.
#include <gtest/gtest.h>

#include "accel/controller/observed.h"
#include "fixtures.h"

namespace accel::op {
namespace {

using nlohmann::json;
using testing::t;

TEST(ObservedPod, ReadsLabelsPhaseTimesExitCodeAndDisruption) {
  const json pod = json::parse(R"({
    "metadata": {"name": "gpt-tiny-a1-n0", "creationTimestamp": "2025-01-01T00:00:00Z",
                 "deletionTimestamp": "2025-01-01T00:01:00Z",
                 "labels": {"accel.dev/attempt": "1", "accel.dev/node-rank": "0"}},
    "status": {"phase": "Failed", "reason": "", "startTime": "2025-01-01T00:00:05Z",
               "conditions": [{"type": "Ready", "status": "False"},
                              {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                               "message": "preempted"}],
               "containerStatuses": [
                 {"name": "sidecar", "state": {"terminated": {"exitCode": 2}}},
                 {"name": "worker", "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                                              "finishedAt": "2025-01-01T00:00:50Z"}}}]}
  })");
  const ObservedPod p = observed_pod_from_json(pod);
  EXPECT_EQ(p.name, "gpt-tiny-a1-n0");
  EXPECT_EQ(p.attempt, 1);
  EXPECT_EQ(p.node_rank, 0);
  EXPECT_EQ(p.phase, PodPhase::Failed);
  EXPECT_EQ(p.created, t(0));
  EXPECT_EQ(p.deletion_timestamp, t(60));
  ASSERT_TRUE(p.terminated);
  EXPECT_EQ(p.terminated->exit_code, 137);
  EXPECT_EQ(p.terminated->reason, "OOMKilled");
  EXPECT_EQ(p.terminated->finished_at, t(50));
  ASSERT_NE(p.true_condition("DisruptionTarget"), nullptr);
  EXPECT_EQ(p.true_condition("DisruptionTarget")->reason, "PreemptionByScheduler");
  EXPECT_EQ(p.true_condition("Ready"), nullptr);
}

TEST(ObservedPod, NewPodWithoutStatusIsPendingAndBadLabelsReadAsUnknown) {
  const ObservedPod p = observed_pod_from_json(json::parse(
      R"({"metadata": {"name": "x", "labels": {"accel.dev/attempt": "one", "accel.dev/node-rank": "-1"}}})"));
  EXPECT_EQ(p.phase, PodPhase::Pending);
  EXPECT_EQ(p.attempt, -1);
  EXPECT_EQ(p.node_rank, -1);
  EXPECT_FALSE(p.terminating());
  EXPECT_FALSE(p.terminated);
}

TEST(ObservedPod, UnrecognisedPhaseIsUnknown) {
  EXPECT_EQ(parse_pod_phase("Lost"), PodPhase::Unknown);
  EXPECT_EQ(to_string(PodPhase::Succeeded), "Succeeded");
}

TEST(Progress, ReadsTheWorkersProgressDocumentWithUnixLastStepTime) {
  auto p =
      progress_from_json(json::parse(R"({"step": 120, "totalSteps": 1000, "samplesPerSecond": 842.5,
                                             "etaSeconds": 95.5, "lastStepSeconds": 0.11,
                                             "lastStepTime": 1735689610.7})"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->step, 120);
  EXPECT_EQ(p->totalSteps, 1000);
  EXPECT_DOUBLE_EQ(p->samplesPerSecond, 842.5);
  EXPECT_DOUBLE_EQ(p->etaSeconds, 95.5);
  EXPECT_EQ(p->lastStepTime, "2025-01-01T00:00:10Z");
}

TEST(Progress, DocumentWithoutStepIsNotProgress) {
  EXPECT_FALSE(progress_from_json(json::parse(R"({"totalSteps": 3})")));
  EXPECT_FALSE(progress_from_json(json::parse("[]")));
}

// A lastStepTime in seconds too large for int64 milliseconds is ignored, not converted
// (undefined behaviour; what fuzzing /progress would find).
TEST(Progress, IgnoresALastStepTimeBeyondYear9999) {
  auto p = progress_from_json(json::parse(R"({"step": 1, "lastStepTime": 1e300})"));
  ASSERT_TRUE(p);
  EXPECT_EQ(p->lastStepTime, "");
}

// A time point holds int64 nanoseconds: seconds past 2261 (here year 2836) would overflow them
// (undefined behaviour, found by fuzzing /progress); the last second of 2261 is still read.
TEST(Progress, IgnoresALastStepTimePastTheYear2261) {
  auto late = progress_from_json(json::parse(R"({"step": 1, "lastStepTime": 27357871602.5})"));
  ASSERT_TRUE(late);
  EXPECT_EQ(late->lastStepTime, "");
  auto last = progress_from_json(json::parse(R"({"step": 1, "lastStepTime": 9214646399})"));
  ASSERT_TRUE(last);
  EXPECT_EQ(last->lastStepTime.substr(0, 19), "2261-12-31T23:59:59");
}

}  // namespace
}  // namespace accel::op

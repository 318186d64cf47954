// reconcile(): the AccelJob state machine as a table of
//   (job state, observed pods, now) -> (actions, new phase, restarts, attempt, conditions,
//   lastFailure)
// followed by a few tests of single promises (progress, observedGeneration, determinism, a
// whole restart cycle driven step by step).
//
// Every case uses examples/gpt-2node-cpu.yaml (2 nodes, maxRestarts 3, backoff 10 s x2 up to
// 300 s, startupTimeoutSeconds 600, cleanPodPolicy Running) unless its `edit` changes the spec.
// Times are seconds after T0 = 2025-01-01T00:00:00Z.
#include <gtest/gtest.h>

#include <functional>

#include "accel/controller/conditions.h"
#include "accel/controller/desired.h"
#include "accel/controller/reconcile.h"
#include "fixtures.h"

namespace accel::op {
namespace {

using api::JobPhase;
using testing::cpu_job;
using testing::deleting;
using testing::exited;
using testing::pod;
using testing::t;
using P = PodPhase;

// ---- job states: the status a previous reconcile would have written ----

api::Condition cond(const char* type, bool status, const char* reason, Time since = t(0)) {
  return {type, status ? "True" : "False", reason, "", format_rfc3339(since)};
}

api::AccelJob job_in(JobPhase phase, std::int64_t attempt = 0, std::int64_t restarts = 0) {
  api::AccelJob job = cpu_job();
  auto& s = job.status;
  s.phase = phase;
  s.attempt = attempt;
  s.restarts = restarts;
  s.observedGeneration = 1;
  switch (phase) {
    case JobPhase::Pending:
      break;
    case JobPhase::Starting:
      s.conditions = {cond("Created", true, "GangCreated"), cond("Running", false, "PodsStarting")};
      break;
    case JobPhase::Queued:
      s.conditions = {cond("Created", true, "GangCreated"), cond("Queued", true, "WaitingForQuota")};
      break;
    case JobPhase::Running:
      s.conditions = {cond("Created", true, "GangCreated"),
                      cond("Running", true, "AllPodsRunning")};
      break;
    case JobPhase::Restarting:
      s.conditions = {cond("Created", true, "GangCreated"), cond("Running", false, "Restarting"),
                      cond("Restarting", true, "CollectiveTimeout")};
      break;
    case JobPhase::Suspended:
      s.conditions = {cond("Created", true, "GangCreated"), cond("Running", false, "Suspended"),
                      cond("Suspended", true, "JobSuspended")};
      break;
    case JobPhase::Succeeded:
      s.conditions = {cond("Created", true, "GangCreated"), cond("Running", false, "JobSucceeded"),
                      cond("Succeeded", true, "AllPodsSucceeded")};
      s.completionTime = format_rfc3339(t(0));
      break;
    case JobPhase::Failed:
      s.conditions = {cond("Created", true, "GangCreated"), cond("Running", false, "JobFailed"),
                      cond("Failed", true, "ConfigError")};
      s.completionTime = format_rfc3339(t(0));
      break;
  }
  if (phase != JobPhase::Pending && phase != JobPhase::Suspended)
    s.startTime = format_rfc3339(t(0));
  return job;
}

// Pods of the 2-node job; `a` is the attempt.
ObservedPod n0(std::int64_t a, P phase) { return pod(cpu_job(), a, 0, phase); }
ObservedPod n1(std::int64_t a, P phase) { return pod(cpu_job(), a, 1, phase); }
ObservedPod with_disruption(ObservedPod p, const char* reason) {
  p.conditions.push_back({"DisruptionTarget", "True", reason, "node drained"});
  return p;
}

using Edit = std::function<void(api::AccelJob&)>;

struct Case {
  std::string name;
  api::AccelJob job;
  std::vector<ObservedPod> pods;
  Time now;
  std::vector<std::string> actions;  // Decision::summary(), exactly
  JobPhase phase;
  std::int64_t restarts;
  std::int64_t attempt;
  std::vector<std::string> conditions = {};  // "Type=Status/Reason" that must be present
  std::string last_failure = "";             // "pod rank exitCode reason" when set
  bool no_service = false;                   // the headless Service does not exist
  std::optional<api::Progress> progress = std::nullopt;
  std::int64_t disruptions = 0;  // status.disruptions after the decision
};

// gtest prints a failing parameter with this instead of its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

api::AccelJob edited(api::AccelJob job, const Edit& edit) {
  edit(job);
  return job;
}

api::Progress step_at(Time last) {
  api::Progress p;
  p.step = 42;
  p.lastStepTime = format_rfc3339(last);
  return p;
}

std::vector<Case> cases() {
  // Each row: {name, job state, observed pods, now, actions, phase, restarts, attempt,
  //            [conditions], [lastFailure], [no Service], [rank 0 progress]}
  const std::vector<std::string> create_a0 = {"CreatePod gpt-tiny-a0-n0",
                                              "CreatePod gpt-tiny-a0-n1"};
  return {
      // ---- Pending -> Starting ----
      {"NewJobCreatesServiceAndTheWholeGangAtOnce",
       job_in(JobPhase::Pending),
       {},
       t(0),
       {"CreateService gpt-tiny", "CreatePod gpt-tiny-a0-n0", "CreatePod gpt-tiny-a0-n1",
        "Event Normal GangCreated", "RequeueAfter 600s"},
       JobPhase::Starting,
       0,
       0,
       {"Created=True/GangCreated", "Running=False/PodsStarting"},
       "",
       true},
      {"PendingJobFirstDeletesPodsOfAnOlderAttemptAndCreatesNothing",
       job_in(JobPhase::Pending, 1),
       {exited(n0(0, P::Failed), 143, t(0))},
       t(5),
       {"DeletePod gpt-tiny-a0-n0"},
       JobPhase::Pending,
       0,
       1},

      // ---- Starting ----
      {"StartingRecreatesAMissingPodOfTheGangAndWaitsForStartupTimeout",
       job_in(JobPhase::Starting),
       {n0(0, P::Pending)},
       t(10),
       {"CreatePod gpt-tiny-a0-n1", "RequeueAfter 590s"},
       JobPhase::Starting,
       0,
       0,
       {"Running=False/PodsStarting"}},
      {"AllPodsRunningMovesTheJobToRunning",
       job_in(JobPhase::Starting),
       {n0(0, P::Running), n1(0, P::Running)},
       t(30),
       {},  // no Event: one per gang (GangCreated); the Running condition says it
       JobPhase::Running,
       0,
       0,
       {"Running=True/AllPodsRunning"}},
      {"GangNotRunningWithinStartupTimeoutIsRestarted",
       job_in(JobPhase::Starting),
       {n0(0, P::Running), n1(0, P::Pending)},
       t(600),
       {"Event Warning Restarting", "DeleteAllPods grace 10s", "RequeueAfter 10s"},
       JobPhase::Restarting,
       1,
       1,
       {"Restarting=True/StartupTimeout", "Running=False/Restarting"},
       "gpt-tiny-a0-n1 1 -1 StartupTimeout"},
      {"NeverCreatesPodsWhileAPodOfAnOlderGangRemains",
       job_in(JobPhase::Starting, 1, 1),
       {deleting(n0(0, P::Running), t(0))},
       t(5),
       {"RequeueAfter 55s"},
       JobPhase::Starting,
       1,
       1},

      // ---- failures while Running ----
      {"ConfigErrorExitFailsTheJobAtOnceAndStopsThePeers",
       job_in(JobPhase::Running),
       {n0(0, P::Running), exited(n1(0, P::Running), 78, t(40))},
       t(41),
       {"Event Warning ConfigError", "DeletePod gpt-tiny-a0-n0"},
       JobPhase::Failed,
       0,
       0,
       {"Failed=True/ConfigError", "Running=False/JobFailed"},
       "gpt-tiny-a0-n1 1 78 ConfigError"},
      {"RetryableExitRestartsTheWholeGang",
       job_in(JobPhase::Running),
       {n0(0, P::Running), exited(n1(0, P::Running), 80, t(40))},
       t(41),
       {"Event Warning Restarting", "DeleteAllPods grace 10s", "RequeueAfter 10s"},
       JobPhase::Restarting,
       1,
       1,
       {"Restarting=True/CollectiveTimeout", "Running=False/Restarting"},
       "gpt-tiny-a0-n1 1 80 CollectiveTimeout"},
      {"OOMKilledPodIsRetriedAndTheReasonRecorded",
       job_in(JobPhase::Running),
       {exited(n0(0, P::Running), 137, t(40), "OOMKilled"), n1(0, P::Running)},
       t(41),
       {"Event Warning Restarting", "DeleteAllPods grace 10s", "RequeueAfter 10s"},
       JobPhase::Restarting,
       1,
       1,
       {"Restarting=True/OOMKilled"},
       "gpt-tiny-a0-n0 0 137 OOMKilled"},
      {"OOMKilledIsRetriedEvenWhenItsExitCodeAloneWouldBePermanent",
       edited(job_in(JobPhase::Running),
              [](auto& j) { j.spec.runPolicy.restartPolicy = api::RestartPolicy::ExitCode; }),
       {exited(n0(0, P::Running), 1, t(40), "OOMKilled"), n1(0, P::Running)},
       t(41),
       {"Event Warning Restarting", "DeleteAllPods grace 10s", "RequeueAfter 10s"},
       JobPhase::Restarting,
       1,
       1,
       {},
       "gpt-tiny-a0-n0 0 1 OOMKilled"},
      // Disruptions (DISRUPTIONS.md): a new attempt at once, no restart spent, no backoff, under
      // any restart policy.
      {"PodDisruptedByPreemptionStartsANewAttemptWithoutSpendingARestart",
       edited(job_in(JobPhase::Running),
              [](auto& j) { j.spec.runPolicy.restartPolicy = api::RestartPolicy::ExitCode; }),
       {n0(0, P::Running),
        with_disruption(exited(n1(0, P::Running), 1, t(40)), "PreemptionByScheduler")},
       t(41),
       {"Event Warning Disrupted", "DeleteAllPods"},
       JobPhase::Restarting,
       0,
       1,
       {"Restarting=True/PreemptionByScheduler"},
       "gpt-tiny-a0-n1 1 1 PreemptionByScheduler",
       false,
       std::nullopt,
       1},
      {"EvictedPodIsADisruption",
       job_in(JobPhase::Running),
       {n0(0, P::Running),
        [] {
          auto p = n1(0, P::Failed);
          p.reason = "Evicted";
          return p;
        }()},
       t(41),
       {"Event Warning Disrupted", "DeleteAllPods"},
       JobPhase::Restarting,
       0,
       1,
       {"Restarting=True/Evicted"},
       "gpt-tiny-a0-n1 1 -1 Evicted",
       false,
       std::nullopt,
       1},
      {"GangPodBeingDeletedByADrainIsADisruption",
       job_in(JobPhase::Running),
       {n0(0, P::Running),
        with_disruption(deleting(n1(0, P::Running), t(40)), "EvictionByEvictionAPI")},
       t(41),
       {"Event Warning Disrupted", "DeleteAllPods", "RequeueAfter 59s"},  // its force-delete timer
       JobPhase::Restarting,
       0,
       1,
       {"Restarting=True/EvictionByEvictionAPI"},
       "gpt-tiny-a0-n1 1 -1 EvictionByEvictionAPI",
       false,
       std::nullopt,
       1},
      {"GangPodThatVanishedWhileRunningIsADisruption",
       job_in(JobPhase::Running),
       {n0(0, P::Running)},
       t(41),
       {"Event Warning Disrupted", "DeleteAllPods"},
       JobPhase::Restarting,
       0,
       1,
       {"Restarting=True/PodDeleted"},
       "gpt-tiny-a0-n1 1 -1 PodDeleted",
       false,
       std::nullopt,
       1},
      {"AWorkerThatStoppedWithACheckpointIsADisruption",
       job_in(JobPhase::Running),
       {exited(n0(0, P::Running), 82, t(40)), n1(0, P::Running)},
       t(41),
       {"Event Warning Disrupted", "DeleteAllPods"},
       JobPhase::Restarting,
       0,
       1,
       {"Restarting=True/Preempted"},
       "gpt-tiny-a0-n0 0 82 Preempted",
       false,
       std::nullopt,
       1},
      {"ADisruptionRestartsEvenUnderRestartPolicyNeverAndWithNoRestartsLeft",
       edited(job_in(JobPhase::Running, 3, 3),
              [](auto& j) {
                j.spec.runPolicy.restartPolicy = api::RestartPolicy::Never;
                j.status.disruptions = 2;
              }),
       {n0(3, P::Running), deleting(n1(3, P::Running), t(40))},
       t(41),
       {"Event Warning Disrupted", "DeleteAllPods", "RequeueAfter 59s"},
       JobPhase::Restarting,
       3,
       4,
       {"Restarting=True/PodDeleted"},
       "gpt-tiny-a3-n1 1 -1 PodDeleted",
       false,
       std::nullopt,
       3},
      {"ADisruptionExplainsAnEarlierCollectiveFailureOfAPeer",
       job_in(JobPhase::Running),
       {exited(n0(0, P::Running), 80, t(38)), deleting(n1(0, P::Running), t(40))},
       t(41),
       {"Event Warning Disrupted", "DeleteAllPods", "RequeueAfter 59s"},
       JobPhase::Restarting,
       0,
       1,
       {"Restarting=True/PodDeleted"},
       "gpt-tiny-a0-n1 1 -1 PodDeleted",
       false,
       std::nullopt,
       1},
      {"ARealCrashIsNotHiddenByALaterDisruption",
       job_in(JobPhase::Running),
       {exited(n0(0, P::Running), 1, t(38)), deleting(n1(0, P::Running), t(40))},
       t(41),
       {"Event Warning Restarting", "DeleteAllPods grace 10s", "RequeueAfter 10s"},
       JobPhase::Restarting,
       1,
       1,
       {"Restarting=True/TrainingError"},
       "gpt-tiny-a0-n0 0 1 TrainingError"},
      {"RestartingAfterADisruptionLaunchesWithoutBackoff",
       edited(job_in(JobPhase::Restarting, 1, 0),
              [](auto& j) {
                j.status.disruptions = 1;
                j.status.lastFailure = api::FailureInfo{"gpt-tiny-a0-n1", 1, -1, "PodDeleted", true};
                j.status.conditions = {cond("Restarting", true, "PodDeleted", t(40))};
              }),
       {},
       t(41),
       {"CreatePod gpt-tiny-a1-n0", "CreatePod gpt-tiny-a1-n1", "Event Normal GangCreated",
        "RequeueAfter 600s"},
       JobPhase::Starting,
       0,
       1,
       {"Restarting=False/NewAttemptStarted"},
       "",
       false,
       std::nullopt,
       1},
      {"PermanentFailureWinsOverAnEarlierPeerKilledBySignal",
       job_in(JobPhase::Running),
       {exited(n0(0, P::Running), 143, t(38)), exited(n1(0, P::Running), 78, t(40))},
       t(41),
       {"Event Warning ConfigError"},
       JobPhase::Failed,
       0,
       0,
       {"Failed=True/ConfigError"},
       "gpt-tiny-a0-n1 1 78 ConfigError"},
      {"EarliestOfSeveralRetryableFailuresIsTheOneRecorded",
       job_in(JobPhase::Running),
       {exited(n0(0, P::Running), 143, t(47)), exited(n1(0, P::Running), 80, t(45))},
       t(48),
       {"Event Warning Restarting", "DeleteAllPods grace 10s", "RequeueAfter 10s"},
       JobPhase::Restarting,
       1,
       1,
       {},
       "gpt-tiny-a0-n1 1 80 CollectiveTimeout"},
      {"RestartPolicyNeverFailsOnAnyFailure",
       edited(job_in(JobPhase::Running),
              [](auto& j) { j.spec.runPolicy.restartPolicy = api::RestartPolicy::Never; }),
       {n0(0, P::Running), exited(n1(0, P::Running), 80, t(40))},
       t(41),
       {"Event Warning CollectiveTimeout", "DeletePod gpt-tiny-a0-n0"},
       JobPhase::Failed,
       0,
       0,
       {"Failed=True/CollectiveTimeout"}},
      {"RetryableFailureAfterMaxRestartsFailsTheJob",
       job_in(JobPhase::Running, 3, 3),
       {n0(3, P::Running), exited(n1(3, P::Running), 80, t(40))},
       t(41),
       {"Event Warning MaxRestartsExceeded", "DeletePod gpt-tiny-a3-n0"},
       JobPhase::Failed,
       3,
       3,
       {"Failed=True/MaxRestartsExceeded"},
       "gpt-tiny-a3-n1 1 80 CollectiveTimeout"},
      {"MaxRestartsZeroFailsOnTheFirstRetryableFailure",
       edited(job_in(JobPhase::Running), [](auto& j) { j.spec.runPolicy.maxRestarts = 0; }),
       {n0(0, P::Running), exited(n1(0, P::Running), 80, t(40))},
       t(41),
       {"Event Warning MaxRestartsExceeded", "DeletePod gpt-tiny-a0-n0"},
       JobPhase::Failed,
       0,
       0,
       {"Failed=True/MaxRestartsExceeded"}},
      {"OneRankFinishingEarlyKeepsTheJobRunning",
       job_in(JobPhase::Running),
       {exited(n0(0, P::Running), 0, t(40)), n1(0, P::Running)},
       t(41),
       {},
       JobPhase::Running,
       0,
       0},
      {"MissingServiceIsRecreated",
       job_in(JobPhase::Running),
       {n0(0, P::Running), n1(0, P::Running)},
       t(41),
       {"CreateService gpt-tiny"},
       JobPhase::Running,
       0,
       0,
       {},
       "",
       true},

      // ---- Restarting: never two gangs, then backoff, then the next attempt ----
      {"RestartingDeletesOldGangPodsThatAreNotYetTerminating",
       job_in(JobPhase::Restarting, 1, 1),
       {exited(n0(0, P::Running), 80, t(0)), deleting(n1(0, P::Running), t(0))},
       t(20),
       {"DeletePod gpt-tiny-a0-n0", "RequeueAfter 40s"},
       JobPhase::Restarting,
       1,
       1,
       {"Restarting=True/CollectiveTimeout"}},
      {"RestartingNeverCreatesTheNewGangWhileAnOldPodIsTerminating",
       job_in(JobPhase::Restarting, 1, 1),
       {deleting(n1(0, P::Running), t(1))},
       t(20),
       {"RequeueAfter 41s"},
       JobPhase::Restarting,
       1,
       1},
      {"RestartingWaitsOutTheBackoffOnceTheOldGangIsGone",
       job_in(JobPhase::Restarting, 1, 1),
       {},
       t(4),
       {"RequeueAfter 6s"},
       JobPhase::Restarting,
       1,
       1},
      {"RestartingLaunchesTheNextAttemptWhenTheBackoffHasPassed",
       job_in(JobPhase::Restarting, 1, 1),
       {},
       t(10),
       {"CreatePod gpt-tiny-a1-n0", "CreatePod gpt-tiny-a1-n1", "Event Normal GangCreated",
        "RequeueAfter 600s"},
       JobPhase::Starting,
       1,
       1,
       {"Restarting=False/NewAttemptStarted", "Running=False/PodsStarting"}},
      {"BackoffGrowsWithEachRestart",
       job_in(JobPhase::Restarting, 3, 3),
       {},
       t(30),
       {"RequeueAfter 10s"},
       JobPhase::Restarting,
       3,
       3},
      {"BackoffIsCappedAtMaxSeconds",
       edited(job_in(JobPhase::Restarting, 9, 9),
              [](auto& j) { j.spec.runPolicy.maxRestarts = 20; }),
       {},
       t(100),
       {"RequeueAfter 200s"},
       JobPhase::Restarting,
       9,
       9},
      {"StuckTerminatingPodIsForceDeleted",
       job_in(JobPhase::Restarting, 1, 1),
       {deleting(n0(0, P::Running), t(0))},
       t(60),
       {"DeletePod gpt-tiny-a0-n0 force", "Event Warning ForceDeletingPod"},
       JobPhase::Restarting,
       1,
       1},
      {"TerminatingPodWithinItsGracePeriodIsLeftAlone",
       job_in(JobPhase::Restarting, 1, 1),
       {deleting(n0(0, P::Running), t(0))},
       t(59),
       {"RequeueAfter 1s"},
       JobPhase::Restarting,
       1,
       1},

      // ---- hang detection ----
      {"RunningJobWhoseLastStepIsOlderThanTheStallTimeoutIsRestarted",
       edited(job_in(JobPhase::Running),
              [](auto& j) { j.spec.runPolicy.stallTimeoutSeconds = 120; }),
       {n0(0, P::Running), n1(0, P::Running)},
       t(150),
       {"Event Warning Restarting", "DeleteAllPods grace 10s", "RequeueAfter 10s"},
       JobPhase::Restarting,
       1,
       1,
       {"Restarting=True/Stalled"},
       "gpt-tiny-a0-n0 0 -1 Stalled",
       false,
       step_at(t(30))},
      {"TheStallClockDoesNotRunWhileTheWorkerReportsACheckpoint",
       edited(job_in(JobPhase::Running),
              [](auto& j) { j.spec.runPolicy.stallTimeoutSeconds = 120; }),
       {n0(0, P::Running), n1(0, P::Running)},
       t(150),
       {"RequeueAfter 120s"},
       JobPhase::Running,
       0,
       0,
       {},
       "",
       false,
       [] {
         auto p = step_at(t(30));
         p.activity = "checkpointing";
         return p;
       }()},
      {"RunningJobWithARecentStepRequeuesForTheStallDeadline",
       edited(job_in(JobPhase::Running),
              [](auto& j) { j.spec.runPolicy.stallTimeoutSeconds = 120; }),
       {n0(0, P::Running), n1(0, P::Running)},
       t(100),
       {"RequeueAfter 50s"},
       JobPhase::Running,
       0,
       0,
       {},
       "",
       false,
       step_at(t(30))},
      {"RunningJobThatNeverCompletedAStepWithinTheStallTimeoutIsRestarted",
       edited(job_in(JobPhase::Running),
              [](auto& j) { j.spec.runPolicy.stallTimeoutSeconds = 120; }),
       {n0(0, P::Running), n1(0, P::Running)},
       t(120),
       {"Event Warning Restarting", "DeleteAllPods grace 10s", "RequeueAfter 10s"},
       JobPhase::Restarting,
       1,
       1,
       {"Restarting=True/Stalled"}},
      {"StepFromAnEarlierAttemptDoesNotCountAsStalledForTheNewGang",
       edited(job_in(JobPhase::Running, 1, 1),
              [](auto& j) {
                j.spec.runPolicy.stallTimeoutSeconds = 120;
                j.status.conditions[1].lastTransitionTime = format_rfc3339(t(500));
              }),
       {n0(1, P::Running), n1(1, P::Running)},
       t(560),
       {"RequeueAfter 60s"},
       JobPhase::Running,
       1,
       1,
       {},
       "",
       false,
       step_at(t(30))},
      {"StallIsNotJudgedWithoutMetricsToReadProgressFrom",
       edited(job_in(JobPhase::Running),
              [](auto& j) {
                j.spec.runPolicy.stallTimeoutSeconds = 120;
                j.spec.metrics.port = 0;
              }),
       {n0(0, P::Running), n1(0, P::Running)},
       t(900),
       {},
       JobPhase::Running,
       0,
       0},

      // ---- deadline ----
      {"ActiveDeadlineExceededFailsTheJobAndDeletesItsPodsWhateverTheCleanPodPolicy",
       edited(job_in(JobPhase::Running),
              [](auto& j) {
                j.spec.runPolicy.activeDeadlineSeconds = 3600;
                j.spec.runPolicy.cleanPodPolicy = api::CleanPodPolicy::None;
              }),
       {n0(0, P::Running), n1(0, P::Running)},
       t(3600),
       {"Event Warning DeadlineExceeded", "DeletePod gpt-tiny-a0-n0", "DeletePod gpt-tiny-a0-n1"},
       JobPhase::Failed,
       0,
       0,
       {"Failed=True/DeadlineExceeded"}},
      {"RunningJobRequeuesForItsDeadline",
       edited(job_in(JobPhase::Running),
              [](auto& j) { j.spec.runPolicy.activeDeadlineSeconds = 3600; }),
       {n0(0, P::Running), n1(0, P::Running)},
       t(3000),
       {"RequeueAfter 600s"},
       JobPhase::Running,
       0,
       0},
      {"DeadlinePassingDuringBackoffFailsTheJobInsteadOfRestarting",
       edited(job_in(JobPhase::Restarting, 1, 1),
              [](auto& j) { j.spec.runPolicy.activeDeadlineSeconds = 5; }),
       {},
       t(6),
       {"Event Warning DeadlineExceeded"},
       JobPhase::Failed,
       1,
       1,
       {"Failed=True/DeadlineExceeded", "Restarting=False/JobFailed"}},

      // ---- suspend / resume ----
      {"SuspendDeletesTheGangAndKeepsTheRestartCount",
       edited(job_in(JobPhase::Running, 0, 0), [](auto& j) { j.spec.runPolicy.suspend = true; }),
       {n0(0, P::Running), n1(0, P::Running)},
       t(100),
       {"Event Normal Suspended", "DeleteAllPods"},
       JobPhase::Suspended,
       0,
       1,
       {"Suspended=True/JobSuspended", "Running=False/Suspended"}},
      {"SuspendedJobWithNoPodsWaitsQuietly",
       edited(job_in(JobPhase::Suspended, 1), [](auto& j) { j.spec.runPolicy.suspend = true; }),
       {},
       t(100),
       {},
       JobPhase::Suspended,
       0,
       1,
       {"Suspended=True/JobSuspended"}},
      {"SuspendingAPendingJobCreatesNothing",
       edited(job_in(JobPhase::Pending), [](auto& j) { j.spec.runPolicy.suspend = true; }),
       {},
       t(0),
       {"Event Normal Suspended"},
       JobPhase::Suspended,
       0,
       0,
       {"Suspended=True/JobSuspended"}},
      {"ResumeStartsANewAttemptWithoutCountingARestart",
       job_in(JobPhase::Suspended, 1),
       {},
       t(200),
       {"Event Normal Resumed", "CreatePod gpt-tiny-a1-n0", "CreatePod gpt-tiny-a1-n1",
        "Event Normal GangCreated", "RequeueAfter 600s"},
       JobPhase::Starting,
       0,
       1,
       {"Suspended=False/JobResumed", "Running=False/PodsStarting"}},
      {"ResumeWaitsForTheSuspendedGangToBeGone",
       job_in(JobPhase::Suspended, 1),
       {deleting(n0(0, P::Running), t(0))},
       t(5),
       {"Event Normal Resumed", "RequeueAfter 55s"},
       JobPhase::Pending,
       0,
       1,
       {"Suspended=False/JobResumed"}},

      // ---- success, clean-up, TTL ----
      {"AllPodsSucceededSucceedsTheJob",
       job_in(JobPhase::Running),
       {exited(n0(0, P::Running), 0, t(90)), exited(n1(0, P::Running), 0, t(91))},
       t(92),
       {"Event Normal Succeeded"},
       JobPhase::Succeeded,
       0,
       0,
       {"Succeeded=True/AllPodsSucceeded", "Running=False/JobSucceeded"}},
      {"CleanPodPolicyAllDeletesFinishedPods",
       edited(job_in(JobPhase::Succeeded),
              [](auto& j) { j.spec.runPolicy.cleanPodPolicy = api::CleanPodPolicy::All; }),
       {exited(n0(0, P::Running), 0, t(0)), exited(n1(0, P::Running), 0, t(0))},
       t(5),
       {"DeleteAllPods"},
       JobPhase::Succeeded,
       0,
       0},
      {"CleanPodPolicyRunningKeepsFinishedPodsForTheirLogs",
       job_in(JobPhase::Failed),
       {n0(0, P::Running), exited(n1(0, P::Running), 78, t(0))},
       t(5),
       {"DeletePod gpt-tiny-a0-n0"},
       JobPhase::Failed,
       0,
       0},
      {"CleanPodPolicyNoneKeepsEveryPod",
       edited(job_in(JobPhase::Failed),
              [](auto& j) { j.spec.runPolicy.cleanPodPolicy = api::CleanPodPolicy::None; }),
       {n0(0, P::Running), exited(n1(0, P::Running), 78, t(0))},
       t(5),
       {},
       JobPhase::Failed,
       0,
       0},
      {"FinishedJobRequeuesUntilItsTtlRunsOut",
       edited(job_in(JobPhase::Succeeded),
              [](auto& j) { j.spec.runPolicy.ttlSecondsAfterFinished = 600; }),
       {},
       t(100),
       {"RequeueAfter 500s"},
       JobPhase::Succeeded,
       0,
       0},
      {"FinishedJobIsDeletedWhenItsTtlRunsOut",
       edited(job_in(JobPhase::Succeeded),
              [](auto& j) { j.spec.runPolicy.ttlSecondsAfterFinished = 600; }),
       {},
       t(600),
       {"DeleteJob"},
       JobPhase::Succeeded,
       0,
       0},
      {"FinishedJobIgnoresLaterFailuresAndSuspend",
       edited(job_in(JobPhase::Succeeded), [](auto& j) { j.spec.runPolicy.suspend = true; }),
       {exited(n0(0, P::Running), 80, t(0))},
       t(5),
       {},
       JobPhase::Succeeded,
       0,
       0},

      // ---- deletion and bad specs ----
      {"JobBeingDeletedIsLeftToGarbageCollection",
       edited(job_in(JobPhase::Running),
              [](auto& j) { j.metadata.deletionTimestamp = format_rfc3339(t(40)); }),
       {n0(0, P::Running), exited(n1(0, P::Running), 80, t(40))},
       t(41),
       {},
       JobPhase::Running,
       0,
       0},
      {"SpecThatCannotBecomePodsFailsTheJob",
       edited(job_in(JobPhase::Pending), [](auto& j) { j.spec.checkpoint.volume = "nope"; }),
       {},
       t(0),
       {"Event Warning InvalidSpec"},
       JobPhase::Failed,
       0,
       0,
       {"Failed=True/InvalidSpec"}},
      {"SpecFailingValidationFailsTheJob",
       edited(job_in(JobPhase::Pending), [](auto& j) { j.spec.precision = api::Precision::Fp16; }),
       {},
       t(0),
       {"Event Warning InvalidSpec"},
       JobPhase::Failed,
       0,
       0,
       {"Failed=True/InvalidSpec"}},
  };
}

std::string show(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "\n    " + s;
  return out.empty() ? " (none)" : out;
}

class ReconcileTable : public ::testing::TestWithParam<Case> {};

TEST_P(ReconcileTable, Transition) {
  const Case& c = GetParam();
  ObservedState observed;
  observed.pods = c.pods;
  if (!c.no_service) observed.services = {"gpt-tiny"};
  observed.progress = c.progress;
  const Decision d = reconcile(c.job, observed, c.now);

  EXPECT_EQ(d.summary(), c.actions)
      << "actions:" << show(d.summary()) << "\nwanted:" << show(c.actions);
  ASSERT_TRUE(d.status.phase);
  EXPECT_EQ(api::to_string(*d.status.phase), api::to_string(c.phase));
  EXPECT_EQ(d.status.restarts, c.restarts);
  EXPECT_EQ(d.status.attempt, c.attempt);
  EXPECT_EQ(d.status.disruptions, c.disruptions);
  for (const auto& want : c.conditions) {
    const std::string type = want.substr(0, want.find('='));
    const api::Condition* got = find_condition(d.status.conditions, type);
    ASSERT_NE(got, nullptr) << "no condition " << type;
    EXPECT_EQ(got->type + "=" + got->status + "/" + got->reason, want) << got->message;
  }
  if (!c.last_failure.empty()) {
    ASSERT_TRUE(d.status.lastFailure);
    const auto& f = *d.status.lastFailure;
    EXPECT_EQ(
        f.pod + " " + std::to_string(f.rank) + " " + std::to_string(f.exitCode) + " " + f.reason,
        c.last_failure);
    EXPECT_EQ(f.disruption, c.disruptions > c.job.status.disruptions);
  }
}

INSTANTIATE_TEST_SUITE_P(StateMachine, ReconcileTable, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return info.param.name;
                         });

// ---- single promises ----

ObservedState running_gang(std::int64_t attempt) {
  ObservedState o;
  o.pods = {n0(attempt, P::Running), n1(attempt, P::Running)};
  o.services = {"gpt-tiny"};
  return o;
}

TEST(Reconcile, CopiesRankZeroProgressIntoStatus) {
  ObservedState o = running_gang(0);
  o.progress = step_at(t(30));
  o.progress->totalSteps = 1000;
  o.progress->samplesPerSecond = 812.5;
  const Decision d = reconcile(job_in(JobPhase::Running), o, t(31));
  ASSERT_TRUE(d.status.progress);
  EXPECT_EQ(d.status.progress->step, 42);
  EXPECT_EQ(d.status.progress->totalSteps, 1000);
  EXPECT_DOUBLE_EQ(d.status.progress->samplesPerSecond, 812.5);
}

TEST(Reconcile, InvalidSpecFailureMessageNamesTheFieldAndValue) {
  api::AccelJob job = job_in(JobPhase::Pending);
  job.spec.checkpoint.volume = "nope";
  const Decision d = reconcile(job, {}, t(0));
  const api::Condition* failed = find_condition(d.status.conditions, kCondFailed);
  ASSERT_NE(failed, nullptr);
  EXPECT_NE(failed->message.find("spec.checkpoint.volume"), std::string::npos) << failed->message;
  EXPECT_NE(failed->message.find("nope"), std::string::npos) << failed->message;
}

// The metrics ports against this operator's rendezvous port (its flag, which the CRD cannot
// see): the job fails as InvalidSpec naming both, instead of a reconcile error retried forever.
TEST(Reconcile, MetricsPortsOverTheRendezvousPortFailTheJobAsInvalidSpec) {
  api::AccelJob job = job_in(JobPhase::Pending);
  job.spec.metrics.port = 29500;
  const Decision d = reconcile(job, {}, t(0));
  EXPECT_EQ(d.status.phase, JobPhase::Failed);
  const api::Condition* failed = find_condition(d.status.conditions, kCondFailed);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->reason, "InvalidSpec");
  EXPECT_NE(failed->message.find("include the rendezvous port 29500"), std::string::npos)
      << failed->message;
}

TEST(Reconcile, RequeueAfterIsTheEarliestTimer) {
  api::AccelJob job = job_in(JobPhase::Running);
  job.spec.runPolicy.activeDeadlineSeconds = 100;  // due at t(100)
  job.spec.runPolicy.stallTimeoutSeconds = 300;    // due at t(300)
  const Decision d = reconcile(job, running_gang(0), t(40));
  ASSERT_TRUE(d.requeue_after());
  EXPECT_EQ(*d.requeue_after(), std::chrono::seconds(60));
}

TEST(Reconcile, ObservedGenerationFollowsMetadataGeneration) {
  api::AccelJob job = job_in(JobPhase::Running);
  job.metadata.generation = 7;
  EXPECT_EQ(reconcile(job, running_gang(0), t(31)).status.observedGeneration, 7);
}

TEST(Reconcile, StartTimeAndCompletionTimeAreRecorded) {
  const Decision started = reconcile(job_in(JobPhase::Pending), {}, t(3));
  EXPECT_EQ(started.status.startTime, "2025-01-01T00:00:03Z");
  ObservedState done;
  done.pods = {exited(n0(0, P::Running), 0, t(90)), exited(n1(0, P::Running), 0, t(90))};
  done.services = {"gpt-tiny"};
  EXPECT_EQ(reconcile(job_in(JobPhase::Running), done, t(95)).status.completionTime,
            "2025-01-01T00:01:35Z");
}

TEST(Reconcile, UnchangedWorldGivesTheSameDecisionTwice) {
  const api::AccelJob job = job_in(JobPhase::Running);
  const Decision a = reconcile(job, running_gang(0), t(50)),
                 b = reconcile(job, running_gang(0), t(50));
  EXPECT_EQ(a.summary(), b.summary());
  EXPECT_EQ(nlohmann::json(a.status), nlohmann::json(b.status));
}

TEST(Reconcile, SteadyRunningJobKeepsItsConditionTimes) {
  const api::AccelJob job = job_in(JobPhase::Running);
  const Decision d = reconcile(job, running_gang(0), t(500));
  EXPECT_TRUE(d.summary().empty());
  EXPECT_EQ(nlohmann::json(d.status)["conditions"], nlohmann::json(job.status)["conditions"]);
}

TEST(Reconcile, CreatedPodsAreTheDesiredObjectsOfTheAttempt) {
  const Decision d = reconcile(job_in(JobPhase::Restarting, 2, 2), {}, t(100));
  std::vector<nlohmann::json> pods;
  for (const auto& a : d.actions)
    if (auto p = std::get_if<CreatePod>(&a)) pods.push_back(p->object);
  ASSERT_EQ(pods.size(), 2u);
  EXPECT_EQ(pods[1], desired_pod(cpu_job(), 2, 1, {}));
}

TEST(Reconcile, ForceDeleteWaitsForTheJobsGracePeriod) {
  ObservedState w;
  w.pods = {deleting(n0(0, P::Running), t(0))};
  // The job's grace + force_delete_after (30 s), from the deletion at t(0).
  api::AccelJob job = job_in(JobPhase::Restarting, 1, 1);
  job.spec.template_.terminationGracePeriodSeconds = 120;
  EXPECT_EQ(reconcile(job, w, t(60)).summary(), (std::vector<std::string>{"RequeueAfter 90s"}));
  job.spec.template_.terminationGracePeriodSeconds = 20;
  EXPECT_EQ(reconcile(job, w, t(10)).summary(), (std::vector<std::string>{"RequeueAfter 40s"}));
}

// A SIGKILLed rank and the peer whose collective then fails end in the same second: the status
// names the killed pod (the cause), not the peer's exit 80 (the consequence).
TEST(Reconcile, RootCauseIsReportedBeforeAPeersCollectiveFailureInTheSameSecond) {
  ObservedState o = running_gang(0);
  o.pods = {exited(n0(0, P::Running), 80, t(50)), exited(n1(0, P::Running), 137, t(50))};
  const Decision d = reconcile(job_in(JobPhase::Running), o, t(50));
  ASSERT_TRUE(d.status.lastFailure);
  EXPECT_EQ(d.status.lastFailure->exitCode, 137);
  EXPECT_EQ(d.status.lastFailure->pod, "gpt-tiny-a0-n1");
  // An earlier collective failure still comes first: then it is the cause (a real hang).
  o.pods = {exited(n0(0, P::Running), 80, t(49)), exited(n1(0, P::Running), 137, t(50))};
  EXPECT_EQ(reconcile(job_in(JobPhase::Running), o, t(50)).status.lastFailure->exitCode, 80);
}

// A whole failure-and-restart cycle, feeding each decision's status into the next reconcile as
// the executor would, and checking that no two gangs ever coexist.
TEST(Reconcile, FailureRestartCycleNeverOverlapsTwoGangs) {
  api::AccelJob job = job_in(JobPhase::Pending);
  auto apply = [&](const Decision& d) { job.status = d.status; };
  std::vector<ObservedPod> pods;
  ObservedState w;
  w.services = {"gpt-tiny"};
  auto at = [&](Time now) {
    w.pods = pods;
    const Decision d = reconcile(job, w, now);
    for (const auto& a : d.actions) {
      const auto* create = std::get_if<CreatePod>(&a);
      if (!create) continue;
      for (const auto& existing : pods) {
        EXPECT_EQ(std::to_string(existing.attempt),
                  create->object["metadata"]["labels"]["accel.dev/attempt"])
            << "created " << create->object["metadata"]["name"] << " while " << existing.name
            << " exists";
      }
    }
    apply(d);
    return d;
  };

  EXPECT_EQ(at(t(0)).summary().size(), 4u);  // two pods, an event, the startup timer
  pods = {n0(0, P::Running), n1(0, P::Running)};
  at(t(20));
  EXPECT_EQ(*job.status.phase, JobPhase::Running);
  pods = {exited(n0(0, P::Running), 143, t(50)), exited(n1(0, P::Running), 80, t(49))};
  at(t(50));
  EXPECT_EQ(*job.status.phase, JobPhase::Restarting);
  pods = {deleting(pods[0], t(51)), deleting(pods[1], t(51))};
  EXPECT_EQ(at(t(70)).summary(),
            (std::vector<std::string>{"RequeueAfter 41s"}));  // backoff over, old gang not gone
  pods = {deleting(pods[1], t(51))};
  at(t(80));
  EXPECT_EQ(*job.status.phase, JobPhase::Restarting);
  pods.clear();
  const Decision next = at(t(81));
  EXPECT_EQ(next.summary()[0], "CreatePod gpt-tiny-a1-n0");
  EXPECT_EQ(*job.status.phase, JobPhase::Starting);
  EXPECT_EQ(job.status.attempt, 1);
  EXPECT_EQ(job.status.restarts, 1);
}

// maxRestarts 1: five disruptions in a row (each a new attempt, the old gang gone before the
// next starts) leave the job running; then two crashes fail it. The counters only grow.
TEST(Reconcile, FiveDisruptionsDoNotFailAJobWithOneRestartButTwoCrashesDo) {
  api::AccelJob job = job_in(JobPhase::Pending);
  job.spec.runPolicy.maxRestarts = 1;
  job.spec.runPolicy.backoff.initialSeconds = 0;
  ObservedState w;
  w.services = {"gpt-tiny"};
  std::int64_t now = 0;
  auto at = [&](std::vector<ObservedPod> pods) {
    w.pods = std::move(pods);
    job.status = reconcile(job, w, t(++now)).status;
  };
  auto run_gang = [&] {
    const std::int64_t a = job.status.attempt;
    at({});  // creates the gang
    ASSERT_EQ(*job.status.phase, JobPhase::Starting);
    at({n0(a, P::Running), n1(a, P::Running)});
    ASSERT_EQ(*job.status.phase, JobPhase::Running);
  };
  for (int i = 1; i <= 5; ++i) {
    run_gang();
    const std::int64_t a = job.status.attempt;
    // The node of rank 1 is drained: its pod is deleted, the worker stops with a checkpoint.
    at({n0(a, P::Running), exited(deleting(n1(a, P::Running), t(now)), 82, t(now))});
    EXPECT_EQ(*job.status.phase, JobPhase::Restarting) << "disruption " << i;
    EXPECT_EQ(job.status.disruptions, i);
    EXPECT_EQ(job.status.restarts, 0);
    EXPECT_EQ(job.status.attempt, i);
  }
  run_gang();
  at({exited(n0(5, P::Running), 1, t(now)), n1(5, P::Running)});
  EXPECT_EQ(*job.status.phase, JobPhase::Restarting);
  EXPECT_EQ(job.status.restarts, 1);
  at({});  // backoff 0: the next gang
  at({n0(6, P::Running), n1(6, P::Running)});
  at({exited(n0(6, P::Running), 1, t(now)), n1(6, P::Running)});
  EXPECT_EQ(*job.status.phase, JobPhase::Failed);
  EXPECT_EQ(find_condition(job.status.conditions, "Failed")->reason, "MaxRestartsExceeded");
  EXPECT_EQ(job.status.disruptions, 5);
  EXPECT_EQ(job.status.restarts, 1);
}

}  // namespace
}  // namespace accel::op

// reconcile.cpp — the AccelJob state machine. See reconcile.h and RECONCILER.md (the table).
//
// Invariant the phases encode (status.attempt is the gang they talk about):
//   Pending, Restarting, Suspended  the gang of status.attempt has not been created yet
//   Starting, Running               the gang of status.attempt has been created
//   Succeeded, Failed               the gang of status.attempt has finished; nothing is created
// A gang is created only when no pod of any other attempt remains, Terminating ones included,
// so two gangs never overlap (a rank of the old gang could otherwise join the new rendezvous).
#include "accel/controller/reconcile.h"

#include <algorithm>
#include <map>

#include "accel/api/exit_codes.h"
#include "accel/controller/backoff.h"
#include "accel/controller/conditions.h"
#include "accel/controller/desired.h"
#include "accel/controller/naming.h"

namespace accel::op {
namespace {

using api::JobPhase;
using std::chrono::seconds;

// One reason the current gang cannot go on.
struct Failure {
  std::string pod;
  std::int64_t node_rank = -1;
  int exit_code = -1;  // -1: no exit code (timeouts, deletions)
  std::string reason;
  std::string detail;  // what happened, for messages
  api::FailureClass cls = api::FailureClass::Retryable;
  std::optional<Time> at;  // when it happened, to find the first of several
  // Done to the job, not by it (DISRUPTIONS.md): a new attempt, no restart spent, no backoff.
  bool disruption() const { return cls == api::FailureClass::Disruption; }
  // What the survivors of a lost peer report: a failed collective or a signal (not the OOM
  // killer's).
  bool consequence() const {
    return cls != api::FailureClass::Permanent &&
           (exit_code == static_cast<int>(api::ExitCode::CollectiveTimeout) ||
            (exit_code >= static_cast<int>(api::ExitCode::SignalBase) && reason != reason::kOOMKilled));
  }
};

std::string secs(Duration d) { return std::to_string(ceil_seconds(d)) + "s"; }

class Reconciler {
 public:
  Reconciler(const api::AccelJob& job, const ObservedState& observed, Time now,
             const OperatorOptions& options)
      : job_(job), now_(now), options_(options), observed_(observed) {
    api::require_defaulted(job_, "reconcile");
    pods_ = observed.pods;
    std::sort(pods_.begin(), pods_.end(),
              [](const ObservedPod& a, const ObservedPod& b) { return a.name < b.name; });
  }

  Decision run() {
    d_.status = job_.status;
    if (job_.metadata.deletionTimestamp) return std::move(d_);  // ownerReferences + GC clean up
    st().observedGeneration = job_.metadata.generation;
    if (observed_.progress) st().progress = *observed_.progress;
    const JobPhase phase = st().phase.value_or(JobPhase::Pending);
    st().phase = phase;

    force_delete_stuck_pods();
    if (phase == JobPhase::Succeeded || phase == JobPhase::Failed) {
      finish();
    } else if (!valid()) {
      // fail() has run.
    } else if (spec().runPolicy.suspend.value_or(false)) {
      suspend();
    } else {
      if (phase == JobPhase::Suspended) resume();
      step();
    }
    if (wake_)
      d_.actions.push_back(RequeueAfter{std::chrono::duration_cast<Duration>(*wake_ - now_)});
    return std::move(d_);
  }

 private:
  api::AccelJob job_;  // defaulted copy
  Time now_;
  const OperatorOptions& options_;
  const ObservedState& observed_;
  std::vector<ObservedPod> pods_;  // sorted by name
  Decision d_;
  std::optional<Time> wake_;

  api::AccelJobStatus& st() { return d_.status; }
  const api::AccelJobSpec& spec() const { return job_.spec; }
  JobPhase phase() const { return *d_.status.phase; }
  std::int64_t nodes() const { return *job_.spec.nodes; }
  std::int64_t attempt() const { return d_.status.attempt; }
  // Queued, Starting, Running: the gang of status.attempt has been created.
  bool gang_created() const {
    return phase() == JobPhase::Queued || phase() == JobPhase::Starting ||
           phase() == JobPhase::Running;
  }

  // ---- small helpers ----

  void wake_at(Time t) {
    if (t > now_ && (!wake_ || t < *wake_)) wake_ = t;
  }
  void act(Action a) { d_.actions.push_back(std::move(a)); }
  void event(const char* type, const std::string& reason, const std::string& message) {
    act(RecordEvent{type, reason, message});
  }
  void set(const char* type, bool status, const std::string& reason, const std::string& message) {
    set_condition(st().conditions, type, status, reason, message, now_);
  }
  void clear(const char* type, const std::string& reason, const std::string& message) {
    clear_condition(st().conditions, type, reason, message, now_);
  }
  std::optional<Time> condition_time(const char* type) const {
    const api::Condition* c = find_condition(d_.status.conditions, type);
    return c ? parse_rfc3339(c->lastTransitionTime) : std::nullopt;
  }

  // A pod of the gang of status.attempt, under the name desired() gives it.
  bool is_current(const ObservedPod& p) const {
    return p.attempt == attempt() && p.node_rank >= 0 && p.node_rank < nodes() &&
           p.name == pod_name(job_, attempt(), p.node_rank);
  }
  bool has_strays() const {
    for (const auto& p : pods_)
      if (!is_current(p)) return true;
    return false;
  }
  bool has_live_pods() const {
    for (const auto& p : pods_)
      if (!p.terminating()) return true;
    return false;
  }
  bool observed_pod(const std::string& name) const {
    for (const auto& p : pods_)
      if (p.name == name) return true;
    return false;
  }
  bool service_exists() const {
    const auto& s = observed_.services;
    return std::find(s.begin(), s.end(), service_name(job_)) != s.end();
  }
  // The global rank behind a node is known only with one process per node.
  std::int64_t global_rank(std::int64_t node_rank) const {
    return *spec().procsPerNode == 1 ? node_rank : -1;
  }
  std::optional<Time> deadline() const {
    if (!spec().runPolicy.activeDeadlineSeconds) return std::nullopt;
    auto start = parse_rfc3339(d_.status.startTime);
    if (!start) return std::nullopt;
    return *start + seconds(*spec().runPolicy.activeDeadlineSeconds);
  }

  // ---- every phase ----

  // A pod on a dead node never finishes terminating and would block the next gang forever.
  void force_delete_stuck_pods() {
    const Duration grace =
        seconds(*spec().template_.terminationGracePeriodSeconds) + options_.force_delete_after;
    for (const auto& p : pods_) {
      if (!p.terminating()) continue;
      const Time due = *p.deletion_timestamp + grace;
      if (now_ >= due) {
        act(DeletePod{p.name, true});
        event("Warning", "ForceDeletingPod",
              "pod " + p.name + " has been terminating since " +
                  format_rfc3339(*p.deletion_timestamp) + " (longer than its grace period + " +
                  secs(options_.force_delete_after) +
                  "); its node is likely gone: deleting it with grace period 0");
      } else {
        wake_at(due);
      }
    }
  }

  bool valid() {
    auto errors = api::validate(job_);
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "; ") + e.to_string();
    if (msg.empty()) {
      try {
        check_metrics_ports(job_, options_);
      } catch (const std::invalid_argument& e) {
        msg = e.what();
      }
    }
    if (msg.empty()) return true;
    fail(reason::kInvalidSpec, msg);
    return false;
  }

  // ---- Pending / Restarting / Starting / Running ----

  void step() {
    if (auto due = deadline();
        due && !gang_created()) {
      if (now_ >= *due) return fail_deadline();
      wake_at(*due);
    }
    switch (phase()) {
      case JobPhase::Pending:
        return launch_when_clear();
      case JobPhase::Restarting:
        return launch_when_clear();
      case JobPhase::Queued:
      case JobPhase::Starting:
      case JobPhase::Running:
        return supervise();
      default:
        return;
    }
  }

  // Deletes what is left of older gangs; launches status.attempt once none remains and, when
  // restarting, the backoff has passed.
  void launch_when_clear() {
    if (has_strays()) {
      for (const auto& p : pods_)
        if (!is_current(p) && !p.terminating()) act(DeletePod{p.name, false});
      return;  // pod deletions wake us; stuck ones have their force-delete timer
    }
    const bool after_disruption = st().lastFailure && st().lastFailure->disruption;
    if (phase() == JobPhase::Restarting && !after_disruption) {
      const Duration delay = backoff_for(st().restarts - 1, spec().runPolicy.backoff);
      if (auto since = condition_time(kCondRestarting); since && now_ < *since + delay) {
        wake_at(*since + delay);
        return;
      }
    }
    launch();
  }

  void launch() {
    DesiredObjects objects;
    try {
      objects = desired(job_, attempt(), options_);
    } catch (const std::invalid_argument& e) {
      return fail(reason::kInvalidSpec, e.what());
    }
    if (!service_exists()) act(CreateService{objects.service});
    gang_launch(objects);
    std::string names;
    for (const auto& pod : objects.pods) {
      const std::string name = pod["metadata"]["name"];
      names += (names.empty() ? "" : ", ") + name;
      if (!observed_pod(name)) act(CreatePod{pod});
    }
    const bool after_restart = phase() == JobPhase::Restarting;
    st().phase = JobPhase::Starting;
    if (st().startTime.empty()) st().startTime = format_rfc3339(now_);
    const std::string what = "attempt " + std::to_string(attempt()) + ": created " +
                             std::to_string(nodes()) + " pod(s) " + names;
    set(kCondCreated, true, "GangCreated", what);
    set(kCondRunning, false, "PodsStarting", "0 of " + std::to_string(nodes()) + " pods running");
    if (after_restart)
      clear(kCondRestarting, "NewAttemptStarted",
            "attempt " + std::to_string(attempt()) + " started after restart " +
                std::to_string(st().restarts));
    event("Normal", "GangCreated", what);
    wake_at(now_ + seconds(*spec().runPolicy.startupTimeoutSeconds));
    if (auto due = deadline()) wake_at(*due);
  }

  void supervise() {
    std::map<std::int64_t, const ObservedPod*> gang;
    for (const auto& p : pods_)
      if (is_current(p)) gang[p.node_rank] = &p;
    const bool strays = has_strays();
    for (const auto& p : pods_)
      if (!is_current(p) && !p.terminating()) act(DeletePod{p.name, false});
    if (!service_exists()) act(CreateService{desired_service(job_, options_)});

    std::int64_t succeeded = 0, up = 0;
    for (const auto& [rank, p] : gang) {
      if (p->phase == PodPhase::Succeeded) ++succeeded;
      if ((p->phase == PodPhase::Running || p->phase == PodPhase::Succeeded) && !p->terminating())
        ++up;
    }
    if (succeeded == nodes()) return succeed();
    if (auto due = deadline()) {
      if (now_ >= *due) return fail_deadline();
      wake_at(*due);
    }
    if (auto f = first_failure(gang)) return handle_failure(*f);

    std::vector<std::int64_t> missing;
    for (std::int64_t r = 0; r < nodes(); ++r)
      if (!gang.count(r)) missing.push_back(r);
    if (phase() == JobPhase::Running && !missing.empty()) {
      Failure f;
      f.pod = pod_name(job_, attempt(), missing.front());
      f.node_rank = missing.front();
      f.reason = reason::kPodDeleted;
      f.detail = "pod " + f.pod + " (node " + std::to_string(f.node_rank) +
                 ") disappeared while the gang was running";
      f.cls = api::FailureClass::Disruption;
      return handle_failure(f);
    }
    if (phase() == JobPhase::Starting || phase() == JobPhase::Queued) {
      // Re-create pods of this gang that are gone (or not yet in the cache: AlreadyExists is fine),
      // but never while a pod of another gang remains.
      if (!strays && !missing.empty() && options_.gang == GangScheduling::Native)
        act(CreatePodGroup{desired_pod_group(job_, attempt())});
      if (!strays)
        for (std::int64_t r : missing) {
          try {
            act(CreatePod{desired_pod(job_, attempt(), r, options_)});
          } catch (const std::invalid_argument& e) {
            return fail(reason::kInvalidSpec, e.what());
          }
        }
      if (track_queue(gang, missing.empty())) return;
      track_placement(gang);
      if (up == nodes()) {
        st().phase = JobPhase::Running;
        const std::string msg = "all " + std::to_string(nodes()) + " pods of attempt " +
                                std::to_string(attempt()) + " are running";
        // No Event: the Running condition says it (and when); one Event per gang, GangCreated.
        set(kCondRunning, true, "AllPodsRunning", msg);
      } else {
        set(kCondRunning, false, "PodsStarting",
            std::to_string(up) + " of " + std::to_string(nodes()) + " pods running");
        if (auto f = startup_timeout(gang)) return handle_failure(*f);
        return;
      }
    }
    if (auto f = stall()) return handle_failure(*f);
  }

  api::FailureClass retry_unless_never() const {
    return *spec().runPolicy.restartPolicy == api::RestartPolicy::Never
               ? api::FailureClass::Permanent
               : api::FailureClass::Retryable;
  }

  // Why one pod of the gang ended the gang, or nullopt when it did not.
  std::optional<Failure> pod_failure(const ObservedPod& p) const {
    Failure f;
    f.pod = p.name;
    f.node_rank = p.node_rank;
    const std::string where = "pod " + p.name + " (node " + std::to_string(p.node_rank) + ")";
    // Kubernetes' own DisruptionTarget, or Kueue's TerminationTarget (it evicts the whole group
    // for preemption or a lost admission, KUEUE.md).
    const PodCondition* disruption = p.true_condition("DisruptionTarget");
    if (!disruption) disruption = p.true_condition("TerminationTarget");
    const bool evicted = p.reason == "Evicted";
    if (p.phase == PodPhase::Failed) {
      if (p.terminated) {
        f.exit_code = p.terminated->exit_code;
        f.at = p.terminated->finished_at;
        f.cls = api::classify_exit(f.exit_code, *spec().runPolicy.restartPolicy);
        f.reason = api::exit_reason(f.exit_code);
        f.detail = where + " exited " + api::describe_exit_code(f.exit_code);
        if (p.terminated->reason == "OOMKilled") {
          // The kernel killed it for memory, whatever code the runtime reports: worth a retry.
          f.reason = reason::kOOMKilled;
          f.cls = retry_unless_never();
          f.detail = where + " was OOM-killed (exit " + std::to_string(f.exit_code) + ")";
        }
      } else {
        f.reason = p.reason.empty() ? reason::kPodFailed : p.reason;
        f.cls = api::classify_exit(-1, *spec().runPolicy.restartPolicy);
        f.detail = where + " failed before its container ran" +
                   (p.message.empty() ? "" : ": " + p.message);
      }
    } else if (p.terminating() && !p.finished()) {
      f.reason = reason::kPodDeleted;
      f.at = p.deletion_timestamp;
      f.detail = where + " is being deleted while the gang runs";
    } else {
      return std::nullopt;
    }
    // Preemption, eviction, node drain, a deletion the operator did not make (it deletes pods
    // of the current gang only after deciding to end it): not the program's fault.
    if (disruption || evicted) {
      f.reason = disruption && !disruption->reason.empty() ? disruption->reason
                 : evicted                                 ? std::string(reason::kEvicted)
                                                           : std::string(reason::kDisruption);
      const std::string why = disruption ? disruption->message : p.message;
      f.detail = where + " was disrupted (" + f.reason + ")" + (why.empty() ? "" : ": " + why);
    }
    if (disruption || evicted || p.terminating()) f.cls = api::FailureClass::Disruption;
    return f;
  }

  // The failure to act on: a permanent one if any (a config error must not be retried just
  // because a peer then died of SIGTERM), else the earliest; within the same second (the
  // resolution of a container's finishedAt) a root cause before a collective failure (exit 80
  // is what the survivors of a lost peer report), then by node rank.
  // A disruption seen anywhere in the gang explains the survivors' collective failures and
  // signals (DISRUPTIONS.md), whatever their order.
  std::optional<Failure> first_failure(
      const std::map<std::int64_t, const ObservedPod*>& gang) const {
    std::vector<Failure> all;
    for (const auto& [rank, p] : gang)
      if (auto f = pod_failure(*p)) all.push_back(*f);
    const bool any_disruption =
        std::any_of(all.begin(), all.end(), [](const Failure& f) { return f.disruption(); });
    const bool only_consequences = std::all_of(all.begin(), all.end(), [](const Failure& f) {
      return f.disruption() || f.consequence();
    });
    std::optional<Failure> best;
    auto before = [](const Failure& a, const Failure& b) {
      const bool ap = a.cls == api::FailureClass::Permanent,
                 bp = b.cls == api::FailureClass::Permanent;
      if (ap != bp) return ap;
      if (a.at.has_value() != b.at.has_value()) return a.at.has_value();
      if (a.at && *a.at != *b.at) return *a.at < *b.at;
      constexpr int kCollective = static_cast<int>(api::ExitCode::CollectiveTimeout);
      const bool ac = a.exit_code == kCollective, bc = b.exit_code == kCollective;
      if (ac != bc) return bc;
      return a.node_rank < b.node_rank;
    };
    for (const Failure& f : all) {
      if (any_disruption && only_consequences && !f.disruption()) continue;
      if (!best || before(f, *best)) best = f;
    }
    return best;
  }

  // ---- Kueue (KUEUE.md) ----

  // A created gang that names a queue: Queued while Kueue's admission gate holds any of its pods,
  // Starting once Kueue has admitted the group (every pod there and none gated). True when the
  // gang waits for quota (nothing more to do in this reconcile).
  bool track_queue(const std::map<std::int64_t, const ObservedPod*>& gang, bool complete) {
    const std::string queue = kueue_queue(job_, options_);
    if (queue.empty()) return false;
    std::int64_t gated = 0;
    for (const auto& [rank, p] : gang)
      if (std::find(p->scheduling_gates.begin(), p->scheduling_gates.end(), kKueueAdmissionGate) !=
          p->scheduling_gates.end())
        ++gated;
    const std::string a = std::to_string(attempt()), group = pod_group_name(job_, attempt());
    const bool was_queued = condition_is_true(st().conditions, kCondQueued);
    if (gated > 0) {
      st().phase = JobPhase::Queued;
      const std::string msg = "waiting for quota in LocalQueue " + queue + ": Kueue admits the " +
                              std::to_string(nodes()) + " pods of attempt " + a +
                              " together (pod group " + group + ")";
      set(kCondQueued, true, "WaitingForQuota", msg);
      set(kCondRunning, false, "Queued", "the gang waits for quota");
      // Like a suspended batch/v1 Job's: activeDeadlineSeconds counts from the admission.
      st().startTime.clear();
      if (!was_queued) event("Normal", "Queued", msg);
      return true;
    }
    if (complete && (was_queued || phase() == JobPhase::Queued)) {
      st().phase = JobPhase::Starting;
      const std::string msg = "admitted by Kueue from LocalQueue " + queue + " (pod group " +
                              group + ")";
      set(kCondQueued, false, "Admitted", msg);
      if (st().startTime.empty()) st().startTime = format_rfc3339(now_);
      if (auto due = deadline()) wake_at(*due);
      event("Normal", "Admitted", msg);
    }
    return false;
  }

  // ---- gang scheduling (GANG.md) ----

  std::string gang_name() const { return pod_group_name(job_, attempt()); }

  // At the creation of a gang: its PodGroup before its pods (and the previous attempt's group
  // goes), or, where the cluster has no gang scheduling, the condition and Event that say so.
  void gang_launch(const DesiredObjects& objects) {
    const std::string n = std::to_string(nodes());
    if (options_.gang == GangScheduling::Native) {
      if (attempt() > 0) act(DeletePodGroup{pod_group_name(job_, attempt() - 1)});
      act(CreatePodGroup{*objects.pod_group});
      set(kCondGangScheduled, false, reason::kWaitingForPlacement,
          "the scheduler binds all " + n + " pods of attempt " + std::to_string(attempt()) +
              " together or none (PodGroup " + gang_name() + ", minCount " + n + ")");
    } else if (options_.gang == GangScheduling::Unavailable) {
      const std::string msg =
          "this cluster does not serve " + std::string(kPodGroupApiVersion) +
          " PodGroups (Kubernetes before 1.35, or the GenericWorkload feature gate off): the " +
          n + " pods are placed one by one, and a partly placed gang holds its nodes";
      // The condition only: an Event per job would cost every job a request on most clusters
      // today to repeat what the operator logs once at start.
      set(kCondGangScheduled, false, reason::kGangSchedulingUnavailable, msg);
    }
  }

  // While the gang starts: placed (every pod bound) or why not, from the pods' PodScheduled
  // conditions, which the scheduler writes.
  void track_placement(const std::map<std::int64_t, const ObservedPod*>& gang) {
    if (options_.gang != GangScheduling::Native) return;
    std::int64_t placed = 0;
    std::string why;
    for (const auto& [rank, p] : gang) {
      if (p->phase != PodPhase::Pending || p->true_condition("PodScheduled")) {
        ++placed;
        continue;
      }
      for (const auto& c : p->conditions) {
        if (c.type != "PodScheduled" || c.status != "False" || c.reason != reason::kUnschedulable)
          continue;
        // Only a pod the scheduler tried against the nodes says that there is no room (and which
        // resource is short); the others say that the group waits for its pods, which every gang
        // does for a moment before its first scheduling cycle.
        if (why.empty() && c.message.find("nodes are available") != std::string::npos)
          why = c.message;
      }
    }
    const std::string n = std::to_string(nodes()), a = std::to_string(attempt());
    if (placed == nodes()) {
      if (!condition_is_true(st().conditions, kCondGangScheduled)) {
        const std::string msg = "all " + n + " pods of attempt " + a +
                                " were placed together (PodGroup " + gang_name() + ")";
        set(kCondGangScheduled, true, reason::kGangPlaced, msg);
        event("Normal", "GangScheduled", msg);
      }
      return;
    }
    if (why.empty()) return;
    const api::Condition* c = find_condition(st().conditions, kCondGangScheduled);
    const bool already = c && c->reason == reason::kUnschedulable;
    const std::string msg = "no room for all " + n + " pods of attempt " + a + " (PodGroup " +
                            gang_name() + ", minCount " + n + "); none is bound until there is: " +
                            why;
    set(kCondGangScheduled, false, reason::kUnschedulable, msg);
    if (!already) event("Warning", "GangUnschedulable", msg);
  }

  std::optional<Failure> startup_timeout(const std::map<std::int64_t, const ObservedPod*>& gang) {
    std::optional<Time> created;
    for (const auto& [rank, p] : gang)
      if (p->created && (!created || *p->created < *created)) created = p->created;
    // A gang waiting for room all together has not started to start: the clock runs from its
    // placement (a new attempt would only wait in the same line).
    if (options_.gang == GangScheduling::Native)
      created = condition_is_true(st().conditions, kCondGangScheduled)
                    ? condition_time(kCondGangScheduled)
                    : std::nullopt;
    // Time in a Kueue queue is not start-up time either: the clock runs from the admission.
    if (const api::Condition* q = find_condition(st().conditions, kCondQueued); q && created) {
      if (q->status == "True") return std::nullopt;
      if (auto admitted = parse_rfc3339(q->lastTransitionTime); admitted && *admitted > *created)
        created = admitted;
    }
    if (!created) return std::nullopt;  // nothing observed yet: the next event brings it
    const auto timeout = seconds(*spec().runPolicy.startupTimeoutSeconds);
    if (now_ < *created + timeout) {
      wake_at(*created + timeout);
      return std::nullopt;
    }
    Failure f;
    f.reason = reason::kStartupTimeout;
    f.cls = retry_unless_never();
    for (std::int64_t r = 0; r < nodes() && f.pod.empty(); ++r) {
      auto it = gang.find(r);
      if (it == gang.end() ||
          (it->second->phase != PodPhase::Running && it->second->phase != PodPhase::Succeeded)) {
        f.pod = pod_name(job_, attempt(), r);
        f.node_rank = r;
      }
    }
    f.detail = "not all pods of attempt " + std::to_string(attempt()) + " were running " +
               std::to_string(*spec().runPolicy.startupTimeoutSeconds) +
               "s after creation (first waiting: " + f.pod + ")";
    return f;
  }

  // Hang detection from rank 0's /progress: no step for stallTimeoutSeconds. Needs /metrics.
  std::optional<Failure> stall() {
    const auto& timeout = spec().runPolicy.stallTimeoutSeconds;
    if (!timeout || *spec().metrics.port <= 0) return std::nullopt;
    // A save or an evaluation the worker reports is not a stall (its own watchdog pauses too).
    if (st().progress && !st().progress->activity.empty() && st().progress->activity != "training") {
      wake_at(now_ + seconds(*timeout));
      return std::nullopt;
    }
    std::optional<Time> ref = condition_time(kCondRunning);
    if (st().progress)
      if (auto last = parse_rfc3339(st().progress->lastStepTime); last && (!ref || *last > *ref))
        ref = last;
    if (!ref) return std::nullopt;
    const Time due = *ref + seconds(*timeout);
    if (now_ < due) {
      wake_at(due);
      return std::nullopt;
    }
    Failure f;
    f.pod = pod_name(job_, attempt(), 0);
    f.node_rank = 0;
    f.reason = reason::kStalled;
    f.cls = retry_unless_never();
    f.detail = "no training step completed since " + format_rfc3339(*ref) +
               " (stallTimeoutSeconds " + std::to_string(*timeout) + ")";
    return f;
  }

  void handle_failure(const Failure& f) {
    st().lastFailure =
        api::FailureInfo{f.pod, global_rank(f.node_rank), f.exit_code, f.reason, f.disruption()};
    if (f.disruption()) return restart(f);
    const auto& policy = spec().runPolicy;
    if (f.cls == api::FailureClass::Permanent)
      return fail(f.reason, f.detail + "; not retried (restartPolicy " +
                                api::to_string(*policy.restartPolicy) + ")");
    if (st().restarts >= *policy.maxRestarts)
      return fail(reason::kMaxRestartsExceeded, "restart limit " +
                                                    std::to_string(*policy.maxRestarts) +
                                                    " reached; last failure: " + f.detail);
    restart(f);
  }

  // A new attempt: after a failure it spends a restart and waits the backoff; after a
  // disruption it does neither.
  void restart(const Failure& f) {
    const bool disrupted = f.disruption();
    const Duration delay =
        disrupted ? Duration(0) : backoff_for(st().restarts, spec().runPolicy.backoff);
    (disrupted ? st().disruptions : st().restarts) += 1;
    st().attempt += 1;
    st().phase = JobPhase::Restarting;
    const std::string count =
        disrupted ? "disruption " + std::to_string(st().disruptions) +
                        " (not counted against maxRestarts " +
                        std::to_string(*spec().runPolicy.maxRestarts) + ")"
                  : "restart " + std::to_string(st().restarts) + " of " +
                        std::to_string(*spec().runPolicy.maxRestarts);
    const std::string msg = count + ": " + f.detail + "; attempt " + std::to_string(attempt()) +
                            (disrupted ? " starts" : " starts in " + secs(delay)) +
                            " once every pod of the old gang is gone";
    set(kCondRestarting, true, f.reason, msg);
    set(kCondRunning, false, "Restarting", "the gang is restarting");
    event("Warning", disrupted ? "Disrupted" : "Restarting", msg);
    if (has_live_pods())
      act(DeleteAllPods{disrupted ? std::nullopt
                                  : std::optional<std::int64_t>(options_.failure_teardown_grace_seconds)});
    if (!disrupted) wake_at(now_ + delay);
  }

  // ---- Suspended ----

  void suspend() {
    const JobPhase was = phase();
    if (was == JobPhase::Queued || was == JobPhase::Starting || was == JobPhase::Running)
      st().attempt += 1;  // next gang is new
    if (was != JobPhase::Suspended)
      event("Normal", "Suspended", "spec.runPolicy.suspend is true: deleting the pods");
    st().phase = JobPhase::Suspended;
    st().startTime
        .clear();  // like batch/v1 Job: activeDeadlineSeconds does not count suspended time
    set(kCondSuspended, true, "JobSuspended", "spec.runPolicy.suspend is true");
    clear(kCondRunning, "Suspended", "the job is suspended");
    clear(kCondRestarting, "Suspended", "the job is suspended");
    if (has_live_pods()) act(DeleteAllPods{});
  }

  void resume() {
    st().phase = JobPhase::Pending;
    set(kCondSuspended, false, "JobResumed", "spec.runPolicy.suspend is false");
    event("Normal", "Resumed",
          "attempt " + std::to_string(attempt()) + " starts once the old pods are gone");
  }

  // ---- Succeeded / Failed ----

  void succeed() {
    st().phase = JobPhase::Succeeded;
    st().completionTime = format_rfc3339(now_);
    const std::string msg = "all " + std::to_string(nodes()) + " pods of attempt " +
                            std::to_string(attempt()) + " exited 0";
    set(kCondSucceeded, true, "AllPodsSucceeded", msg);
    clear(kCondRunning, "JobSucceeded", msg);
    event("Normal", "Succeeded", msg);
    finish();
  }

  void fail(const std::string& why, const std::string& message) {
    st().phase = JobPhase::Failed;
    st().completionTime = format_rfc3339(now_);
    set(kCondFailed, true, why, message);
    clear(kCondRunning, "JobFailed", message);
    clear(kCondRestarting, "JobFailed", message);
    event("Warning", why, message);
    finish();
  }

  void fail_deadline() {
    fail(reason::kDeadlineExceeded, "the job ran longer than activeDeadlineSeconds (" +
                                        std::to_string(*spec().runPolicy.activeDeadlineSeconds) +
                                        "s since " + st().startTime + ")");
  }

  // Clean-up and TTL of a finished job; safe to repeat on every reconcile.
  void finish() {
    const auto policy = *spec().runPolicy.cleanPodPolicy;
    const api::Condition* failed = find_condition(st().conditions, kCondFailed);
    // Past the deadline, compute must stop whatever the clean-up policy keeps.
    const bool stop_active =
        policy == api::CleanPodPolicy::Running ||
        (phase() == JobPhase::Failed && failed && failed->reason == reason::kDeadlineExceeded);
    if (policy == api::CleanPodPolicy::All) {
      if (has_live_pods()) act(DeleteAllPods{});
    } else if (stop_active) {
      for (const auto& p : pods_)
        if (!p.terminating() && !p.finished()) act(DeletePod{p.name, false});
    }
    const auto& ttl = spec().runPolicy.ttlSecondsAfterFinished;
    if (!ttl) return;
    auto done = parse_rfc3339(st().completionTime);
    if (!done) {
      st().completionTime = format_rfc3339(now_);
      done = parse_rfc3339(st().completionTime);
    }
    const Time due = *done + seconds(*ttl);
    if (now_ >= due)
      act(DeleteJob{});
    else
      wake_at(due);
  }
};

}  // namespace

std::string describe(const Action& action) {
  struct {
    std::string operator()(const CreateService& a) const {
      return "CreateService " + name(a.object);
    }
    std::string operator()(const CreatePod& a) const { return "CreatePod " + name(a.object); }
    std::string operator()(const DeletePod& a) const {
      return "DeletePod " + a.name + (a.force ? " force" : "");
    }
    std::string operator()(const DeleteAllPods& a) const {
      return "DeleteAllPods" + (a.grace_seconds ? " grace " + std::to_string(*a.grace_seconds) + "s" : "");
    }
    std::string operator()(const RequeueAfter& a) const { return "RequeueAfter " + secs(a.after); }
    std::string operator()(const RecordEvent& a) const {
      return "Event " + a.type + " " + a.reason;
    }
    std::string operator()(const DeleteJob&) const { return "DeleteJob"; }
    std::string operator()(const CreatePodGroup& a) const {
      return "CreatePodGroup " + name(a.object);
    }
    std::string operator()(const DeletePodGroup& a) const { return "DeletePodGroup " + a.name; }
    static std::string name(const nlohmann::json& o) {
      const auto meta = o.find("metadata");
      return meta != o.end() && meta->is_object() ? meta->value("name", std::string())
                                                  : std::string();
    }
  } visitor;
  return std::visit(visitor, action);
}

std::optional<Duration> Decision::requeue_after() const {
  for (const auto& a : actions)
    if (auto r = std::get_if<RequeueAfter>(&a)) return r->after;
  return std::nullopt;
}

std::vector<std::string> Decision::summary() const {
  std::vector<std::string> out;
  for (const auto& a : actions) out.push_back(describe(a));
  return out;
}

Decision reconcile(const api::AccelJob& job, const ObservedState& observed, Time now,
                   const OperatorOptions& options) {
  return Reconciler(job, observed, now, options).run();
}

}  // namespace accel::op

// accel-operator (the real binary, as a subprocess) under the two disturbances a real cluster
// hands it: the kube-apiserver restarting under its open watches, and other writers editing the
// job while it writes its status. Real components: kube-apiserver + etcd (tests/support/control_plane.h, one control plane
// for this binary, of its own because restart_apiserver() would disturb other tests), the real
// kubectl for the CRD and AccelJobs. No kubelet and no scheduler: pods stay unbound, so deleting
// one is immediate, and tests move pods through their phases with `kubectl patch
// --subresource=status`, as a kubelet would. Each test has its own namespace and operator.
//
// A watcher thread (DuplicateWatch, operator_fixture.h) lists the namespace's pods throughout
// each test and records any moment at which one (job, attempt) had more pods than the job has
// nodes: that is what a duplicate create would look like.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "operator_fixture.h"

namespace {

using namespace operator_test;

// A control plane of its own (no controllers): restart_apiserver() would disturb other tests.
const auto* const g_env = install_control_plane(/*with_controllers=*/false);

// What this proves: after kube-apiserver restarts under the operator's open watches (same port,
// same etcd), the SAME operator process (never restarted) sees changes made afterwards — a pod
// that fails makes it restart the gang as attempt 1, and a job created after the restart gets
// its pods — it is ready again, and at no moment did any attempt have more pods than nodes.
// Would fail if the informers did not re-watch/relist after the connection drop (nothing after
// the restart would be reconciled) or if the process died on the dropped watch.
TEST(OperatorRobustness, RecoversFromApiserverRestartMidWatchWithoutDuplicatePods) {
  std::string ns = test_namespace();
  DuplicateWatch watch(ns);
  Operator op = start_operator(ns);
  const pid_t pid = op.proc->pid();
  kubectl_apply(ns, job_spec("before", 2, {{"maxRestarts", 3}}));
  run_gang(ns, "before", 0, 2);

  g_cp->restart_apiserver();  // every open watch of the operator drops
  ASSERT_TRUE(eventually([&] { return !pod_names(ns, "before").empty(); }, std::chrono::seconds(60)))
      << "apiserver did not come back";

  // (a) A failure after the restart restarts the whole gang as a new attempt.
  set_exited(ns, "before-a0-n1", 1);
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "before") == attempt_names("before", 1, 2); },
                         std::chrono::seconds(90)))
      << json(pod_names(ns, "before")).dump() << "\n" << op.log();
  json before = get_job(ns, "before");
  EXPECT_EQ(before["status"]["restarts"], 1);
  EXPECT_EQ(before["status"]["lastFailure"]["pod"], "before-a0-n1");

  // (b) A job created after the restart gets its gang and reaches Running.
  kubectl_apply(ns, job_spec("after", 2));
  run_gang(ns, "after", 0, 2);

  // The same process did all of it and is ready again.
  EXPECT_FALSE(op.proc->poll().has_value()) << "the operator exited:\n" << op.log();
  EXPECT_EQ(op.proc->pid(), pid);
  EXPECT_TRUE(eventually([&] { return op.ready(); })) << op.log();
  expect_no_duplicates(watch, {{"before", 2}, {"after", 2}});
}

// What this proves: 409 Conflicts on the operator's status writes (made real by a thread that
// patches the AccelJob's annotations through the main resource as fast as it can, bumping its
// resourceVersion under the operator's cache) are retried: the job still goes Starting →
// Running → Restarting → Running (attempt 1) → Succeeded with the right status, no attempt ever
// had duplicate pods, the operator's /metrics count the conflicts under
// accel_operator_reconcile_errors_total{reason="conflict"} (requeued, not failed: no "api"
// errors), and the status writes never clobbered the metadata the other writer set.
// Would fail if a conflict were dropped without requeue AND no later event saved it, if it
// failed the job, or if conflicts were not seen/counted.
// A user (or a tool such as Kueue) edits the job's labels and annotations without pause all
// through its start, a gang failure, the restart and its success, while the operator writes its
// status. The status goes out as a merge patch of what changed, without a resourceVersion
// precondition (JobController): not one write conflicts (a resourceVersion-guarded update got 409
// whenever an edit landed between a reconcile's read and its write: 8 of them in this test when
// tried), no edit is lost, and the status still follows the pods.
TEST(OperatorRobustness, EditsOfTheJobDuringEveryStatusWriteNeitherConflictNorAreLost) {
  std::string ns = test_namespace();
  DuplicateWatch watch(ns);
  Operator op = start_operator(ns, {"--workers=4"});
  kubectl_apply(ns, job_spec("cf", 2, {{"maxRestarts", 2}}));

  std::atomic<bool> stop{false};
  std::atomic<int> edits{0};
  std::atomic<int> failed_edits{0};
  std::thread writer([&] {
    kube::Client c(kube::ClientConfig::from_kubeconfig(g_cp->kubeconfig()));
    while (!stop) {
      const std::string i = std::to_string(edits.load());
      try {
        c.patch(kJobs, ns, "cf", kube::PatchType::Merge,
                {{"metadata",
                  {{"labels", {{"test.accel.dev/tick", i}}},
                   {"annotations", {{"test.accel.dev/edit-" + i, "kept"}}}}}});
        ++edits;
      } catch (const std::exception&) {
        ++failed_edits;
      }
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& t;
    ~Join() {
      stop = true;
      if (t.joinable()) t.join();
    }
  } join{stop, writer};

  run_gang(ns, "cf", 0, 2);
  set_exited(ns, "cf-a0-n0", 1);
  run_gang(ns, "cf", 1, 2);
  for (const auto& p : attempt_names("cf", 1, 2)) set_exited(ns, p, 0);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "cf") == "Succeeded"; }))
      << get_job(ns, "cf").dump(2) << op.log();
  stop = true;
  writer.join();

  json job = get_job(ns, "cf");
  EXPECT_EQ(job["status"]["restarts"], 1);
  EXPECT_EQ(job["status"]["attempt"], 1);
  EXPECT_EQ(job["status"]["lastFailure"]["pod"], "cf-a0-n0");
  ASSERT_GT(edits.load(), 10) << "too few edits overlapped the status writes to show anything";
  EXPECT_EQ(failed_edits.load(), 0);
  // Every edit survived every status write: the last label, and each edit's own annotation.
  EXPECT_EQ(job.value("/metadata/labels/test.accel.dev~1tick"_json_pointer, std::string()),
            std::to_string(edits.load() - 1))
      << job["metadata"].dump();
  for (int i = 0; i < edits.load(); ++i)
    EXPECT_EQ(job["metadata"]["annotations"].value("test.accel.dev/edit-" + std::to_string(i), ""),
              "kept")
        << "edit " << i << " was lost";
  std::string m = op.metrics();
  std::cout << "[ operator ] " << edits << " label and annotation edits during the job's life\n";
  EXPECT_EQ(sample(m, "accel_operator_reconcile_errors_total{reason=\"conflict\"}"), 0) << m;
  EXPECT_EQ(sample(m, "accel_operator_reconcile_errors_total{reason=\"api\"}"), 0) << m;
  EXPECT_EQ(sample(m, "accel_operator_jobs_succeeded_total"), 1) << m;
  EXPECT_EQ(sample(m, "accel_operator_jobs{phase=\"Succeeded\"}"), 1) << m;
  expect_no_duplicates(watch, {{"cf", 2}});
}

}  // namespace

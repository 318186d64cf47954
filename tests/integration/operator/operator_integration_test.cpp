// accel-operator (the real binary, as a subprocess) against a real control plane:
// kube-apiserver + etcd + kube-controller-manager (its garbage collector deletes what an
// AccelJob owns) + kube-scheduler, started once for this binary by tests/support/control_plane.h.
// The CRD is applied with the real kubectl; so are AccelJobs. There is no kubelet: tests move
// pods through their phases with `kubectl patch --subresource=status`, as a kubelet would.
// Each test has its own namespace and its own operator process(es) watching only it.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "operator_fixture.h"

namespace {

using namespace operator_test;

const auto* const g_env = install_control_plane(/*with_controllers=*/true);

// ---- (1) create path and status ----

TEST(Operator, CreatesHeadlessServiceAndOnePodPerNodeWithEnvAndOwnerThenReportsRunning) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("gpt", 2));
  auto want = attempt_names("gpt", 0, 2);
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "gpt") == want; })) << op.log();
  json job = get_job(ns, "gpt");
  json svc = g_client->get(kube::resources::services(), ns, "gpt");
  EXPECT_EQ(svc["spec"]["clusterIP"], "None");
  json pod = g_client->get(kube::resources::pods(), ns, "gpt-a0-n1");
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["uid"], job["metadata"]["uid"]);
  EXPECT_EQ(pod["metadata"]["ownerReferences"][0]["kind"], "AccelJob");
  std::map<std::string, std::string> env;
  for (const auto& e : pod["spec"]["containers"][0]["env"])
    if (e.contains("value")) env[e["name"]] = e["value"];
  EXPECT_EQ(env["NODE_RANK"], "1");
  EXPECT_EQ(env["NNODES"], "2");
  EXPECT_EQ(env["MASTER_ADDR"], "gpt-n0.gpt");
  EXPECT_EQ(pod["spec"]["hostname"], "gpt-n1");
  EXPECT_EQ(pod["spec"]["subdomain"], "gpt");
  EXPECT_TRUE(eventually([&] { return phase_of(ns, "gpt") == "Starting"; }));
  for (const auto& p : want) set_running(ns, p);
  EXPECT_TRUE(eventually([&] { return phase_of(ns, "gpt") == "Running"; }))
      << get_job(ns, "gpt").dump(2) << op.log();
  std::cout << "[ operator ] peak RSS (VmHWM) " << op.peak_rss_kb() << " kB\n";
}

// A launch's status write is held (--starting-status-delay): pods that run before it is due
// take the job from Pending to Running in one write, also across an operator killed while it
// held the write (it loses nothing: the restarted one observes the pods and holds again).
TEST(Operator, AGangThatRunsWhileItsStartingWriteIsHeldGoesToRunningInOneStatusWrite) {
  std::string ns = test_namespace();
  const std::vector<std::string> hold = {"--starting-status-delay=3600"};
  auto op = std::make_unique<Operator>(start_operator(ns, hold));
  kubectl_apply(ns, job_spec("quick", 2));
  auto want = attempt_names("quick", 0, 2);
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "quick") == want; })) << op->log();
  json job = get_job(ns, "quick");
  EXPECT_FALSE(job.contains("status") && job["status"].contains("phase")) << job.dump(2);

  op->proc->signal(SIGKILL);
  op->proc->wait();
  op = std::make_unique<Operator>(start_operator(ns, hold));
  job = get_job(ns, "quick");
  kube::WatchOptions wo;
  wo.field_selector = "metadata.name=quick";
  wo.resource_version = job["metadata"]["resourceVersion"];
  auto watch = g_client->watch(kJobs, ns, wo);
  for (const auto& p : want) set_running(ns, p);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "quick") == "Running"; }))
      << get_job(ns, "quick").dump(2) << op->log();
  std::vector<std::string> phases;  // of every change the watch saw, up to Running
  while (auto e = watch->next()) {
    if (e->type != kube::WatchEvent::Type::Modified) continue;
    phases.push_back(e->object.value("/status/phase"_json_pointer, std::string("<none>")));
    if (phases.back() == "Running") break;
  }
  EXPECT_EQ(phases, std::vector<std::string>{"Running"}) << json(phases).dump();
  EXPECT_EQ(pod_names(ns, "quick"), want);
  job = get_job(ns, "quick");
  EXPECT_FALSE(job["status"].value("startTime", std::string()).empty()) << job.dump(2);
  auto status_reason = [&](const std::string& type) {
    const json* c = condition(job, type);
    return c ? c->value("status", "") + "/" + c->value("reason", "") : "<none>";
  };
  EXPECT_EQ(status_reason("Created"), "True/GangCreated");
  EXPECT_EQ(status_reason("Running"), "True/AllPodsRunning");
  EXPECT_NE(op->metrics().find("\naccel_operator_jobs_created_total 1"), std::string::npos)
      << op->metrics();
}

TEST(Operator, AllPodsSucceededMarksJobSucceeded) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("done", 2));
  run_gang(ns, "done", 0, 2);
  for (const auto& p : attempt_names("done", 0, 2)) set_exited(ns, p, 0);
  EXPECT_TRUE(eventually([&] { return phase_of(ns, "done") == "Succeeded"; }))
      << get_job(ns, "done").dump(2);
}

// ---- (2) failures ----

TEST(Operator, FailedPodRestartsWholeGangAsNewAttemptAfterOldPodsAreGone) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("rs", 3, {{"maxRestarts", 3}}));
  run_gang(ns, "rs", 0, 3);
  set_exited(ns, "rs-a0-n1", 1);
  auto next = attempt_names("rs", 1, 3);
  bool two_gangs = false;
  bool restarted = eventually([&] {
    std::set<int> attempts;
    for (const auto& p : job_pods(ns, "rs"))
      attempts.insert(std::stoi(p["metadata"]["labels"]["accel.dev/attempt"].get<std::string>()));
    if (attempts.size() > 1) two_gangs = true;
    return pod_names(ns, "rs") == next;
  });
  ASSERT_TRUE(restarted) << json(pod_names(ns, "rs")).dump() << op.log();
  EXPECT_FALSE(two_gangs) << "pods of two attempts existed at once";
  json job = get_job(ns, "rs");
  EXPECT_EQ(job["status"]["restarts"], 1);
  EXPECT_EQ(job["status"]["attempt"], 1);
  EXPECT_EQ(job["status"]["lastFailure"]["pod"], "rs-a0-n1");
  json pod = g_client->get(kube::resources::pods(), ns, "rs-a1-n0");
  bool restart_count_env = false;
  for (const auto& e : pod["spec"]["containers"][0]["env"])
    if (e["name"] == "ACCEL_RESTART_COUNT") restart_count_env = e.value("value", "") == "1";
  EXPECT_TRUE(restart_count_env);
}

// DISRUPTIONS.md against the real API server: pods deleted by hand are disruptions (a new
// attempt each, no restart spent), the counters survive an operator SIGKILL and a hand-deleted
// Service, and only the failures count against maxRestarts.
TEST(Operator, FiveDisruptionsDoNotFailAJobWithOneRestartButTwoCrashesDo) {
  std::string ns = test_namespace();
  std::optional<Operator> op(start_operator(ns));
  kubectl_apply(ns, job_spec("dis", 2, {{"maxRestarts", 1}, {"backoff", {{"initialSeconds", 0}}}}));
  for (int a = 0; a < 5; ++a) {
    run_gang(ns, "dis", a, 2);
    // A node drain, by hand: the pod goes (no kubelet here, so at once).
    auto del = g_cp->kubectl({"delete", "pod", "-n", ns, "dis-a" + std::to_string(a) + "-n1"});
    ASSERT_TRUE(del.status.success()) << del.output;
    ASSERT_TRUE(eventually([&] { return get_job(ns, "dis")["status"].value("attempt", 0) == a + 1; }))
        << get_job(ns, "dis").dump(2) << op->log();
    json job = get_job(ns, "dis");
    EXPECT_EQ(job["status"]["disruptions"], a + 1) << job.dump(2);
    EXPECT_EQ(job["status"]["restarts"], 0) << job.dump(2);
    EXPECT_EQ(job["status"]["lastFailure"]["disruption"], true) << job.dump(2);
    if (a == 2) {
      // The operator dies, its Service is deleted by hand, a new operator takes over.
      op->proc->signal(SIGKILL);
      op->proc->wait();
      op.reset();
      auto svc = g_cp->kubectl({"delete", "service", "-n", ns, "dis"});
      ASSERT_TRUE(svc.status.success()) << svc.output;
      op.emplace(start_operator(ns));
    }
  }
  run_gang(ns, "dis", 5, 2);
  // The new operator counted the two disruptions it saw (3 and 4), and no failure yet.
  const std::string series = "{job_name=\"dis\",job_namespace=\"" + ns + "\",reason=\"PodDeleted\"}";
  EXPECT_EQ(sample(op->metrics(), "accel_operator_disruptions_total" + series), 2) << op->metrics();
  EXPECT_EQ(op->metrics().find("accel_operator_restarts_total{job_name=\"dis\""), std::string::npos);
  EXPECT_TRUE(eventually([&] {
    try {
      g_client->get(kube::resources::services(), ns, "dis");
      return true;
    } catch (const kube::NotFoundError&) {
      return false;
    }
  })) << "the hand-deleted Service was not recreated";
  set_exited(ns, "dis-a5-n0", 1);
  run_gang(ns, "dis", 6, 2);
  set_exited(ns, "dis-a6-n0", 1);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "dis") == "Failed"; })) << get_job(ns, "dis").dump(2);
  json job = get_job(ns, "dis");
  EXPECT_EQ((*condition(job, "Failed"))["reason"], "MaxRestartsExceeded");
  EXPECT_EQ(job["status"]["disruptions"], 5);
  EXPECT_EQ(job["status"]["restarts"], 1);
  EXPECT_EQ(job["status"]["attempt"], 6);
}

TEST(Operator, FailsJobWhenMaxRestartsAreUsedUp) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("mr", 2, {{"maxRestarts", 1}}));
  run_gang(ns, "mr", 0, 2);
  set_exited(ns, "mr-a0-n0", 1);
  run_gang(ns, "mr", 1, 2);
  set_exited(ns, "mr-a1-n1", 1);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "mr") == "Failed"; }))
      << get_job(ns, "mr").dump(2);
  json job = get_job(ns, "mr");
  const json* failed = condition(job, "Failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ((*failed)["reason"], "MaxRestartsExceeded");
  EXPECT_EQ(job["status"]["restarts"], 1);
  // cleanPodPolicy Running (default): the pod still running is deleted, the failed one stays.
  EXPECT_TRUE(eventually([&] { return pod_names(ns, "mr") == std::set<std::string>{"mr-a1-n1"}; }))
      << json(pod_names(ns, "mr")).dump();
}

TEST(Operator, ConfigErrorExit78FailsAtOnceWithoutRestart) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("cfg", 2, {{"maxRestarts", 5}}));
  run_gang(ns, "cfg", 0, 2);
  set_exited(ns, "cfg-a0-n0", 78);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "cfg") == "Failed"; }))
      << get_job(ns, "cfg").dump(2);
  json job = get_job(ns, "cfg");
  EXPECT_EQ(job["status"]["restarts"], 0);
  EXPECT_EQ(job["status"]["lastFailure"]["exitCode"], 78);
  EXPECT_EQ(job["status"]["lastFailure"]["reason"], "ConfigError");
  for (const auto& p : job_pods(ns, "cfg"))
    EXPECT_EQ(p["metadata"]["labels"]["accel.dev/attempt"], "0");
}

// ---- (3) deletion, suspend, timers ----

TEST(Operator, DeletingJobGarbageCollectsItsPodsAndService) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("gc", 2));
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "gc").size() == 2; }));
  auto r = g_cp->kubectl({"delete", "acceljob", "gc", "-n", ns, "--wait=false"});
  ASSERT_TRUE(r.status.success()) << r.output;
  EXPECT_TRUE(eventually([&] { return pod_names(ns, "gc").empty(); }, std::chrono::seconds(90)))
      << json(pod_names(ns, "gc")).dump();
  EXPECT_TRUE(eventually([&] {
    try {
      g_client->get(kube::resources::services(), ns, "gc");
      return false;
    } catch (const kube::NotFoundError&) {
      return true;
    }
  }, std::chrono::seconds(90)));
}

TEST(Operator, SuspendDeletesTheGangAndResumeStartsANewAttempt) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("sus", 2));
  run_gang(ns, "sus", 0, 2);
  auto r = g_cp->kubectl({"patch", "acceljob", "sus", "-n", ns, "--type=merge", "-p",
                          R"({"spec":{"runPolicy":{"suspend":true}}})"});
  ASSERT_TRUE(r.status.success()) << r.output;
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "sus") == "Suspended"; }))
      << get_job(ns, "sus").dump(2);
  EXPECT_TRUE(eventually([&] { return pod_names(ns, "sus").empty(); }));
  r = g_cp->kubectl({"patch", "acceljob", "sus", "-n", ns, "--type=merge", "-p",
                     R"({"spec":{"runPolicy":{"suspend":false}}})"});
  ASSERT_TRUE(r.status.success()) << r.output;
  run_gang(ns, "sus", 1, 2);
  EXPECT_EQ(get_job(ns, "sus")["status"]["restarts"], 0);
}

TEST(Operator, ActiveDeadlineFailsJobWithDeadlineExceeded) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("dl", 1, {{"activeDeadlineSeconds", 3}}));
  run_gang(ns, "dl", 0, 1);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "dl") == "Failed"; }))
      << get_job(ns, "dl").dump(2);
  json job = get_job(ns, "dl");
  const json* failed = condition(job, "Failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ((*failed)["reason"], "DeadlineExceeded");
  EXPECT_TRUE(eventually([&] { return pod_names(ns, "dl").empty(); }));
}

TEST(Operator, StartupTimeoutCountsAsAFailureOfTheGang) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("st", 2, {{"startupTimeoutSeconds", 2}, {"maxRestarts", 0}}));
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "st").size() == 2; }));
  set_running(ns, "st-a0-n0");  // n1 never starts
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "st") == "Failed"; }))
      << get_job(ns, "st").dump(2);
  json job = get_job(ns, "st");
  EXPECT_EQ(job["status"]["lastFailure"]["reason"], "StartupTimeout");
}

// ---- (4) crashes and leader election ----

TEST(Operator, KilledMidReconcileAndRestartedCreatesNoDuplicatePods) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("kill", 8));
  ASSERT_TRUE(eventually([&] { return !pod_names(ns, "kill").empty(); })) << op.log();
  op.proc->signal(SIGKILL);
  op.proc->wait();
  Operator again = start_operator(ns);
  auto want = attempt_names("kill", 0, 8);
  EXPECT_TRUE(eventually([&] { return pod_names(ns, "kill") == want; }))
      << json(pod_names(ns, "kill")).dump() << again.log();
  EXPECT_EQ(job_pods(ns, "kill").size(), 8u);
  // The launch's status write (held --starting-status-delay, 2 s, as the pods do not run).
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "kill") == "Starting"; })) << again.log();
  json job = get_job(ns, "kill");
  EXPECT_EQ(job["status"]["attempt"], 0);
  EXPECT_EQ(job["status"]["restarts"], 0);
}

std::vector<std::string> elect_args(const std::string& ns, const std::string& id) {
  return {"--leader-elect", "--leader-election-namespace=" + ns,
          "--leader-election-id=accel-operator", "--leader-election-identity=" + id,
          "--leader-election-lease-duration=4", "--leader-election-renew-deadline=3",
          "--leader-election-retry-period=0.5"};
}

TEST(Operator, TwoReplicasElectOneLeaderThatFailsOverAfterSigkillAndSigterm) {
  std::string ns = test_namespace();
  std::map<std::string, Operator> ops;
  ops.emplace("op-a", start_operator(ns, elect_args(ns, "op-a")));
  ops.emplace("op-b", start_operator(ns, elect_args(ns, "op-b")));
  ASSERT_TRUE(eventually([&] { return !lease_holder(ns).empty(); }));
  std::string first = lease_holder(ns);
  std::string second = first == "op-a" ? "op-b" : "op-a";
  // Only the leader reconciles: its /metrics says so.
  EXPECT_TRUE(eventually([&] {
    return http_get(ops[first].metrics_port, "/metrics").find("accel_operator_leader 1") !=
               std::string::npos &&
           http_get(ops[second].metrics_port, "/metrics").find("accel_operator_leader 0") !=
               std::string::npos;
  }));
  kubectl_apply(ns, job_spec("j1", 2));
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "j1").size() == 2; }));
  // The standby has not run a single reconcile (its workers are not started).
  std::string standby = http_get(ops[second].metrics_port, "/metrics");
  for (const char* r : {"success", "requeue", "error"})
    EXPECT_NE(standby.find(std::string("accel_operator_reconcile_total{result=\"") + r + "\"} 0"),
              std::string::npos)
        << standby;

  ops[first].proc->signal(SIGKILL);
  ops[first].proc->wait();
  ASSERT_TRUE(eventually([&] { return lease_holder(ns) == second; })) << ops[second].log();
  kubectl_apply(ns, job_spec("j2", 1));
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "j2").size() == 1; })) << ops[second].log();

  // A replacement replica stands by; SIGTERM of the leader exits 0 and releases the lease.
  ops["op-c"] = start_operator(ns, elect_args(ns, "op-c"));
  ops[second].proc->signal(SIGTERM);
  auto st = ops[second].proc->wait_for(std::chrono::seconds(30));
  ASSERT_TRUE(st.has_value());
  EXPECT_TRUE(st->success()) << st->describe() << ops[second].log();
  ASSERT_TRUE(eventually([&] { return lease_holder(ns) == "op-c"; })) << ops["op-c"].log();
  kubectl_apply(ns, job_spec("j3", 1));
  EXPECT_TRUE(eventually([&] { return pod_names(ns, "j3").size() == 1; })) << ops["op-c"].log();
}

// ---- progress ----

// rank 0's /progress is served here by a plain HTTP file server (python3 -m http.server); the
// job points at it with the accel.dev/progress-url annotation (the flag-gated escape hatch,
// since no pod has an IP without a kubelet).
TEST(Operator, CopiesRankZeroProgressIntoStatusThroughTheProgressUrlAnnotation) {
  std::string ns = test_namespace();
  std::string dir = g_cp->dir() + "/progress-" + ns;
  ASSERT_TRUE(accel::run_command({"mkdir", "-p", dir}).status.success());
  auto write_progress = [&](int step) {
    std::ofstream(dir + "/progress.tmp")
        << json{{"step", step}, {"totalSteps", 100}, {"samplesPerSecond", 12.5},
                {"etaSeconds", 80}, {"lastStepTime", std::time(nullptr)}}.dump();
    std::rename((dir + "/progress.tmp").c_str(), (dir + "/progress").c_str());
  };
  write_progress(42);
  int port = free_port();
  SubprocessOptions so;
  so.argv = {"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
             "--directory", dir};
  so.stdout_path = dir + ".log";
  so.stderr_path = "=stdout";
  Subprocess server(so);
  ASSERT_TRUE(eventually([&] {
    int code = 0;
    http_get(port, "/progress", &code);
    return code == 200;
  }));
  Operator op = start_operator(ns, {"--progress-url-annotation", "--progress-interval=1"});
  json spec = job_spec("prog", 1);
  spec["spec"]["metrics"]["port"] = 9400;
  spec["metadata"]["annotations"] = {
      {"accel.dev/progress-url", "http://127.0.0.1:" + std::to_string(port) + "/progress"}};
  kubectl_apply(ns, spec);
  run_gang(ns, "prog", 0, 1);
  ASSERT_TRUE(eventually([&] {
    return get_job(ns, "prog").value("/status/progress/step"_json_pointer, 0) == 42;
  })) << get_job(ns, "prog").dump(2);
  EXPECT_EQ(get_job(ns, "prog")["status"]["progress"]["totalSteps"], 100);
  // Without any event, the periodic refresh picks up the next step.
  write_progress(43);
  EXPECT_TRUE(eventually([&] {
    return get_job(ns, "prog").value("/status/progress/step"_json_pointer, 0) == 43;
  })) << get_job(ns, "prog").dump(2);
}

// ---- (5) endpoints ----

TEST(Operator, ServesHealthReadinessAndPrometheusMetrics) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  int code = 0;
  EXPECT_EQ(http_get(op.health_port, "/healthz", &code), "ok\n");
  EXPECT_EQ(code, 200);
  http_get(op.health_port, "/readyz", &code);
  EXPECT_EQ(code, 200);
  kubectl_apply(ns, job_spec("m", 2, {{"maxRestarts", 2}}));
  run_gang(ns, "m", 0, 2);
  set_exited(ns, "m-a0-n0", 1);
  run_gang(ns, "m", 1, 2);
  std::string metrics;
  EXPECT_TRUE(eventually([&] {
    metrics = http_get(op.metrics_port, "/metrics");
    return metrics.find("accel_operator_jobs{phase=\"Running\"} 1") != std::string::npos;
  })) << metrics;
  for (const char* want :
       {"accel_operator_jobs_created_total 1", "accel_operator_pods_created_total 4",
        "accel_operator_restarts_total{job_name=\"m\",job_namespace=\"" ,
        "accel_operator_reconcile_duration_seconds_count{result=\"success\"}",
        "accel_operator_reconcile_errors_total", "accel_operator_workqueue_depth",
        "accel_operator_workqueue_latency_seconds_count",
        "accel_operator_time_to_running_seconds_count 1", "accel_operator_leader 1"})
    EXPECT_NE(metrics.find(want), std::string::npos) << want << "\n" << metrics;
  // The restart is counted under the reason the job's status records for exit code 1.
  std::string reason = get_job(ns, "m")["status"]["lastFailure"]["reason"];
  EXPECT_NE(metrics.find("reason=\"" + reason + "\"} 1"), std::string::npos) << reason << metrics;
}

// Not an assertion on speed: prints how many reconciles one operator ran for 30 jobs.
TEST(Operator, ReconcilesManyJobsAndReportsThroughput) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns, {"--workers=2"});
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 30; ++i) kubectl_apply(ns, job_spec("t" + std::to_string(i), 2));
  ASSERT_TRUE(eventually([&] {
    kube::ListOptions lo;
    int starting = 0;
    for (const auto& j : g_client->list(kJobs, ns).items)
      starting += j.value("/status/phase"_json_pointer, std::string()) == "Starting";
    return starting == 30;
  }, std::chrono::seconds(120)));
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::string metrics = http_get(op.metrics_port, "/metrics");
  auto count_of = [&](const std::string& result) {
    std::string key = "accel_operator_reconcile_total{result=\"" + result + "\"} ";
    auto pos = metrics.find(key);
    return pos == std::string::npos ? 0.0 : std::atof(metrics.c_str() + pos + key.size());
  };
  double reconciles = count_of("success") + count_of("requeue") + count_of("error");
  double busy = 0;
  for (const char* r : {"success", "requeue", "error"}) {
    std::string key = std::string("accel_operator_reconcile_duration_seconds_sum{result=\"") + r + "\"} ";
    auto pos = metrics.find(key);
    if (pos != std::string::npos) busy += std::atof(metrics.c_str() + pos + key.size());
  }
  std::cout << "[ operator ] 30 jobs (60 pods) Starting after " << took.count()
            << " s (kubectl apply included); "
            << reconciles << " reconciles (" << reconciles / took.count() << "/s wall), mean "
            << (reconciles > 0 ? busy / reconciles * 1000 : 0) << " ms per reconcile"
            << "; peak RSS (VmHWM) " << op.peak_rss_kb() << " kB\n";
  EXPECT_EQ(job_pods(ns, "t29").size(), 2u);
}

// ---- pod security ----

// The namespace enforces the "restricted" Pod Security Standard through the API server's own
// PodSecurity admission: the pods of a default job are admitted with the restricted settings;
// a job that opts out of one (a capability beyond the standard) is refused, and the operator
// says so in a Warning Event with the API server's reason instead of only in its own log.
TEST(Operator, DefaultPodsAreAdmittedUnderTheRestrictedPodSecurityStandardAndAnOptOutIsReported) {
  std::string ns = test_namespace();
  auto label = g_cp->kubectl({"label", "namespace", ns, "pod-security.kubernetes.io/enforce=restricted",
                              "pod-security.kubernetes.io/enforce-version=latest"});
  ASSERT_TRUE(label.status.success()) << label.output;
  Operator op = start_operator(ns);
  kubectl_apply(ns, job_spec("safe", 2));
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "safe") == attempt_names("safe", 0, 2); }))
      << op.log();
  json pod = g_client->get(kube::resources::pods(), ns, "safe-a0-n0");
  EXPECT_EQ(pod["spec"]["securityContext"]["runAsNonRoot"], true) << pod.dump(2);
  EXPECT_EQ(pod["spec"]["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
  const json& c = pod["spec"]["containers"][0]["securityContext"];
  EXPECT_EQ(c["allowPrivilegeEscalation"], false) << c.dump();
  EXPECT_EQ(c["capabilities"]["drop"], json::array({"ALL"})) << c.dump();
  bool scratch = false;
  for (const auto& m : pod["spec"]["containers"][0]["volumeMounts"])
    scratch = scratch || (m["name"] == "accel-scratch" && m["mountPath"] == "/tmp");
  EXPECT_TRUE(scratch) << pod.dump(2);

  json opted = job_spec("ptrace", 1);
  opted["spec"]["template"] = {{"securityContext", {{"capabilities", {{"add", {"SYS_PTRACE"}}}}}}};
  kubectl_apply(ns, opted);
  auto refused = [&] {
    auto ev = g_cp->kubectl({"get", "events", "-n", ns, "--field-selector",
                             "involvedObject.name=ptrace", "-o", "json"});
    if (!ev.status.success()) return std::string();
    const json events = json::parse(ev.output);
    for (const auto& e : events["items"])
      if (e.value("type", "") == "Warning" && e.value("reason", "") == "FailedCreatePod")
        return e.value("message", std::string());
    return std::string();
  };
  ASSERT_TRUE(eventually([&] { return !refused().empty(); }))
      << g_cp->kubectl({"get", "events", "-n", ns}).output << op.log();
  EXPECT_NE(refused().find("violates PodSecurity \"restricted:latest\""), std::string::npos)
      << refused();
  EXPECT_NE(refused().find("SYS_PTRACE"), std::string::npos) << refused();
  EXPECT_TRUE(job_pods(ns, "ptrace").empty());

  // The same opt-out where the namespace allows it: the pod carries exactly what was asked.
  auto relabel = g_cp->kubectl({"label", "--overwrite", "namespace", ns,
                                "pod-security.kubernetes.io/enforce=privileged"});
  ASSERT_TRUE(relabel.status.success()) << relabel.output;
  ASSERT_TRUE(eventually([&] { return job_pods(ns, "ptrace").size() == 1u; },
                         std::chrono::seconds(120)))
      << op.log();
  json p = g_client->get(kube::resources::pods(), ns, "ptrace-a0-n0");
  EXPECT_EQ(p["spec"]["containers"][0]["securityContext"]["capabilities"],
            json::parse(R"({"add": ["SYS_PTRACE"], "drop": ["ALL"]})"))
      << p.dump(2);
}

// ---- gang scheduling where the cluster has none (GANG.md) ----

// This control plane does not serve scheduling.k8s.io/v1alpha2 (no GenericWorkload gate): the
// operator finds it out once, places pods one by one as before, and says so per job.
TEST(Operator, OnAClusterWithoutPodGroupsEachJobSaysItsPodsArePlacedOneByOne) {
  std::string ns = test_namespace();
  Operator op = start_operator(ns);
  EXPECT_NE(op.log().find("does not serve scheduling.k8s.io/v1alpha2 PodGroups"), std::string::npos)
      << op.log();
  kubectl_apply(ns, job_spec("solo", 2));
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "solo") == attempt_names("solo", 0, 2); }))
      << op.log();
  // Written with Starting (the launch's write is held 2 s: --starting-status-delay).
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "solo") == "Starting"; })) << op.log();
  const json job = get_job(ns, "solo");
  const json* gang = condition(job, "GangScheduled");
  ASSERT_NE(gang, nullptr) << job.dump(2);
  EXPECT_EQ(gang->value("status", ""), "False");
  EXPECT_EQ(gang->value("reason", ""), "GangSchedulingUnavailable");
  for (const auto& p : job_pods(ns, "solo")) EXPECT_FALSE(p["spec"].contains("schedulingGroup"));
  EXPECT_TRUE(eventually([&] {
    auto d = g_cp->kubectl({"describe", "acceljob", "solo", "-n", ns});
    return d.output.find("GangSchedulingUnavailable") != std::string::npos &&
           d.output.find("placed one by one") != std::string::npos;
  })) << g_cp->kubectl({"describe", "acceljob", "solo", "-n", ns}).output;
}

}  // namespace

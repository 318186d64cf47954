// accel-operator (the real binary, as a subprocess) under faults of the platform around it, on a
// real control plane of its own (tests/support/control_plane.h): kube-apiserver + etcd +
// kube-controller-manager (garbage collector, node lifecycle and taint-eviction controllers,
// started with a short --node-monitor-grace-period) + kube-scheduler. The CRD and AccelJobs are
// applied with the real kubectl. There is no kubelet: tests move pods through their phases with
// `kubectl patch --subresource=status`, as a kubelet would, and a "node" is a Node object plus
// its Lease in kube-node-lease that the test renews (the kubelet's heartbeat) or stops renewing.
// A control plane of its own because one test stops etcd and another registers Nodes.
//
// Faults (issue 16): etcd stopped and restarted under a running job; the operator SIGKILLed
// between deleting a failed gang and creating the next; a node lost with the job's pods on it
// (their Terminating never ends); hostile /progress endpoints (garbage, hung, dripping, slow).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "operator_fixture.h"

namespace {

using namespace operator_test;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const auto* const g_env = install_control_plane(
    ControlPlaneOptions{.with_controllers = true, .node_monitor_grace_period = 8s});

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// A renew deadline (20 s) well above the etcd outage with its restart and the apiserver's
// reconnect (about 10 s here): losing the lease would end the process by design (OPERATOR.md).
std::vector<std::string> elect_args(const std::string& ns, const std::string& id) {
  return {"--leader-elect",
          "--leader-election-namespace=" + ns,
          "--leader-election-id=accel-operator",
          "--leader-election-identity=" + id,
          "--leader-election-lease-duration=30",
          "--leader-election-renew-deadline=20",
          "--leader-election-retry-period=1"};
}

// kubectl, retried while the control plane is coming back (etcd restarting).
bool kubectl_eventually(const std::vector<std::string>& args) {
  return eventually([&] { return g_cp->kubectl(args).status.success(); });
}

double reconciles(const Operator& op) {
  std::string m = op.metrics();
  double n = 0;
  for (const char* r : {"success", "requeue", "error"})
    n += std::max(0.0,
                  sample(m, std::string("accel_operator_reconcile_total{result=\"") + r + "\"}"));
  return n;
}

// ---- (1) etcd stopped and restarted ----

// What this proves: etcd stopped for 4 s and started again (same data dir, same port) while a
// job is Running does not cost the operator its process (same PID, never exited), its lease (it
// is still the leader: the outage is shorter than its 20 s renew deadline), or the job: the pods'
// exits reported after etcd is back are reconciled and the job Succeeds on attempt 0 with no
// restart or disruption counted, and no (job, attempt) ever had more pods than nodes.
// Would fail if the operator exited on the failed renewals or dropped watches, if its informers
// did not resume after the outage (the job would stay Running), or if it recreated pods.
TEST(OperatorFaults, EtcdRestartedUnderARunningJobIsSurvivedBySameLeaderWithoutDuplicatePods) {
  std::string ns = test_namespace();
  DuplicateWatch watch(ns);
  Operator op = start_operator(ns, elect_args(ns, "etcd-op"));
  ASSERT_TRUE(eventually([&] { return lease_holder(ns) == "etcd-op"; })) << op.log();
  const pid_t pid = op.proc->pid();
  kubectl_apply(ns, job_spec("et", 2, {{"maxRestarts", 2}}));
  run_gang(ns, "et", 0, 2);

  auto t0 = Clock::now();
  g_cp->restart_etcd(4s);
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "et") == attempt_names("et", 0, 2); }))
      << "the apiserver did not serve the pods again";
  std::cout << "[ faults ] etcd down 4 s; pods listed again " << seconds_since(t0)
            << " s after the stop\n";

  auto t1 = Clock::now();
  for (const auto& p : attempt_names("et", 0, 2)) {
    const json status = exited_status(0);
    ASSERT_TRUE(kubectl_eventually({"patch", "pod", p, "-n", ns, "--subresource=status",
                                    "--type=merge", "-p", json{{"status", status}}.dump()}));
  }
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "et") == "Succeeded"; }, 90s))
      << get_job(ns, "et").dump(2) << op.log();
  std::cout << "[ faults ] job Succeeded " << seconds_since(t1)
            << " s after its pods' exits were reported\n";

  json job = get_job(ns, "et");
  EXPECT_EQ(job["status"]["attempt"], 0);
  EXPECT_EQ(job["status"]["restarts"], 0);
  EXPECT_EQ(job["status"].value("disruptions", 0), 0);
  EXPECT_FALSE(op.proc->poll().has_value()) << "the operator exited:\n" << op.log();
  EXPECT_EQ(op.proc->pid(), pid);
  EXPECT_EQ(lease_holder(ns), "etcd-op");
  EXPECT_EQ(sample(op.metrics(), "accel_operator_leader"), 1);
  EXPECT_TRUE(eventually([&] { return op.ready(); })) << op.log();
  expect_no_duplicates(watch, {{"et", 2}});
}

// ---- (2) SIGKILL between deleting a failed gang and creating the next ----

const char* const kHold = "test.accel.dev/hold";

// What this proves: the operator SIGKILLed after it has deleted a failed gang (status already
// Restarting, attempt 1, restarts 1) but before it created the next one — held there
// deterministically by a finalizer of the test on the old pods, which keeps them Terminating —
// and then restarted, creates the next gang exactly once: the new process waits while the old
// pods are Terminating (no pod of attempt 1 yet after it has reconciled), and once the test
// removes the finalizer, attempt 1's pods exist once each, no attempt 2 ever appears, the two
// gangs never coexisted, and the status counts one restart (attempt 1, restarts 1, no
// disruption) through to Succeeded.
// Would fail if the restarted operator restarted the gang again (attempt 2, restarts 2), created
// attempt 1 while attempt 0 was still Terminating, or created duplicate pods.
TEST(OperatorFaults, KilledBetweenDeletingAFailedGangAndCreatingTheNextCreatesItExactlyOnce) {
  std::string ns = test_namespace();
  DuplicateWatch watch(ns);
  std::optional<Operator> op(start_operator(ns));
  kubectl_apply(ns, job_spec("gap", 2, {{"maxRestarts", 3}}));
  const auto first = attempt_names("gap", 0, 2);
  ASSERT_TRUE(eventually([&] { return pod_names(ns, "gap") == first; })) << op->log();
  for (const auto& p : first) {
    auto r = g_cp->kubectl({"patch", "pod", p, "-n", ns, "--type=merge", "-p",
                            json{{"metadata", {{"finalizers", {kHold}}}}}.dump()});
    ASSERT_TRUE(r.status.success()) << r.output;
  }
  run_gang(ns, "gap", 0, 2);
  set_exited(ns, "gap-a0-n1", 1);

  // The operator wrote Restarting (attempt 1) and deleted the gang; the finalizer holds it.
  ASSERT_TRUE(eventually([&] {
    json job = get_job(ns, "gap");
    if (job["status"].value("attempt", 0) != 1 || phase_of(ns, "gap") != "Restarting") return false;
    auto pods = job_pods(ns, "gap");
    return pods.size() == 2 && std::all_of(pods.begin(), pods.end(), [](const json& p) {
             return p["metadata"].contains("deletionTimestamp");
           });
  })) << get_job(ns, "gap").dump(2)
      << op->log();
  op->proc->signal(SIGKILL);
  op->proc->wait();
  op.reset();

  op.emplace(start_operator(ns));
  ASSERT_TRUE(eventually([&] { return reconciles(*op) >= 1; })) << op->log();
  EXPECT_EQ(pod_names(ns, "gap"), first)
      << "the next gang was created while the old one was Terminating";

  for (const auto& p : first) {
    auto r = g_cp->kubectl({"patch", "pod", p, "-n", ns, "--type=json", "-p",
                            R"([{"op":"remove","path":"/metadata/finalizers"}])"});
    ASSERT_TRUE(r.status.success()) << r.output;
  }
  run_gang(ns, "gap", 1, 2);
  json job = get_job(ns, "gap");
  EXPECT_EQ(job["status"]["attempt"], 1) << job.dump(2);
  EXPECT_EQ(job["status"]["restarts"], 1) << job.dump(2);
  EXPECT_EQ(job["status"].value("disruptions", 0), 0) << job.dump(2);
  EXPECT_EQ(job["status"]["lastFailure"]["pod"], "gap-a0-n1");
  EXPECT_EQ(job_pods(ns, "gap").size(), 2u);
  for (const auto& p : attempt_names("gap", 1, 2)) set_exited(ns, p, 0);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "gap") == "Succeeded"; }))
      << get_job(ns, "gap").dump(2) << op->log();
  job = get_job(ns, "gap");
  EXPECT_EQ(job["status"]["restarts"], 1);
  EXPECT_EQ(job["status"]["attempt"], 1);

  auto most = watch.most();
  EXPECT_EQ(most.count("gap/2"), 0u) << "a second restart created attempt 2";
  EXPECT_EQ(watch.most_attempts()["gap"], 1) << "two gangs existed at once";
  expect_no_duplicates(watch, {{"gap", 2}});
}

// ---- (3) a node lost with the job's pods on it ----

// MicroTime (Lease renewTime) of now.
std::string now_micro() {
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
            1000000;
  char buf[40], out[48];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", std::gmtime(&t));
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(us));
  return out;
}

const kube::Resource kNodes{"", "v1", "nodes", false, "Node"};
const char* const kNodeTaint = "accel.dev/faults-test";

// Node objects a test registers, with the heartbeat a kubelet would send: their Lease in
// kube-node-lease renewed every second, for the nodes still "alive". Each node carries the taint
// accel.dev/faults-test:NoSchedule, so only pods that tolerate it (this test's) land there. The
// destructor stops the heartbeat and deletes the Nodes and their Leases.
class FakeNodes {
 public:
  FakeNodes() : client_(kube::ClientConfig::from_kubeconfig(g_cp->kubeconfig())) {}
  ~FakeNodes() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (const auto& n : names_) {
      g_cp->kubectl({"delete", "node", n, "--wait=false"});
      g_cp->kubectl({"delete", "lease", n, "-n", "kube-node-lease", "--wait=false"});
    }
  }
  FakeNodes(const FakeNodes&) = delete;
  FakeNodes& operator=(const FakeNodes&) = delete;

  void add(const std::string& name, bool unschedulable) {
    json node = {
        {"apiVersion", "v1"},
        {"kind", "Node"},
        {"metadata", {{"name", name}, {"labels", {{"kubernetes.io/hostname", name}}}}},
        {"spec",
         {{"unschedulable", unschedulable},
          {"taints", {{{"key", kNodeTaint}, {"value", "true"}, {"effect", "NoSchedule"}}}}}}};
    client_.create(kNodes, "", node);
    names_.push_back(name);
    std::string now = now_rfc3339();
    json resources = {{"cpu", "8"}, {"memory", "16Gi"}, {"pods", "110"}};
    json status = {{"capacity", resources},
                   {"allocatable", resources},
                   {"conditions",
                    {{{"type", "Ready"},
                      {"status", "True"},
                      {"reason", "KubeletReady"},
                      {"message", "test heartbeat"},
                      {"lastHeartbeatTime", now},
                      {"lastTransitionTime", now}}}}};
    auto r = g_cp->kubectl({"patch", "node", name, "--subresource=status", "--type=merge", "-p",
                            json{{"status", status}}.dump()});
    if (!r.status.success()) throw std::runtime_error("node status: " + r.output);
    renew(name);
    std::lock_guard<std::mutex> lock(mu_);
    alive_.insert(name);
    if (!thread_.joinable()) thread_ = std::thread([this] { heartbeat(); });
  }
  // The node's kubelet is gone: no more Lease renewals.
  void lose(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    alive_.erase(name);
  }
  json get(const std::string& name) { return client_.get(kNodes, "", name); }

 private:
  void renew(const std::string& name) {
    json lease = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", name}, {"namespace", "kube-node-lease"}}},
        {"spec",
         {{"holderIdentity", name}, {"leaseDurationSeconds", 40}, {"renewTime", now_micro()}}}};
    try {
      client_.patch(kube::resources::leases(), "kube-node-lease", name, kube::PatchType::Merge,
                    {{"spec", lease["spec"]}});
    } catch (const kube::NotFoundError&) {
      client_.create(kube::resources::leases(), "kube-node-lease", lease);
    }
  }
  void heartbeat() {
    while (!stop_) {
      std::set<std::string> alive;
      {
        std::lock_guard<std::mutex> lock(mu_);
        alive = alive_;
      }
      for (const auto& n : alive) {
        try {
          renew(n);
        } catch (const std::exception&) {
        }
      }
      for (int i = 0; i < 10 && !stop_; ++i) std::this_thread::sleep_for(100ms);
    }
  }
  kube::Client client_;
  std::vector<std::string> names_;
  std::mutex mu_;
  std::set<std::string> alive_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

bool has_taint(const json& node, const std::string& key, const std::string& effect) {
  for (const auto& t : node.value("/spec/taints"_json_pointer, json::array()))
    if (t.value("key", "") == key && t.value("effect", "") == effect) return true;
  return false;
}

std::string node_of(const std::string& ns, const std::string& pod) {
  try {
    return g_client->get(kube::resources::pods(), ns, pod)
        .value("/spec/nodeName"_json_pointer, std::string());
  } catch (const kube::NotFoundError&) {
    return "";
  }
}

// What this proves, with the real node lifecycle, taint-eviction and scheduler: a job's gang
// scheduled by kube-scheduler onto node faults-a; faults-a stops heartbeating; the node lifecycle
// controller marks it unreachable and taints it NoExecute; the taint-eviction controller deletes
// the pods (their toleration of unreachable is 2 s) and, with no kubelet to confirm, they stay
// Terminating. The operator counts that as a disruption (no restart spent), and once the pods
// have been Terminating for their grace period (2 s) + --force-delete-delay (2 s) it force-deletes
// them, records a Warning ForceDeletingPod Event naming each pod, and starts attempt 1, which
// kube-scheduler places on the healthy node faults-b; that attempt runs to Succeeded.
// Would fail if the operator waited for the stuck pods forever (no attempt 1), created attempt 1
// while they were Terminating, recorded no Event, or counted the node loss as a failure.
TEST(OperatorFaults, PodsStuckTerminatingOnALostNodeAreForceDeletedAndTheJobGoesOnElsewhere) {
  std::string ns = test_namespace();
  DuplicateWatch watch(ns);
  FakeNodes nodes;
  nodes.add("faults-a", /*unschedulable=*/false);
  nodes.add("faults-b", /*unschedulable=*/true);  // cordoned until the gang sits on faults-a
  Operator op = start_operator(ns, {"--force-delete-delay=2"});
  json spec = job_spec("lost", 2, {{"maxRestarts", 0}});
  spec["spec"]["template"] = {
      {"terminationGracePeriodSeconds", 2},
      {"tolerations",
       {{{"key", kNodeTaint}, {"operator", "Exists"}, {"effect", "NoSchedule"}},
        {{"key", "node.kubernetes.io/unreachable"},
         {"operator", "Exists"},
         {"effect", "NoExecute"},
         {"tolerationSeconds", 2}},
        {{"key", "node.kubernetes.io/not-ready"},
         {"operator", "Exists"},
         {"effect", "NoExecute"},
         {"tolerationSeconds", 2}}}}};
  kubectl_apply(ns, spec);
  const auto first = attempt_names("lost", 0, 2);
  ASSERT_TRUE(eventually([&] {
    for (const auto& p : first)
      if (node_of(ns, p) != "faults-a") return false;
    return true;
  })) << "the scheduler did not bind the gang to faults-a";
  run_gang(ns, "lost", 0, 2);
  auto r = g_cp->kubectl({"uncordon", "faults-b"});
  ASSERT_TRUE(r.status.success()) << r.output;

  auto lost_at = Clock::now();
  nodes.lose("faults-a");
  ASSERT_TRUE(eventually([&] {
    return has_taint(nodes.get("faults-a"), "node.kubernetes.io/unreachable", "NoExecute");
  })) << nodes.get("faults-a").dump(2);
  std::cout << "[ faults ] faults-a tainted unreachable " << seconds_since(lost_at)
            << " s after its last heartbeat\n";

  // The taint evicts the pods; no kubelet confirms, so they stay Terminating.
  bool seen_terminating = false;
  ASSERT_TRUE(eventually([&] {
    auto pods = job_pods(ns, "lost");
    int terminating = 0;
    for (const auto& p : pods)
      if (p["metadata"].contains("deletionTimestamp")) ++terminating;
    if (terminating == 2) seen_terminating = true;
    return seen_terminating;
  })) << json(job_pods(ns, "lost")).dump(2);
  EXPECT_EQ(pod_names(ns, "lost"), first);
  std::cout << "[ faults ] gang Terminating " << seconds_since(lost_at) << " s after the loss\n";

  // Force-deleted, then attempt 1 on the healthy node.
  const auto next = attempt_names("lost", 1, 2);
  ASSERT_TRUE(eventually([&] {
    if (pod_names(ns, "lost") != next) return false;
    for (const auto& p : next)
      if (node_of(ns, p).empty()) return false;
    return true;
  })) << json(job_pods(ns, "lost")).dump(2)
      << op.log();
  std::cout << "[ faults ] attempt 1 scheduled " << seconds_since(lost_at) << " s after the loss\n";
  for (const auto& p : next) EXPECT_EQ(node_of(ns, p), "faults-b") << p;

  kube::ListOptions lo;
  lo.field_selector = "reason=ForceDeletingPod";
  std::vector<json> events;
  ASSERT_TRUE(eventually([&] {
    events = g_client->list(kube::resources::events(), ns, lo).items;
    return events.size() >= 2;
  })) << "no ForceDeletingPod Events";
  std::set<std::string> named;
  for (const auto& e : events) {
    EXPECT_EQ(e["type"], "Warning");
    EXPECT_EQ(e["involvedObject"]["name"], "lost");
    const std::string msg = e.value("message", "");
    EXPECT_NE(msg.find("grace period 0"), std::string::npos) << msg;
    for (const auto& p : first)
      if (msg.find("pod " + p + " ") != std::string::npos) named.insert(p);
  }
  EXPECT_EQ(named, first) << json(events).dump(2);

  for (const auto& p : next) set_running(ns, p);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "lost") == "Running"; }))
      << get_job(ns, "lost").dump(2);
  for (const auto& p : next) set_exited(ns, p, 0);
  ASSERT_TRUE(eventually([&] { return phase_of(ns, "lost") == "Succeeded"; }))
      << get_job(ns, "lost").dump(2);
  json job = get_job(ns, "lost");
  EXPECT_EQ(job["status"]["attempt"], 1);
  EXPECT_EQ(job["status"]["disruptions"], 1) << job.dump(2);
  EXPECT_EQ(job["status"]["restarts"], 0) << job.dump(2);
  EXPECT_EQ(job["status"]["lastFailure"]["disruption"], true) << job.dump(2);
  std::cout << "[ faults ] lastFailure " << job["status"]["lastFailure"].dump() << "\n";
  EXPECT_EQ(watch.most_attempts()["lost"], 1) << "two gangs existed at once";
  expect_no_duplicates(watch, {{"lost", 2}});
}

// ---- (4) hostile /progress endpoints ----

// A loopback HTTP server whose /progress answers as told: the document (step from set_step), a
// 200 with garbage, never (the connection is accepted and left open), one byte every 200 ms (a
// response that never ends), or the document after 3 s.
class ProgressServer {
 public:
  enum class Mode { Ok, Garbage, Hang, Drip, Slow };
  explicit ProgressServer(Mode mode) : mode_(mode) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0)
      throw std::runtime_error("ProgressServer: bind/listen failed");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~ProgressServer() {
    stop_ = true;
    thread_.join();
    for (auto& t : conns_) t.join();
    ::close(fd_);
  }
  ProgressServer(const ProgressServer&) = delete;
  ProgressServer& operator=(const ProgressServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/progress"; }
  void set_step(int step) { step_ = step; }
  int requests() const { return requests_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      ++requests_;
      conns_.emplace_back([this, c] {
        serve(c);
        ::close(c);
      });
    }
  }
  bool wait(std::chrono::milliseconds d) {  // false once stopping
    for (auto end = Clock::now() + d; Clock::now() < end;) {
      if (stop_) return false;
      std::this_thread::sleep_for(20ms);
    }
    return !stop_;
  }
  void send_all(int c, const std::string& s) {
    for (std::size_t off = 0; off < s.size();) {
      ssize_t n = ::send(c, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }
  static std::string response(const std::string& body) {
    return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  }
  std::string document() const {
    return json{{"step", step_.load()},
                {"totalSteps", 1000},
                {"samplesPerSecond", 5.0},
                {"lastStepTime", std::time(nullptr)}}
        .dump();
  }
  void serve(int c) {
    std::string head;  // read the request head (bounded)
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192 && !stop_) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      head.append(buf, static_cast<std::size_t>(n));
    }
    switch (mode_) {
      case Mode::Ok:
        send_all(c, response(document()));
        break;
      case Mode::Garbage:
        send_all(c, response("\x01\xff<html>step=999 not a progress document"));
        break;
      case Mode::Hang:
        wait(24h);
        break;
      case Mode::Drip: {
        // A 200 whose body never ends: a JSON string that grows by a byte every 200 ms.
        const std::string start =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
            "{\"step\": 999, \"pad\": \"";
        for (char ch : start) {
          send_all(c, std::string(1, ch));
          if (!wait(10ms)) return;
        }
        while (wait(200ms)) send_all(c, "x");
        break;
      }
      case Mode::Slow:
        if (wait(3s)) send_all(c, response(R"({"step": 999, "totalSteps": 1000})"));
        break;
    }
  }

  Mode mode_;
  int fd_ = -1, port_ = 0;
  std::atomic<int> step_{1};
  std::atomic<int> requests_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> conns_;  // accept thread only, then the destructor
};

json progress_job(const std::string& name, const std::string& url) {
  json spec = job_spec(name, 1);
  spec["spec"]["metrics"]["port"] = 9400;
  spec["metadata"]["annotations"] = {{"accel.dev/progress-url", url}};
  return spec;
}

int progress_step(const std::string& ns, const std::string& job) {
  return get_job(ns, job).value("/status/progress/step"_json_pointer, -1);
}

// Seconds from a new step on the normal job's /progress to it being in status.progress.
double progress_latency(ProgressServer& server, const std::string& ns, const std::string& job,
                        int step) {
  auto t0 = Clock::now();
  server.set_step(step);
  EXPECT_TRUE(eventually([&] { return progress_step(ns, job) == step; }, 60s, 20ms))
      << get_job(ns, job).dump(2);
  return seconds_since(t0);
}

std::string summary(const std::vector<double>& v) {
  char buf[128];
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  std::snprintf(buf, sizeof buf, "mean %.2f s, min %.2f s, max %.2f s over %zu", sum / v.size(),
                *lo, *hi, v.size());
  return buf;
}

// What this proves: jobs whose rank-0 /progress hangs (two), answers garbage, drips a response
// that never ends (two) or answers only after 3 s do not hold up anything else the operator does:
// a normal job's progress keeps being copied into its status, a job created while they are
// polled gets its pod and goes Running and Succeeded, and the normal job goes on to Succeeded.
// The garbage job never gets a status.progress. The normal job's update latency (new step on its
// endpoint → in status.progress; --progress-interval=1) is printed with and without the hostile
// endpoints (bench/results/progress_isolation.md).
// Would fail if one hostile endpoint could stall the poller's round (the normal job's new step
// would never reach its status), if a reconcile waited on an endpoint, or if garbage became
// progress.
TEST(OperatorFaults, HostileProgressEndpointsDoNotHoldUpOtherJobs) {
  std::string ns = test_namespace();
  ProgressServer normal(ProgressServer::Mode::Ok);
  ProgressServer garbage(ProgressServer::Mode::Garbage);
  std::vector<std::unique_ptr<ProgressServer>> hostile;
  for (auto m : {ProgressServer::Mode::Hang, ProgressServer::Mode::Hang, ProgressServer::Mode::Drip,
                 ProgressServer::Mode::Drip, ProgressServer::Mode::Slow})
    hostile.push_back(std::make_unique<ProgressServer>(m));
  Operator op = start_operator(ns, {"--progress-url-annotation", "--progress-interval=1"});

  kubectl_apply(ns, progress_job("normal", normal.url()));
  run_gang(ns, "normal", 0, 1);
  ASSERT_TRUE(eventually([&] { return progress_step(ns, "normal") == 1; }))
      << get_job(ns, "normal").dump(2) << op.log();
  std::vector<double> alone;
  for (int i = 0; i < 5; ++i) alone.push_back(progress_latency(normal, ns, "normal", 10 + i));

  const std::vector<std::string> names{"hang-1", "hang-2", "drip-1", "drip-2", "slow"};
  kubectl_apply(ns, progress_job("garbage", garbage.url()));
  for (std::size_t i = 0; i < names.size(); ++i)
    kubectl_apply(ns, progress_job(names[i], hostile[i]->url()));
  run_gang(ns, "garbage", 0, 1);
  for (const auto& n : names) run_gang(ns, n, 0, 1);
  // Every hostile endpoint has been asked at least once before measuring.
  ASSERT_TRUE(eventually([&] {
    if (garbage.requests() == 0) return false;
    for (const auto& h : hostile)
      if (h->requests() == 0) return false;
    return true;
  }));
  std::vector<double> among;
  for (int i = 0; i < 5; ++i) among.push_back(progress_latency(normal, ns, "normal", 20 + i));

  // A job created now is reconciled as usual.
  auto t0 = Clock::now();
  kubectl_apply(ns, job_spec("later", 1));
  run_gang(ns, "later", 0, 1);
  const double later_running = seconds_since(t0);
  set_exited(ns, "later-a0-n0", 0);
  EXPECT_TRUE(eventually([&] { return phase_of(ns, "later") == "Succeeded"; }));

  EXPECT_EQ(progress_step(ns, "garbage"), -1) << get_job(ns, "garbage").dump(2);
  for (const char* n : {"hang-1", "hang-2"}) EXPECT_EQ(progress_step(ns, n), -1) << n;
  set_exited(ns, "normal-a0-n0", 0);
  EXPECT_TRUE(eventually([&] { return phase_of(ns, "normal") == "Succeeded"; }))
      << get_job(ns, "normal").dump(2);

  std::cout << "[ progress ] normal job's status.progress update (--progress-interval=1): alone "
            << summary(alone) << "; with 2 hung, 2 dripping, 1 slow (3 s), 1 garbage endpoint "
            << summary(among) << "\n[ progress ] a job created among them Running " << later_running
            << " s after kubectl apply (kubectl and status patches included)"
            << "\n[ progress ] requests: hang " << hostile[0]->requests() << "/"
            << hostile[1]->requests() << ", drip " << hostile[2]->requests() << "/"
            << hostile[3]->requests() << ", slow " << hostile[4]->requests() << ", garbage "
            << garbage.requests() << ", normal " << normal.requests()
            << "; slow job's progress step " << progress_step(ns, "slow") << ", drip "
            << progress_step(ns, "drip-1") << "\n";
}

}  // namespace

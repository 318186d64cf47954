// accel-operator: flags, leader election, the AccelJob controller, /metrics, /healthz, /readyz.
// operator/OPERATOR.md documents the flags, the endpoints, the metrics and the shutdown rules.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>

#include "accel/kube/client.h"
#include "accel/kube/client_config.h"
#include "accel/kube/event_recorder.h"
#include "accel/kube/leader_elector.h"
#include "accel/kube/log.h"
#include "http_server.h"
#include "accel/manager/job_controller.h"
#include "accel/manager/operator_metrics.h"

#ifndef ACCEL_VERSION
#define ACCEL_VERSION "unknown"
#endif

namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace accel;
  // glibc gives each thread that allocates its own arena (up to 8 per core); the HTTP client's
  // thread pool and the informers would hold a dozen half-empty heaps. Two are plenty for an
  // operator that waits on the network (bench/operator_notes.md); MALLOC_ARENA_MAX overrides.
  if (!std::getenv("MALLOC_ARENA_MAX")) mallopt(M_ARENA_MAX, 2);
  CLI::App app{"accel-operator: runs AccelJobs (accel.dev/v1alpha1) as gangs of pods"};
  std::string kubeconfig, ns, metrics_addr = ":8080", health_addr = ":8081";
  std::string log_level = "info", entrypoint = "accel", cluster_domain;
  int workers = 4;  // the fastest at 2,000 jobs (2026-12-02): bench/operator_notes.md
  bool leader_elect = false, progress_annotation = false;
  std::string le_ns, le_id = "accel-operator", identity;
  double lease_s = 15, renew_s = 10, retry_s = 2, progress_interval_s = 30;
  double force_delete_s = 30;
  double starting_delay_s = 2;
  std::string gang = "auto";
  bool kueue = true;
  app.add_option("--kubeconfig", kubeconfig, "kubeconfig file (default: in-cluster, else KUBECONFIG, else ~/.kube/config)");
  app.add_option("--namespace", ns, "watch only this namespace (default: all)");
  app.add_option("--workers", workers, "AccelJobs reconciled concurrently")->check(CLI::Range(1, 256));
  app.add_option("--metrics-bind-address", metrics_addr, "where /metrics listens, host:port or :port; 0 = off");
  app.add_option("--health-probe-bind-address", health_addr, "where /healthz and /readyz listen; 0 = off");
  app.add_option("--log-level", log_level, "debug, info, warn, error")->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.add_flag("--leader-elect", leader_elect, "campaign for a Lease; only the leader reconciles");
  app.add_option("--leader-election-namespace", le_ns, "the Lease's namespace (default: $POD_NAMESPACE, else default)");
  app.add_option("--leader-election-id", le_id, "the Lease's name");
  app.add_option("--leader-election-identity", identity, "this replica's identity (default: $POD_NAME, else hostname_pid)");
  app.add_option("--leader-election-lease-duration", lease_s, "seconds a non-renewed lease stays valid");
  app.add_option("--leader-election-renew-deadline", renew_s, "seconds the leader keeps trying to renew before giving up");
  app.add_option("--leader-election-retry-period", retry_s, "seconds between lease reads");
  app.add_option("--worker-entrypoint", entrypoint, "argv[0] of every worker container (accel launch)");
  app.add_option("--cluster-domain", cluster_domain, "cluster DNS domain for a fully qualified MASTER_ADDR (default: short name)");
  app.add_option("--progress-interval", progress_interval_s,
                 "seconds between refreshes of a Running job's status.progress from rank 0's /progress (0 = off)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--force-delete-delay", force_delete_s,
                 "seconds past a Terminating pod's grace period before it is force-deleted (its node is likely gone)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--starting-status-delay", starting_delay_s,
                 "seconds a gang's launch waits before its status says Starting: a gang whose pods all run "
                 "by then goes to Running in one status write (0 = write Starting at once)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--gang-scheduling", gang,
                 "auto: all-or-nothing placement through Kubernetes' PodGroups where the cluster serves them "
                 "(scheduling.k8s.io/v1alpha2), said in each job's status where it does not; off: pods placed one by one")
      ->check(CLI::IsMember({"auto", "off"}));
  app.add_option("--kueue-integration", kueue,
                 "honour a job's kueue.x-k8s.io/queue-name label: its pods form one Kueue plain-pod group per attempt, "
                 "and the job is Queued while Kueue holds them (false: the label is ignored)");
  app.add_flag("--progress-url-annotation", progress_annotation,
               "testing/escape hatch: read rank 0's /progress from the job's accel.dev/progress-url annotation");
  app.set_version_flag("--version", std::string("accel-operator ") + ACCEL_VERSION);
  CLI11_PARSE(app, argc, argv);

  kube::LogLevel min_level = log_level == "debug" ? kube::LogLevel::Debug
                             : log_level == "warn" ? kube::LogLevel::Warning
                             : log_level == "error" ? kube::LogLevel::Error
                                                    : kube::LogLevel::Info;
  static std::mutex log_mu;
  kube::set_log_sink([min_level](kube::LogLevel level, const std::string& msg) {
    if (level < min_level) return;
    static const char* names[] = {"debug", "info", "warning", "error"};
    std::lock_guard<std::mutex> lock(log_mu);
    std::cerr << "accel-operator " << names[static_cast<int>(level)] << ": " << msg << std::endl;
  });
  auto info = [](const std::string& m) { kube::log(kube::LogLevel::Info, m); };

  // SIGTERM/SIGINT are taken by sigwait on the main thread; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  try {
    kube::ClientConfig config;
    if (!kubeconfig.empty())
      config = kube::ClientConfig::from_kubeconfig(kubeconfig);
    else if (std::getenv("KUBERNETES_SERVICE_HOST"))
      config = kube::ClientConfig::in_cluster();
    else
      config = kube::ClientConfig::load_default();
    const auto metrics_listen = http::parse_bind_address(metrics_addr, "--metrics-bind-address");
    const auto health_listen = http::parse_bind_address(health_addr, "--health-probe-bind-address");

    kube::Client client(config);
    kube::EventRecorder events(client);
    op::OperatorMetrics metrics;
    op::ControllerOptions copts;
    copts.ns = ns;
    copts.workers = workers;
    copts.reconciler.entrypoint = entrypoint;
    copts.reconciler.cluster_domain = cluster_domain;
    copts.reconciler.force_delete_after =
        std::chrono::duration_cast<op::Duration>(std::chrono::duration<double>(force_delete_s));
    copts.starting_status_delay = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::duration<double>(starting_delay_s));
    copts.progress_url_annotation = progress_annotation;
    copts.reconciler.kueue = kueue;
    if (gang == "auto") {
      copts.reconciler.gang = op::detect_gang_scheduling(client);
      info(copts.reconciler.gang == op::GangScheduling::Native
               ? "gang scheduling: scheduling.k8s.io/v1alpha2 PodGroups are served; each attempt's pods "
                 "are placed all together or none"
               : "gang scheduling: this cluster does not serve scheduling.k8s.io/v1alpha2 PodGroups; pods "
                 "are placed one by one (each job's GangScheduled condition says so)");
    }
    copts.progress_interval = std::chrono::milliseconds(static_cast<long>(progress_interval_s * 1000));
    op::JobController controller(client, events, metrics, copts);

    std::map<std::string, http::Handler> health_handlers{
        {"/healthz", [] { return http::Response{200, "text/plain; charset=utf-8", "ok\n"}; }},
        {"/readyz", [&controller] {
           return controller.synced()
                      ? http::Response{200, "text/plain; charset=utf-8", "ok\n"}
                      : http::Response{503, "text/plain; charset=utf-8", "informers not synced\n"};
         }}};
    std::map<std::string, http::Handler> metrics_handlers{
        {"/metrics", [&controller, &metrics] {
           controller.refresh_gauges();
           return http::Response{200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape()};
         }}};
    auto serve = [](const std::pair<std::string, int>& where, std::map<std::string, http::Handler> handlers) {
      http::ServerOptions o;
      o.host = where.first;
      o.port = where.second;
      o.threads = 4;
      return std::make_unique<http::Server>(o, std::move(handlers));
    };
    std::unique_ptr<http::Server> health_ep, metrics_ep;
    if (health_listen && health_listen == metrics_listen) {
      health_handlers.insert(metrics_handlers.begin(), metrics_handlers.end());
      health_ep = serve(*health_listen, health_handlers);
    } else {
      if (health_listen) health_ep = serve(*health_listen, health_handlers);
      if (metrics_listen) metrics_ep = serve(*metrics_listen, metrics_handlers);
    }
    info(std::string("accel-operator ") + ACCEL_VERSION + " against " + config.server + " (" +
         config.source + "), namespace " + (ns.empty() ? "<all>" : ns) + ", " +
         std::to_string(workers) + " workers" +
         (health_ep ? ", health on port " + std::to_string(health_ep->port()) : "") +
         (metrics_ep ? ", metrics on port " + std::to_string(metrics_ep->port()) : ""));

    controller.start_informers();

    std::atomic<bool> shutting_down{false};
    std::unique_ptr<kube::LeaderElector> elector;
    if (leader_elect) {
      kube::LeaderElectionConfig le;
      le.lease_namespace = le_ns.empty() ? env_or("POD_NAMESPACE", "default") : le_ns;
      le.lease_name = le_id;
      le.identity = !identity.empty() ? identity
                                      : env_or("POD_NAME", hostname() + "_" + std::to_string(getpid()));
      le.lease_duration = std::chrono::milliseconds(static_cast<long>(lease_s * 1000));
      le.renew_deadline = std::chrono::milliseconds(static_cast<long>(renew_s * 1000));
      le.retry_period = std::chrono::milliseconds(static_cast<long>(retry_s * 1000));
      kube::LeaderCallbacks cb;
      cb.on_started_leading = [&controller, &metrics, &info, le] {
        info("became leader (" + le.identity + " holds Lease " + le.lease_namespace + "/" +
             le.lease_name + "); starting workers");
        metrics.set_leader(true);
        controller.start_workers();
      };
      cb.on_stopped_leading = [&shutting_down, &metrics] {
        metrics.set_leader(false);
        if (shutting_down.load()) return;
        // Lost the lease while running: another replica may already reconcile. Exit at once
        // (no clean-up that could still write) and let the Deployment restart us as a standby.
        kube::log(kube::LogLevel::Error, "lost the leader lease; exiting");
        std::fflush(nullptr);
        std::_Exit(1);
      };
      cb.on_new_leader = [&info](const std::string& id) { info("leader is now " + (id.empty() ? std::string("<none>") : id)); };
      info("campaigning for Lease " + le.lease_namespace + "/" + le.lease_name + " as " + le.identity);
      elector = std::make_unique<kube::LeaderElector>(client, le, cb);
      elector->start();
    } else {
      metrics.set_leader(true);
      controller.start_workers();
    }

    int sig = 0;
    sigwait(&signals, &sig);
    info(std::string("received ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
         "; finishing in-flight reconciles");
    shutting_down = true;
    controller.stop();  // no new keys; in-flight reconciles finish; informers stop
    if (elector) elector->stop();  // releases the lease so a standby takes over at once
    events.flush(std::chrono::seconds(5));
    info("stopped");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "accel-operator: " << e.what() << std::endl;
    return 1;
  }
}

// Every panel of the Grafana dashboard (charts/accel-operator/dashboards/accel.json, read from
// the file itself through dashboard_queries.h) returns data from a real Prometheus.
//
// Real components: kube-apiserver + etcd (tests/support/control_plane.h) with the CRD; the real
// accel-operator binary reconciling one AccelJob there; a real 2-rank training run (`accel
// launch` + accel-train-gpt, Gloo on CPU) that carries the same job's identity
// (ACCEL_JOB_NAME / ACCEL_JOB_NAMESPACE, as the operator's env contract sets it) and writes
// checkpoints; and Debian's Prometheus scraping both every second (static targets: the workers
// with honor_labels, as the chart's PodMonitor does; the operator like its ServiceMonitor).
// No kubelet: the test moves the job's pod through its phases with `kubectl patch
// --subresource=status` (one failure, so the job has a restart to show), while the training
// runs as local processes. The operator reads rank 0's real /progress through the
// accel.dev/progress-url annotation every second, so it reconciles all the time.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "accel/subprocess.h"
#include "control_plane.h"
#include "dashboard_queries.h"
#include "eventually.h"
#include "files.h"
#include "http.h"
#include "ports.h"
#include "prometheus.h"
#include "rfc3339.h"

namespace accel::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

const std::string kNamespace = "dash";
const std::string kJob = "gpt-dash";

class Kubectl {
 public:
  explicit Kubectl(const ControlPlane& cp) : cp_(cp) {}
  void must(const std::vector<std::string>& args) {
    auto r = cp_.kubectl(args);
    ASSERT_TRUE(r.status.success()) << json(args).dump() << "\n" << r.output;
  }
  std::string get(const std::vector<std::string>& args) {
    auto r = cp_.kubectl(args);
    return r.status.success() ? r.output : "";
  }

 private:
  const ControlPlane& cp_;
};

// What this proves: each target of each panel of the shipped dashboard, with its Grafana
// variables substituted the way Grafana would ($namespace, $job from the job's labels;
// $__rate_interval = 10s for a 1 s scrape), is valid PromQL that a real Prometheus evaluates
// (status success) to at least one series with a finite value, against metrics that the real
// worker and the real operator export. A renamed metric or label, a wrong selector, or a
// query that needs a series nobody exports fails the test and names the panel.
//
// Two panels need a word. "GPU memory" (targets A, C, D: accel_gpu_memory_{allocated,reserved,
// peak_allocated}_bytes): on CPU the worker exports them as 0 (worker/METRICS.md), so their
// series exist and are checked like every other one, plus: each value is exactly 0 here.
// "GPU utilisation" (accel_gpu_utilization_ratio) comes from NVML, which a CPU run has not:
// the query must be valid and answer no series at all (the metric is absent, not 0).
TEST(DashboardPrometheus, EveryPanelQueryReturnsDataFromARealPrometheus) {
  ControlPlane cp;
  Kubectl k(cp);
  const std::string d = cp.dir() + "/dashboard";
  ASSERT_TRUE(run_command({"mkdir", "-p", d}).status.success());
  k.must({"apply", "--server-side", "-f", source_dir() + "/crds/acceljob.yaml"});
  k.must({"wait", "--for=condition=Established", "crd/acceljobs.accel.dev", "--timeout=60s"});
  k.must({"create", "namespace", kNamespace});

  const int metrics_port = free_port(/*pair=*/true);
  const int op_metrics_port = free_port();
  const int op_health_port = free_port();

  // The training run: 2 ranks on this machine, the AccelJob's identity, checkpoints every 10
  // steps, far more steps than the test needs (it is stopped at the end), so that the step
  // rate is positive when the queries run (the ETA panel divides by it).
  SubprocessOptions to;
  to.argv = {ACCEL_CLI,  "launch", "--num_processes", "2", "--main_process_port", "0", "--",
             GPT_TRAINER, "--steps", "100000", "--batch-size", "4", "--seq-len", "32", "--dim",
             "32", "--layers", "1", "--log-every", "100000"};
  to.env = {{"ACCEL_PROJECT_DIR", d},
            {"ACCEL_METRICS_PORT", std::to_string(metrics_port)},
            {"ACCEL_JOB_NAME", kJob},
            {"ACCEL_JOB_NAMESPACE", kNamespace},
            {"ACCEL_RESTART_COUNT", "1"},  // what the operator hands attempt 1 (below)
            {"ACCEL_CHECKPOINT_EVERY_STEPS", "10"},
            {"ACCEL_CHECKPOINT_KEEP", "1"},
            {"ACCEL_CONFIG_FILE", d + "/none.yaml"},
            {"OMP_NUM_THREADS", "1"}};
  to.stdout_path = d + "/train.log";
  to.stderr_path = "=stdout";
  Subprocess training(to);

  // The operator, watching the job's namespace.
  SubprocessOptions oo;
  oo.argv = {ACCEL_OPERATOR_BINARY, "--kubeconfig=" + cp.kubeconfig(), "--namespace=" + kNamespace,
             "--health-probe-bind-address=127.0.0.1:" + std::to_string(op_health_port),
             "--metrics-bind-address=127.0.0.1:" + std::to_string(op_metrics_port),
             "--progress-url-annotation", "--progress-interval=1"};
  oo.stdout_path = d + "/operator.log";
  oo.stderr_path = "=stdout";
  Subprocess op(oo);

  // Prometheus: workers with honor_labels (their own job/namespace labels), the operator plain.
  std::ostringstream cfg;
  cfg << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      << "scrape_configs:\n"
      << "  - job_name: accel-workers\n    honor_labels: true\n    static_configs:\n"
      << "      - targets: ['127.0.0.1:" << metrics_port << "', '127.0.0.1:" << metrics_port + 1
      << "']\n"
      << "  - job_name: accel-operator\n    static_configs:\n"
      << "      - targets: ['127.0.0.1:" << op_metrics_port << "']\n";
  Prometheus prometheus(d, cfg.str(),
                        {metrics_port, metrics_port + 1, op_metrics_port, op_health_port});

  ASSERT_TRUE(eventually(
      [&] {
        return !http_get("http://127.0.0.1:" + std::to_string(op_health_port) + "/readyz").empty();
      },
      seconds(60)))
      << read_file(d + "/operator.log");

  // The AccelJob: rank 0's /progress is the real one; one pod failure, then attempt 1 Running.
  json job = {{"apiVersion", "accel.dev/v1alpha1"},
              {"kind", "AccelJob"},
              {"metadata",
               {{"name", kJob},
                {"annotations",
                 {{"accel.dev/progress-url",
                   "http://127.0.0.1:" + std::to_string(metrics_port) + "/progress"}}}}},
              {"spec",
               {{"image", "registry.example/train:1"},
                {"command", {"accel-train-gpt"}},
                {"nodes", 1},
                {"metrics", {{"port", 9400}}},
                {"runPolicy", {{"maxRestarts", 3}, {"backoff", {{"initialSeconds", 0}}}}}}}};
  std::ofstream(d + "/job.json") << job.dump(2);
  k.must({"apply", "-n", kNamespace, "-f", d + "/job.json"});
  auto pod_status = [&](const std::string& pod, const json& status) {
    k.must({"patch", "pod", pod, "-n", kNamespace, "--subresource=status", "--type=merge", "-p",
            json{{"status", status}}.dump()});
  };
  auto container = [&](const json& state, bool ready) {
    return json::array({{{"name", "worker"},
                         {"image", "registry.example/train:1"},
                         {"imageID", ""},
                         {"ready", ready},
                         {"restartCount", 0},
                         {"state", state}}});
  };
  auto run_pod = [&](const std::string& pod) {
    ASSERT_TRUE(eventually(
        [&] {
          return !k.get({"get", "pod", pod, "-n", kNamespace}).empty();
        },
        seconds(60)))
        << read_file(d + "/operator.log");
    std::string now = now_rfc3339();
    pod_status(pod, {{"phase", "Running"},
                     {"startTime", now},
                     {"containerStatuses", container({{"running", {{"startedAt", now}}}}, true)}});
  };
  auto job_phase = [&] {
    return k.get({"get", "acceljob", kJob, "-n", kNamespace, "-o", "jsonpath={.status.phase}"});
  };
  run_pod(kJob + "-a0-n0");
  ASSERT_TRUE(eventually([&] { return job_phase() == "Running"; }, seconds(60)));
  {
    std::string now = now_rfc3339();
    pod_status(kJob + "-a0-n0",
               {{"phase", "Failed"},
                {"containerStatuses",
                 container({{"terminated",
                             {{"exitCode", 1}, {"reason", "Error"}, {"startedAt", now},
                              {"finishedAt", now}}}},
                           false)}});
  }
  run_pod(kJob + "-a1-n0");
  ASSERT_TRUE(eventually([&] { return job_phase() == "Running"; }, seconds(60)));

  // Enough history for the 10 s windows: both ranks and the operator scraped >= 12 times, and a
  // checkpoint written.
  auto count_over = [&](const std::string& selector) {
    return first_value(prometheus.query("min(count_over_time(" + selector + "[30s]))"));
  };
  ASSERT_TRUE(eventually(
      [&] {
        if (training.poll()) return false;
        return count_over("accel_train_steps_total{job=\"" + kJob + "\"}") >= 12 &&
               count_over("accel_operator_leader") >= 12 &&
               first_value(
                   prometheus.query("count(accel_train_steps_total{job=\"" + kJob + "\"})")) == 2 &&
               first_value(prometheus.query("min(accel_checkpoint_last_timestamp_seconds{job=\"" +
                                            kJob + "\"})")) > 0;
      },
      seconds(90)))
      << "training exited: " << training.poll().has_value() << "\n"
      << read_file(d + "/train.log") << "\n"
      << prometheus.log();

  QueryVars vars;
  vars.namespace_ = kNamespace;
  vars.job = kJob;
  vars.rate_interval = "10s";  // >= 4 x the 1 s scrape interval, as Grafana's $__rate_interval
  const auto queries = dashboard_queries(source_dir() + "/charts/accel-operator/dashboards/accel.json");
  ASSERT_GE(queries.size(), 20u);
  std::set<std::string> panels;
  for (const auto& q : queries) {
    panels.insert(q.panel);
    const std::string expr = substitute(q.expr, vars);
    SCOPED_TRACE("panel \"" + q.panel + "\" target " + q.ref_id + ": " + expr);
    EXPECT_EQ(expr.find('$'), std::string::npos) << "a Grafana variable was left unsubstituted";
    json answer;
    std::string why;
    // The newest sample of a series may be a moment old; ask a few times before calling it empty.
    bool ok = eventually(
        [&] {
          answer = prometheus.query(expr);
          if (answer.is_null() || answer.is_discarded()) {
            why = "no answer from Prometheus";
            return false;
          }
          if (answer.value("status", "") != "success") {
            why = "invalid: " + answer.dump();
            return false;
          }
          const auto& res = answer["data"]["result"];
          if (q.panel == "GPU utilisation") {
            why = "a utilisation series without NVML: " + answer.dump();
            return res.is_array() && res.empty();
          }
          if (!res.is_array() || res.empty()) {
            why = "no series: " + answer.dump();
            return false;
          }
          for (const auto& s : res) {
            double v = std::stod(s["value"][1].get<std::string>());
            if (!std::isfinite(v)) {
              why = "not a number: " + answer.dump();
              return false;
            }
          }
          return true;
        },
        seconds(5));
    EXPECT_TRUE(ok) << why;
    if (ok && q.panel == "GPU memory" && q.ref_id != "B") {
      // On CPU the worker exports CUDA memory as 0, one series per rank.
      EXPECT_EQ(answer["data"]["result"].size(), 2u) << answer.dump();
      for (const auto& s : answer["data"]["result"])
        EXPECT_EQ(s["value"][1], "0") << answer.dump();
    }
  }
  std::cout << "[ dashboard ] " << queries.size() << " targets of " << panels.size()
            << " panels evaluated against Prometheus\n";

  EXPECT_FALSE(training.poll().has_value()) << read_file(d + "/train.log");
  training.terminate(seconds(10));
  op.terminate(seconds(10));
}

}  // namespace
}  // namespace accel::testing

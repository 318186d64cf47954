// local_run.cpp — `accel run`: the operator's reconciler and executor over a LocalCluster (an
// in-process store whose pods run as local processes), and what the user sees of it.
// See accel/local/local_run.h and operator/local/RUN.md.
#include "accel/local/local_run.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/api/acceljob.h"
#include "accel/api/exit_codes.h"
#include "accel/controller/conditions.h"
#include "accel/controller/desired.h"
#include "accel/controller/executor.h"
#include "accel/controller/observed.h"
#include "accel/controller/reconcile.h"
#include "accel/launcher.h"
#include "accel/progress/progress_poller.h"
#include "local_cluster.h"

namespace accel::local {

namespace fs = std::filesystem;
using nlohmann::json;
using op::Time;

namespace {

std::atomic<int> g_stop_signal{0};
std::atomic<int> g_stop_count{0};

void on_stop_signal(int sig) {
  g_stop_signal.store(sig);
  g_stop_count.fetch_add(1);
}

std::string now_hms() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  auto s = static_cast<long long>(std::llround(seconds));
  std::ostringstream o;
  if (s >= 3600) o << s / 3600 << "h" << std::setw(2) << std::setfill('0') << (s % 3600) / 60 << "m";
  else if (s >= 60) o << s / 60 << "m" << std::setw(2) << std::setfill('0') << s % 60 << "s";
  else o << s << "s";
  return o.str();
}

std::string self_executable() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("accel") : p.string();
}

// The newest complete checkpoint folder under `dir` (worker/CHECKPOINTS.md layout).
std::string newest_checkpoint(const std::string& dir) {
  std::error_code ec;
  std::string best;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("checkpoint_", 0) != 0 || name.find('.') != std::string::npos) continue;
    if (!fs::exists(e.path() / "COMPLETE", ec)) continue;
    if (name > best) best = name;
  }
  return best.empty() ? "" : (fs::path(dir) / best).string();
}

class LocalRunner {
 public:
  LocalRunner(const LocalRunOptions& options, std::ostream& out) : options_(options), out_(out) {}

  int run();

 private:
  // ---- the spec ----
  int load();
  // Where the ranks write checkpoints, as an absolute path on this machine.
  std::string checkpoint_dir() const {
    return (fs::path(dir_) / pods_env_.host_path(*job_.spec.checkpoint.dir)).lexically_normal().string();
  }

  // ---- output ----
  void say(const std::string& line);
  void draw_progress(bool force);
  void clear_live_line();
  std::string progress_text() const;
  void report_failure_logs();
  void print_where();

  LocalRunOptions options_;
  std::ostream& out_;
  bool live_ = false;
  bool live_line_shown_ = false;

  api::AccelJob job_;
  op::OperatorOptions op_options_;
  std::string dir_;
  std::int64_t procs_ = 1;
  std::int64_t metrics_port_ = 0;
  PodEnvironment pods_env_;

  std::unique_ptr<op::ProgressPoller> progress_;
  std::chrono::steady_clock::time_point last_plain_progress_{};
  std::optional<api::JobPhase> last_phase_;
  std::atomic<int> job_phase_{-1};  // job_.status.phase for the poller's thread
};

void LocalRunner::say(const std::string& line) {
  clear_live_line();
  out_ << "[" << now_hms() << "] " << line << std::endl;
}

void LocalRunner::clear_live_line() {
  if (live_ && live_line_shown_) {
    out_ << "\r\033[2K" << std::flush;
    live_line_shown_ = false;
  }
}

std::string LocalRunner::progress_text() const {
  std::ostringstream o;
  const auto& st = job_.status;
  o << job_.metadata.name << "  " << (st.phase ? api::to_string(*st.phase) : "Pending");
  if (st.progress) {
    const api::Progress& p = *st.progress;
    o << "  step " << p.step;
    if (p.totalSteps > 0) o << "/" << p.totalSteps;
    if (p.loss) o << "  loss " << std::fixed << std::setprecision(4) << *p.loss;
    o << "  " << std::fixed << std::setprecision(1) << p.samplesPerSecond << " samples/s";
    if (p.etaSeconds > 0) o << "  ETA " << format_duration(p.etaSeconds);
  }
  o << "  restarts " << st.restarts;
  if (job_.spec.runPolicy.maxRestarts) o << "/" << *job_.spec.runPolicy.maxRestarts;
  return o.str();
}

void LocalRunner::draw_progress(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (live_) {
    out_ << "\r\033[2K" << progress_text() << std::flush;
    live_line_shown_ = true;
    return;
  }
  if (!force && now - last_plain_progress_ < std::chrono::seconds(options_.progress_every_seconds))
    return;
  if (!job_.status.progress && !force) return;
  last_plain_progress_ = now;
  say(progress_text());
}

int LocalRunner::load() {
  try {
    job_ = api::load_acceljob_file(options_.job_file);
    api::apply_defaults(job_);
    api::validate_or_throw(job_);
  } catch (const api::ValidationError& e) {
    out_ << "accel run: " << options_.job_file << ": the AccelJob is invalid:\n" << e.what() << std::endl;
    return api::to_int(api::ExitCode::ConfigError);
  } catch (const std::exception& e) {
    out_ << "accel run: " << e.what() << std::endl;
    return api::to_int(api::ExitCode::ConfigError);
  }
  auto& meta = job_.metadata;
  if (meta.namespace_.empty()) meta.namespace_ = "default";
  // What kube-apiserver would fill in; the uid is fresh per run like a new object's.
  std::random_device rd;
  std::ostringstream uid;
  uid << "local-" << std::hex << rd() << rd();
  meta.uid = uid.str();
  if (meta.generation == 0) meta.generation = 1;
  job_.status = {};

  procs_ = *job_.spec.procsPerNode;
  metrics_port_ = *job_.spec.metrics.port;
  dir_ = options_.dir.empty() ? (fs::current_path() / "accel-runs" / meta.name).string()
                              : fs::absolute(options_.dir).string();
  std::error_code ec;
  fs::create_directories(fs::path(dir_) / "logs", ec);
  if (ec) {
    out_ << "accel run: cannot create the run directory " << dir_ << ": " << ec.message() << std::endl;
    return api::to_int(api::ExitCode::ConfigError);
  }
  pods_env_.run_dir = dir_;
  pods_env_.procs_per_node = procs_;
  pods_env_.metrics_port = metrics_port_;
  pods_env_.note = [this](const std::string& line) { say(line); };

  op_options_.entrypoint = options_.entrypoint.empty() ? self_executable() : options_.entrypoint;
  op_options_.prometheus_annotations = false;
  // Node n's ranks use metrics ports port + n*procs ...: the rendezvous port must be outside them.
  const std::int64_t first_metrics = metrics_port_, last_metrics = metrics_port_ + procs_ * *job_.spec.nodes;
  op_options_.rendezvous_port = 0;
  for (int tries = 0; tries < 20 && op_options_.rendezvous_port == 0; ++tries) {
    const int port = pick_free_port();
    if (metrics_port_ == 0 || port < first_metrics || port >= last_metrics) op_options_.rendezvous_port = port;
  }
  if (op_options_.rendezvous_port == 0) {
    out_ << "accel run: no free rendezvous port outside the metrics ports " << first_metrics << ".."
         << last_metrics - 1 << " after 20 tries; choose another spec.metrics.port" << std::endl;
    return api::to_int(api::ExitCode::ConfigError);
  }
  try {
    (void)op::desired(job_, 0, op_options_);  // same checks the operator makes before creating
  } catch (const std::exception& e) {
    out_ << "accel run: " << options_.job_file << ": " << e.what() << std::endl;
    return api::to_int(api::ExitCode::ConfigError);
  }
  return 0;
}

void LocalRunner::report_failure_logs() {
  const auto& failure = job_.status.lastFailure;
  if (!failure) return;
  const std::string path = (fs::path(dir_) / "logs" / (failure->pod + ".log")).string();
  std::ifstream in(path);
  if (!in) return;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  const std::size_t from = lines.size() > 20 ? lines.size() - 20 : 0;
  say("last lines of " + path + ":");
  for (std::size_t i = from; i < lines.size(); ++i) out_ << "    " << lines[i] << "\n";
  out_ << std::flush;
}

void LocalRunner::print_where() {
  const std::string ckpt = checkpoint_dir();
  std::string project = job_.spec.logging.projectDir ? pods_env_.host_path(*job_.spec.logging.projectDir) : "";
  if (project.empty() || !fs::path(project).is_absolute()) project = (fs::path(dir_) / project).string();
  std::string logging = job_.spec.logging.loggingDir ? pods_env_.host_path(*job_.spec.logging.loggingDir) : "";
  if (logging.empty()) logging = (fs::path(project) / "logs").string();
  else if (!fs::path(logging).is_absolute()) logging = (fs::path(dir_) / logging).string();
  say("pod logs: " + (fs::path(dir_) / "logs").string() + "/<pod>.log");
  if (!job_.spec.trackers.empty()) {
    std::string types;
    for (const auto& t : job_.spec.trackers) types += (types.empty() ? "" : ", ") + api::to_string(t.type);
    say("tracker output (" + types + "): " + fs::path(logging).lexically_normal().string());
  }
  say("checkpoints: " + fs::path(ckpt).lexically_normal().string());
  if (metrics_port_ > 0) {
    std::ostringstream o;
    o << "metrics: http://127.0.0.1:" << metrics_port_ << "/metrics";
    const auto ranks = procs_ * *job_.spec.nodes;
    if (ranks > 1) o << " .. :" << metrics_port_ + ranks - 1 << " (one port per rank)";
    o << "; progress: http://127.0.0.1:" << metrics_port_ << "/progress";
    say(o.str());
  }
}

int LocalRunner::run() {
  if (int rc = load(); rc != 0) return rc;
  live_ = options_.style == LocalRunOptions::Style::Live ||
          (options_.style == LocalRunOptions::Style::Auto && &out_ == &std::cout && ::isatty(STDOUT_FILENO));

  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  struct sigaction old_int {}, old_term {};
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);

  say("running AccelJob " + job_.metadata.name + " from " + options_.job_file + ": " +
      std::to_string(*job_.spec.nodes) + " node(s) x " + std::to_string(procs_) + " process(es), precision " +
      api::to_string(*job_.spec.precision) + ", gradient accumulation " +
      std::to_string(*job_.spec.gradientAccumulationSteps) + "; run directory " + dir_);
  print_where();

  const auto grace = std::chrono::seconds(*job_.spec.template_.terminationGracePeriodSeconds);
  LocalCluster cluster(pods_env_, grace, [this](const std::string& line) { say(line); });
  // Rank 0's /progress, read by the operator's poller (about once a second here).
  const std::string key = job_.metadata.namespace_ + "/" + job_.metadata.name;
  if (metrics_port_ > 0) {
    const std::string url = "http://127.0.0.1:" + std::to_string(metrics_port_) + "/progress";
    progress_ = std::make_unique<op::ProgressPoller>(
        [this, key, url] {
          const auto phase = job_phase_.load();
          return phase == static_cast<int>(api::JobPhase::Running)
                     ? std::vector<op::ProgressPoller::Target>{{key, url}}
                     : std::vector<op::ProgressPoller::Target>{};
        },
        nullptr, std::chrono::seconds(1), std::chrono::seconds(1));
    progress_->start();
  }

  const auto started = std::chrono::steady_clock::now();
  int exit_code = 0;
  auto hurry = [] { return g_stop_count.load() >= 2; };  // a second Ctrl-C: no more waiting
  for (;;) {
    const Time now = std::chrono::system_clock::now();
    if (g_stop_signal.load() != 0) {
      const int sig = g_stop_signal.load();
      say(std::string("stopping the gang (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
          "): SIGTERM to every rank, completed checkpoints are kept; Ctrl-C again to kill at once");
      cluster.stop_everything(grace, hurry);
      // Every rank stops after the same step with a checkpoint of it and exits 82 (libaccel's
      // answer to SIGTERM): then so does accel run. Otherwise the signal's code, as a shell's.
      bool all_preempted = false;
      for (const auto& p : cluster.observe().pods) {
        if (p.attempt != job_.status.attempt) continue;
        all_preempted = p.terminated && p.terminated->exit_code == api::to_int(api::ExitCode::Preempted);
        if (!all_preempted) break;
      }
      const std::string ckpt = newest_checkpoint(checkpoint_dir());
      say(ckpt.empty() ? "stopped; no checkpoint was completed"
                       : std::string(all_preempted ? "stopped after a checkpoint of the last step: "
                                                   : "stopped; the last checkpoint is ") +
                             ckpt + " (a new `accel run` resumes from it)");
      exit_code = all_preempted ? api::to_int(api::ExitCode::Preempted) : 128 + sig;
      break;
    }
    cluster.sync(now);
    op::ObservedState observed = cluster.observe();
    if (progress_ && job_.status.phase == api::JobPhase::Running) observed.progress = progress_->latest(key);
    const op::Decision decision = op::reconcile(job_, observed, now, op_options_);
    op::execute(job_, decision, cluster);  // in process: never a conflict
    job_.status = cluster.status();
    job_phase_ = job_.status.phase ? static_cast<int>(*job_.status.phase) : -1;

    const auto phase = job_.status.phase;
    if (phase != last_phase_) {
      last_phase_ = phase;
      say("phase " + (phase ? api::to_string(*phase) : std::string("Pending")) + " (attempt " +
          std::to_string(job_.status.attempt) + ", restarts " + std::to_string(job_.status.restarts) + ")");
    }
    if (phase && (*phase == api::JobPhase::Succeeded || *phase == api::JobPhase::Failed)) {
      // Clean-up actions were just applied; the runner owns every process, so none outlives it.
      cluster.stop_everything(grace, hurry);
      if (*phase == api::JobPhase::Succeeded) {
        clear_live_line();
        // Every rank has exited, so rank 0's /progress is gone: report the run, not a stale step.
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        say("AccelJob " + job_.metadata.name + " Succeeded in " + format_duration(seconds) + " (restarts " +
            std::to_string(job_.status.restarts) + ")");
        exit_code = 0;
      } else {
        const auto& f = job_.status.lastFailure;
        std::string why;
        if (const api::Condition* c = op::find_condition(job_.status.conditions, op::kCondFailed))
          why = c->reason + ": " + c->message;
        say("AccelJob " + job_.metadata.name + " Failed (" + why + ")");
        report_failure_logs();
        if (f && f->exitCode > 0 && f->exitCode < 256) exit_code = static_cast<int>(f->exitCode);
        else if (f && f->reason == op::reason::kStalled) exit_code = api::to_int(api::ExitCode::Stalled);
        else exit_code = 1;
      }
      print_where();
      break;
    }
    draw_progress(false);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (progress_) progress_->stop();
  clear_live_line();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return exit_code;
}

}  // namespace

int run_local_job(const LocalRunOptions& options, std::ostream& out) {
  LocalRunner runner(options, out);
  return runner.run();
}

}  // namespace accel::local

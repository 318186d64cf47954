// local_run.cpp — `accel run`: the operator's reconciler over an in-process store and a local
// process runner. See accel/local_run.h and worker/RUN.md.
#include "accel/local_run.h"

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
#include "accel/controller/desired.h"
#include "accel/controller/observed.h"
#include "accel/controller/reconcile.h"
#include "accel/launcher.h"
#include "accel/subprocess.h"

namespace accel {

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

// One pod of the in-process store: the object desired() made, plus what a kubelet would
// report about it, plus the process that runs it.
struct LocalPod {
  json object;
  std::int64_t attempt = -1;
  std::int64_t node_rank = -1;
  Time created;
  std::optional<Time> started;
  std::unique_ptr<Subprocess> process;     // null once reaped
  std::optional<ExitStatus> exit;          // how the process ended
  std::optional<Time> finished_at;
  std::optional<Time> deletion_timestamp;  // set: Terminating (SIGTERM sent)
  Time kill_at;                            // Terminating: SIGKILL from then on
  std::string log_path;
};

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

// GET http://127.0.0.1:port/path with a short timeout; the body, or nullopt. Loopback only:
// this reads the local rank 0's /progress, nothing else.
std::optional<std::string> http_get_loopback(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return std::nullopt;
  const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    return std::nullopt;
  std::string response;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<std::size_t>(n));
    if (response.size() > (1 << 20)) return std::nullopt;
  }
  if (response.rfind("HTTP/1.", 0) != 0 || response.find(" 200 ") == std::string::npos)
    return std::nullopt;
  auto body = response.find("\r\n\r\n");
  if (body == std::string::npos) return std::nullopt;
  return response.substr(body + 4);
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
  std::string host_path(const std::string& path) const;
  // Where the ranks write checkpoints, as an absolute path on this machine.
  std::string checkpoint_dir() const {
    return (fs::path(dir_) / host_path(*job_.spec.checkpoint.dir)).lexically_normal().string();
  }

  // ---- the store and the runner ----
  op::ObservedState observe(Time now);
  void apply(const op::Decision& decision, Time now);
  void create_pod(const json& object, Time now);
  void delete_pod(LocalPod& pod, bool force, Time now);
  void reap(Time now);
  std::map<std::string, std::string> pod_env(const json& object, std::int64_t node_rank);
  bool any_process_running() const;
  void stop_everything(std::chrono::milliseconds grace);

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

  std::map<std::string, LocalPod> pods_;
  std::set<std::string> services_;

  std::optional<json> last_progress_doc_;
  std::chrono::steady_clock::time_point last_progress_poll_{};
  std::chrono::steady_clock::time_point last_plain_progress_{};
  std::optional<api::JobPhase> last_phase_;
  std::set<std::string> warned_env_;
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
  if (last_progress_doc_) {
    const json& p = *last_progress_doc_;
    const auto step = p.value("step", std::int64_t{0});
    const auto total = p.value("totalSteps", std::int64_t{0});
    o << "  step " << step;
    if (total > 0) o << "/" << total;
    if (p.contains("loss") && p["loss"].is_number())
      o << "  loss " << std::fixed << std::setprecision(4) << p["loss"].get<double>();
    o << "  " << std::fixed << std::setprecision(1) << p.value("samplesPerSecond", 0.0)
      << " samples/s";
    if (p.contains("etaSeconds") && p["etaSeconds"].is_number())
      o << "  ETA " << format_duration(p["etaSeconds"].get<double>());
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
  if (!last_progress_doc_ && !force) return;
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

  op_options_.entrypoint = options_.entrypoint.empty() ? self_executable() : options_.entrypoint;
  op_options_.prometheus_annotations = false;
  // Node n's ranks use metrics ports port + n*procs ...: pick a rendezvous port outside them.
  for (int tries = 0; tries < 20; ++tries) {
    int port = pick_free_port();
    if (metrics_port_ == 0 || port < metrics_port_ || port >= metrics_port_ + procs_ * *job_.spec.nodes) {
      op_options_.rendezvous_port = port;
      break;
    }
  }
  try {
    (void)op::desired(job_, 0, op_options_);  // same checks the operator makes before creating
  } catch (const std::exception& e) {
    out_ << "accel run: " << options_.job_file << ": " << e.what() << std::endl;
    return api::to_int(api::ExitCode::ConfigError);
  }
  return 0;
}

std::string LocalRunner::host_path(const std::string& path) const {
  if (path.empty() || path[0] != '/') return path;  // relative: under the run directory (cwd)
  return (fs::path(dir_) / path.substr(1)).string();
}

std::map<std::string, std::string> LocalRunner::pod_env(const json& object, std::int64_t node_rank) {
  std::map<std::string, std::string> env;
  const json& container = object["spec"]["containers"][0];
  const std::string pod_name = object["metadata"]["name"].get<std::string>();
  const std::string master_dns = job_.metadata.name + "-n0." + job_.metadata.name;
  for (const auto& e : container.value("env", json::array())) {
    const std::string name = e.value("name", "");
    if (e.contains("value")) {
      std::string value = e["value"].get<std::string>();
      // Loopback stands in for the pods' DNS names and IPs.
      if (value == master_dns || value.rfind(master_dns + ".", 0) == 0) value = "127.0.0.1";
      // Every "node" shares this host: node n's processes take the next block of metrics ports.
      if (name == "ACCEL_METRICS_PORT" && metrics_port_ > 0)
        value = std::to_string(metrics_port_ + node_rank * procs_);
      if (name == "ACCEL_CHECKPOINT_DIR" || name == "ACCEL_PROJECT_DIR" || name == "ACCEL_LOGGING_DIR")
        value = host_path(value);
      env[name] = value;
      continue;
    }
    const json& from = e.value("valueFrom", json::object());
    if (from.contains("fieldRef")) {
      const std::string field = from["fieldRef"].value("fieldPath", "");
      if (field == "metadata.name") env[name] = pod_name;
      else if (field == "metadata.namespace") env[name] = job_.metadata.namespace_;
      else if (field == "status.podIP" || field == "status.hostIP") env[name] = "127.0.0.1";
      else if (field == "spec.nodeName") env[name] = "localhost";
      continue;
    }
    // secretKeyRef / configMapKeyRef: there is no API server to read them from. The value is
    // taken from this process's environment under the same name (inherited), never printed.
    if (!std::getenv(name.c_str()) && warned_env_.insert(name).second) {
      std::string source = from.contains("secretKeyRef") ? "secret" : "configMap";
      const json& ref = from.contains("secretKeyRef") ? from["secretKeyRef"] : from.value("configMapKeyRef", json::object());
      say("note: env " + name + " comes from " + source + " " + ref.value("name", "?") + " key " +
          ref.value("key", "?") + "; set " + name + " in this environment to pass it to the ranks");
    }
  }
  return env;
}

void LocalRunner::create_pod(const json& object, Time now) {
  const std::string name = object["metadata"]["name"].get<std::string>();
  if (pods_.count(name)) return;  // AlreadyExists is success
  LocalPod pod;
  pod.object = object;
  const json& labels = object["metadata"].value("labels", json::object());
  pod.attempt = std::stoll(labels.value("accel.dev/attempt", "-1"));
  pod.node_rank = std::stoll(labels.value("accel.dev/node-rank", "-1"));
  pod.created = now;
  pod.log_path = (fs::path(dir_) / "logs" / (name + ".log")).string();

  const json& container = object["spec"]["containers"][0];
  SubprocessOptions so;
  for (const auto& a : container["command"]) so.argv.push_back(a.get<std::string>());
  for (const auto& a : container.value("args", json::array())) so.argv.push_back(a.get<std::string>());
  so.env = pod_env(object, pod.node_rank);
  so.cwd = dir_;
  so.stdout_path = pod.log_path;
  so.stderr_path = "=stdout";
  so.new_process_group = true;
  {
    std::ofstream log(pod.log_path, std::ios::app);
    log << "==== " << name << " started " << op::format_rfc3339(now) << " ====\n";
  }
  for (const auto& dir_key : {"ACCEL_CHECKPOINT_DIR", "ACCEL_PROJECT_DIR", "ACCEL_LOGGING_DIR"}) {
    auto it = so.env.find(dir_key);
    std::error_code ec;
    if (it != so.env.end() && !it->second.empty()) fs::create_directories(fs::path(dir_) / it->second, ec);
  }
  try {
    pod.process = std::make_unique<Subprocess>(so);
    pod.started = now;
  } catch (const std::exception& e) {
    // Like a container that cannot start: the pod fails (exit 127 as a shell reports it).
    say("pod " + name + " could not start: " + e.what());
    pod.exit = ExitStatus{127, std::nullopt};
    pod.finished_at = now;
  }
  pods_.emplace(name, std::move(pod));
}

void LocalRunner::delete_pod(LocalPod& pod, bool force, Time now) {
  if (!pod.deletion_timestamp) {
    pod.deletion_timestamp = now;
    pod.kill_at = now + std::chrono::seconds(op_options_.termination_grace_period_seconds);
    if (pod.process) pod.process->signal(force ? SIGKILL : SIGTERM);
  } else if (force && pod.process) {
    pod.process->signal(SIGKILL);
  }
}

void LocalRunner::reap(Time now) {
  for (auto it = pods_.begin(); it != pods_.end();) {
    LocalPod& pod = it->second;
    if (pod.process) {
      if (auto status = pod.process->poll()) {
        pod.exit = *status;
        pod.finished_at = now;
        pod.process.reset();
      } else if (pod.deletion_timestamp && now >= pod.kill_at) {
        pod.process->signal(SIGKILL);  // the grace period is over, as a kubelet does
      }
    }
    // A deleted pod disappears once its process has ended (the kubelet's final delete).
    if (pod.deletion_timestamp && !pod.process) it = pods_.erase(it);
    else ++it;
  }
}

op::ObservedState LocalRunner::observe(Time now) {
  op::ObservedState observed;
  for (const auto& [name, pod] : pods_) {
    op::ObservedPod o;
    o.name = name;
    o.attempt = pod.attempt;
    o.node_rank = pod.node_rank;
    o.created = pod.created;
    o.started = pod.started;
    o.deletion_timestamp = pod.deletion_timestamp;
    if (pod.exit) {
      o.phase = pod.exit->success() ? op::PodPhase::Succeeded : op::PodPhase::Failed;
      op::Termination t;
      t.exit_code = pod.exit->code();
      t.reason = pod.exit->success() ? "Completed" : "Error";
      t.finished_at = pod.finished_at;
      o.terminated = t;
    } else {
      o.phase = op::PodPhase::Running;
    }
    observed.pods.push_back(std::move(o));
  }
  observed.services.assign(services_.begin(), services_.end());

  // Rank 0's /progress, as the operator reads it (about once a second).
  const auto steady = std::chrono::steady_clock::now();
  const bool gang_live = job_.status.phase && (*job_.status.phase == api::JobPhase::Running ||
                                               *job_.status.phase == api::JobPhase::Starting);
  if (metrics_port_ > 0 && gang_live && steady - last_progress_poll_ >= std::chrono::seconds(1)) {
    last_progress_poll_ = steady;
    if (auto body = http_get_loopback(static_cast<int>(metrics_port_), "/progress")) {
      json doc = json::parse(*body, nullptr, false);
      if (!doc.is_discarded() && doc.is_object()) last_progress_doc_ = doc;
    }
  }
  if (last_progress_doc_) observed.progress = op::progress_from_json(*last_progress_doc_);
  return observed;
}

void LocalRunner::apply(const op::Decision& decision, Time now) {
  // Status first (reconcile.h's contract); in-process it cannot conflict.
  job_.status = decision.status;
  for (const auto& action : decision.actions) {
    std::visit(
        [&](const auto& a) {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<A, op::CreateService>) {
            services_.insert(a.object["metadata"]["name"].template get<std::string>());
          } else if constexpr (std::is_same_v<A, op::CreatePod>) {
            create_pod(a.object, now);
          } else if constexpr (std::is_same_v<A, op::DeletePod>) {
            if (auto it = pods_.find(a.name); it != pods_.end()) delete_pod(it->second, a.force, now);
          } else if constexpr (std::is_same_v<A, op::DeleteAllPods>) {
            for (auto& [name, pod] : pods_) delete_pod(pod, false, now);
          } else if constexpr (std::is_same_v<A, op::RecordEvent>) {
            say((a.type == "Warning" ? "warning: " : "") + a.reason + ": " + a.message);
          } else {
            // RequeueAfter: the loop wakes at least every 200 ms anyway.
            // DeleteJob (ttlSecondsAfterFinished): there is no stored object to delete.
          }
        },
        action);
  }
}

bool LocalRunner::any_process_running() const {
  for (const auto& [name, pod] : pods_)
    if (pod.process) return true;
  return false;
}

void LocalRunner::stop_everything(std::chrono::milliseconds grace) {
  const Time now = std::chrono::system_clock::now();
  for (auto& [name, pod] : pods_) {
    if (!pod.process) continue;
    pod.process->signal(SIGTERM);
    pod.deletion_timestamp = now;
    pod.kill_at = now + grace;
  }
  while (any_process_running()) {
    const Time t = std::chrono::system_clock::now();
    if (g_stop_count.load() >= 2) {  // a second Ctrl-C: no more waiting
      for (auto& [name, pod] : pods_)
        if (pod.process) pod.process->signal(SIGKILL);
    }
    for (auto& [name, pod] : pods_) {
      if (!pod.process) continue;
      if (auto status = pod.process->poll()) {
        pod.exit = *status;
        pod.process.reset();
      } else if (t >= pod.kill_at) {
        pod.process->signal(SIGKILL);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void LocalRunner::report_failure_logs() {
  const auto& failure = job_.status.lastFailure;
  if (!failure) return;
  auto it = pods_.find(failure->pod);
  std::string path = it != pods_.end() ? it->second.log_path
                                       : (fs::path(dir_) / "logs" / (failure->pod + ".log")).string();
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
  std::string project = job_.spec.logging.projectDir ? host_path(*job_.spec.logging.projectDir) : "";
  if (project.empty() || !fs::path(project).is_absolute()) project = (fs::path(dir_) / project).string();
  std::string logging = job_.spec.logging.loggingDir ? host_path(*job_.spec.logging.loggingDir) : "";
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

  const auto started = std::chrono::steady_clock::now();
  int exit_code = 0;
  for (;;) {
    const Time now = std::chrono::system_clock::now();
    if (g_stop_signal.load() != 0) {
      const int sig = g_stop_signal.load();
      say(std::string("stopping the gang (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
          "): SIGTERM to every rank, completed checkpoints are kept; Ctrl-C again to kill at once");
      stop_everything(std::chrono::seconds(op_options_.termination_grace_period_seconds));
      const std::string ckpt = newest_checkpoint(checkpoint_dir());
      say(ckpt.empty() ? "stopped; no checkpoint was completed"
                       : "stopped; the last checkpoint is " + ckpt + " (a new `accel run` resumes from it)");
      exit_code = 128 + sig;
      break;
    }
    reap(now);
    op::Decision decision = op::reconcile(job_, observe(now), now, op_options_);
    apply(decision, now);

    const auto phase = job_.status.phase;
    if (phase != last_phase_) {
      last_phase_ = phase;
      say("phase " + (phase ? api::to_string(*phase) : std::string("Pending")) + " (attempt " +
          std::to_string(job_.status.attempt) + ", restarts " + std::to_string(job_.status.restarts) + ")");
    }
    if (phase && (*phase == api::JobPhase::Succeeded || *phase == api::JobPhase::Failed)) {
      // Clean-up actions were just applied; the runner owns every process, so none outlives it.
      stop_everything(std::chrono::seconds(op_options_.termination_grace_period_seconds));
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
        for (const auto& c : job_.status.conditions)
          if (c.type == "Failed") why = c.reason + ": " + c.message;
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

}  // namespace accel

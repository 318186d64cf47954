#include "control_plane.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace accel::testing {

std::string source_dir() { return ACCEL_SOURCE_DIR; }

namespace {

std::string script() { return source_dir() + "/scripts/controlplane.sh"; }

std::string make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/accel-cp-XXXXXX";
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
  return tmpl;
}

}  // namespace

ControlPlane::ControlPlane(ControlPlaneOptions options) : dir_(make_temp_dir()) {
  std::vector<std::string> argv{"bash", script(), "start", dir_};
  if (options.with_controllers) argv.push_back("--with-controllers");
  if (options.gang_scheduling) argv.push_back("--gang-scheduling");
  if (options.with_controllers && options.node_monitor_grace_period.count() > 0)
    argv.push_back("--node-monitor-grace-period=" +
                   std::to_string(options.node_monitor_grace_period.count()) + "s");
  auto r = run_command(argv, std::chrono::seconds(180),
                       {{"ACCEL_CP_OWNER_PID", std::to_string(::getpid())}});
  if (!r.status.success()) {
    run_command({"bash", script(), "stop", dir_}, std::chrono::seconds(30));
    throw std::runtime_error("control plane did not start (" + r.status.describe() + "):\n" +
                             r.output);
  }
}

ControlPlane::~ControlPlane() {
  run_command({"bash", script(), "stop", dir_}, std::chrono::seconds(60));
  if (!std::getenv("ACCEL_KEEP_CONTROL_PLANE_DIR"))
    run_command({"rm", "-rf", dir_}, std::chrono::seconds(30));
}

std::string ControlPlane::value_of(const std::string& key) const {
  std::ifstream in(dir_ + "/env");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  throw std::runtime_error("no " + key + " in " + dir_ + "/env");
}

std::string ControlPlane::server() const {
  return "https://127.0.0.1:" + value_of("APISERVER_PORT");
}

std::string ControlPlane::kubectl_path() const { return value_of("KUBE_BIN") + "/kubectl"; }

std::string ControlPlane::kwok_dir() const { return value_of("KWOK_DIR"); }

CommandResult ControlPlane::kubectl(const std::vector<std::string>& args,
                                    std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv{kubectl_path(), "--kubeconfig=" + kubeconfig()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout);
}

void ControlPlane::restart_apiserver() {
  auto r = run_command({"bash", script(), "restart-apiserver", dir_}, std::chrono::seconds(180));
  if (!r.status.success())
    throw std::runtime_error("kube-apiserver did not restart: " + r.output);
}

void ControlPlane::restart_etcd(std::chrono::seconds downtime) {
  auto r = run_command({"bash", script(), "restart-etcd", dir_, std::to_string(downtime.count())},
                       downtime + std::chrono::seconds(120));
  if (!r.status.success()) throw std::runtime_error("etcd did not restart: " + r.output);
}

}  // namespace accel::testing

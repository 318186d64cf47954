#include "kueue.h"

#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace accel::testing {

namespace {

std::string script() { return source_dir() + "/scripts/kueue.sh"; }

}  // namespace

Kueue::Kueue(const ControlPlane& cp, KueueOptions options)
    : options_(std::move(options)), dir_(cp.dir() + "/kueue") {
  auto r =
      run_command({"bash", script(), "start", dir_, cp.kubeconfig(), "--namespace-label",
                   options_.namespace_label},
                  std::chrono::seconds(180), {{"ACCEL_CP_OWNER_PID", std::to_string(::getpid())}});
  if (!r.status.success()) {
    run_command({"bash", script(), "stop", dir_}, std::chrono::seconds(30));
    throw std::runtime_error("Kueue did not start (" + r.status.describe() + "):\n" + r.output);
  }
}

Kueue::~Kueue() { run_command({"bash", script(), "stop", dir_}, std::chrono::seconds(60)); }

std::string Kueue::namespace_label_key() const {
  return options_.namespace_label.substr(0, options_.namespace_label.find('='));
}

std::string Kueue::namespace_label_value() const {
  const auto eq = options_.namespace_label.find('=');
  return eq == std::string::npos ? "" : options_.namespace_label.substr(eq + 1);
}

int Kueue::webhook_port() const {
  std::ifstream in(dir_ + "/env");
  std::string line;
  const std::string key = "WEBHOOK_PORT=";
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stoi(line.substr(key.size()));
  throw std::runtime_error("no " + key + " in " + dir_ + "/env");
}

}  // namespace accel::testing

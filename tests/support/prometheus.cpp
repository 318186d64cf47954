#include "prometheus.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "files.h"
#include "ports.h"

namespace accel::testing {

namespace {

int free_port_except(const std::vector<int>& avoid) {
  int port = free_port();
  while (std::find(avoid.begin(), avoid.end(), port) != avoid.end()) port = free_port();
  return port;
}

SubprocessOptions prometheus_options(const std::string& dir, const std::string& config, int port) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/prometheus.yml") << config;
  SubprocessOptions o;
  o.argv = {"prometheus", "--config.file=" + dir + "/prometheus.yml",
            "--storage.tsdb.path=" + dir + "/tsdb",
            "--web.listen-address=127.0.0.1:" + std::to_string(port)};
  o.stdout_path = dir + "/prometheus.log";
  o.stderr_path = "=stdout";
  return o;
}

}  // namespace

Prometheus::Prometheus(const std::string& dir, const std::string& config,
                       const std::vector<int>& avoid)
    : dir_(dir), port_(free_port_except(avoid)), process_(prometheus_options(dir, config, port_)) {}

std::string Prometheus::log() const { return read_file(dir_ + "/prometheus.log"); }

nlohmann::json Prometheus::query(const std::string& promql) const {
  // No -f: an invalid query's answer (HTTP 400) is JSON that says why.
  auto r =
      run_command({"curl", "-s", "--max-time", "5", "-G", "--data-urlencode", "query=" + promql,
                   "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/query"},
                  std::chrono::seconds(10));
  if (!r.status.success()) return nullptr;
  return nlohmann::json::parse(r.output, nullptr, false);
}

double first_value(const nlohmann::json& answer) {
  if (answer.is_discarded() || answer.is_null() || answer.value("status", "") != "success")
    return NAN;
  const auto& res = answer["data"]["result"];
  if (!res.is_array() || res.empty()) return NAN;
  return std::stod(res[0]["value"][1].get<std::string>());
}

}  // namespace accel::testing

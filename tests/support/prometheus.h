// prometheus.h — a real Prometheus server (Debian's `prometheus` binary) for tests that check
// what it scrapes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/subprocess.h"

namespace accel::testing {

// One prometheus process on 127.0.0.1, stopped when the object goes away.
class Prometheus {
 public:
  // Writes `config` (prometheus.yml text) to DIR/prometheus.yml (creating DIR) and starts
  // prometheus on a free port that is none of `avoid` (ports the test's own processes will
  // bind), with its TSDB in DIR/tsdb and its output in DIR/prometheus.log. Does not wait for it
  // to be ready. Throws std::runtime_error when the binary cannot be started.
  Prometheus(const std::string& dir, const std::string& config, const std::vector<int>& avoid = {});

  int port() const { return port_; }
  std::string log() const;  // what it has printed so far

  // The parsed answer of the instant-query API (also for an invalid query: status "error");
  // null when Prometheus did not answer, discarded when the answer is not JSON.
  nlohmann::json query(const std::string& promql) const;

 private:
  std::string dir_;
  int port_;
  Subprocess process_;
};

// The value of the first series of an instant-query answer; NaN when it has none or failed.
double first_value(const nlohmann::json& answer);

}  // namespace accel::testing

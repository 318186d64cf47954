// dashboard_queries.h — the PromQL of the Grafana dashboard, for tests that evaluate it.
//
// charts/accel-operator/dashboards/accel.json is the one source; this header reads every
// panel target's `expr` from it (nested row panels included), so a test that runs the queries
// against a real Prometheus cannot drift from what Grafana shows.
//
// The queries use exactly three Grafana variables, which a test must substitute before sending
// a query to Prometheus (substitute() does it):
//   $namespace        → the AccelJob's namespace (label `namespace` on worker series; label
//                       `job_namespace` on accel_operator_restarts_total)
//   $job              → the AccelJob's name (label `job` on worker series, `job_name` on the
//                       operator's per-job series)
//   $__rate_interval  → a range for rate()/increase(), at least 4 × the scrape interval
//                       (e.g. "1m" with a 15 s scrape; "10s" with the 1 s scrape of a test)
// Selectors use exact matches (`job="$job"`), so substitute plain values, not regexes.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace accel::testing {

struct PanelQuery {
  std::string panel;   // panel title
  std::string ref_id;  // target refId (A, B, ...)
  std::string expr;    // PromQL with Grafana variables left in
};

struct QueryVars {
  std::string namespace_ = "default";
  std::string job;
  std::string rate_interval = "1m";
};

inline nlohmann::json read_dashboard(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read dashboard " + path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::runtime_error("dashboard " + path + " is not valid JSON: " + e.what());
  }
}

namespace detail {
inline void collect_queries(const nlohmann::json& panels, std::vector<PanelQuery>& out) {
  for (const auto& p : panels) {
    if (p.contains("panels")) collect_queries(p["panels"], out);
    if (!p.contains("targets")) continue;
    for (const auto& t : p["targets"])
      out.push_back({p.value("title", ""), t.value("refId", ""), t.value("expr", "")});
  }
}
inline void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size())
    s.replace(pos, from.size(), to);
}
}  // namespace detail

// Every target of every panel, in dashboard order.
inline std::vector<PanelQuery> dashboard_queries(const nlohmann::json& dashboard) {
  std::vector<PanelQuery> out;
  detail::collect_queries(dashboard.value("panels", nlohmann::json::array()), out);
  return out;
}
inline std::vector<PanelQuery> dashboard_queries(const std::string& path) {
  return dashboard_queries(read_dashboard(path));
}

// The query with $__rate_interval, $namespace and $job (also in ${name} form) replaced.
inline std::string substitute(std::string expr, const QueryVars& v) {
  detail::replace_all(expr, "${__rate_interval}", v.rate_interval);
  detail::replace_all(expr, "$__rate_interval", v.rate_interval);
  detail::replace_all(expr, "${namespace}", v.namespace_);
  detail::replace_all(expr, "$namespace", v.namespace_);
  detail::replace_all(expr, "${job}", v.job);
  detail::replace_all(expr, "$job", v.job);
  return expr;
}

}  // namespace accel::testing

// Files of the Helm chart, checked without running anything: the chart's CRD copy is the
// generated CRD, and the Grafana dashboard is well formed, complete, and queries only metrics
// that worker/METRICS.md and the chart README document.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

#include "dashboard_queries.h"
#include "files.h"

namespace accel::testing {
namespace {

const std::string kRoot = ACCEL_SOURCE_DIR;
const std::string kChart = kRoot + "/charts/accel-operator";

// Every `accel_...` name written in backticks in a Markdown file.
std::set<std::string> documented_metrics(const std::string& path) {
  std::set<std::string> names;
  const std::string text = read_file_or_throw(path);
  static const std::regex re("`(accel_[a-z0-9_]+)`");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
       ++it)
    names.insert((*it)[1]);
  return names;
}

// Metric names used in a PromQL expression (identifiers starting with accel_).
std::set<std::string> metrics_in(const std::string& expr) {
  std::set<std::string> names;
  static const std::regex re("\\b(accel_[a-z0-9_]+)");
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), re); it != std::sregex_iterator();
       ++it)
    names.insert((*it)[1]);
  return names;
}

std::string histogram_base(const std::string& name) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
      return name.substr(0, name.size() - s.size());
  }
  return name;
}

TEST(ChartCrd, CopyInTheChartIsIdenticalToTheGeneratedCrd) {
  const std::string generated = read_file_or_throw(kRoot + "/crds/acceljob.yaml");
  const std::string copy = read_file_or_throw(kChart + "/crds/acceljob.yaml");
  EXPECT_TRUE(copy == generated)
      << "charts/accel-operator/crds/acceljob.yaml differs from crds/acceljob.yaml; run\n"
         "  cp crds/acceljob.yaml charts/accel-operator/crds/acceljob.yaml";
}

TEST(ChartMetadata, AppVersionIsTheReleaseTheImageTagDefaultsTo) {
  const std::string chart = read_file_or_throw(kChart + "/Chart.yaml");
  EXPECT_NE(chart.find("apiVersion: v2\n"), std::string::npos) << chart;
  EXPECT_NE(chart.find("appVersion: \"0.1.0\"\n"), std::string::npos) << chart;
}

TEST(ChartValuesSchema, IsDraft07JsonThatForbidsUnknownKeys) {
  const auto schema = nlohmann::json::parse(read_file_or_throw(kChart + "/values.schema.json"));
  EXPECT_EQ(schema.value("$schema", ""), "http://json-schema.org/draft-07/schema#");
  EXPECT_EQ(schema.value("additionalProperties", true), false);
  EXPECT_EQ(schema["properties"]["operator"]["properties"]["logLevel"]["enum"],
            nlohmann::json({"debug", "info", "warn", "error"}));
}

class Dashboard : public ::testing::Test {
 protected:
  nlohmann::json dash = read_dashboard(kChart + "/dashboards/accel.json");
  std::vector<PanelQuery> queries = dashboard_queries(dash);

  std::vector<nlohmann::json> panels() const {  // every non-row panel, rows flattened
    std::vector<nlohmann::json> out;
    for (const auto& p : dash["panels"]) {
      if (p.value("type", "") == "row") {
        for (const auto& q : p.value("panels", nlohmann::json::array())) out.push_back(q);
      } else {
        out.push_back(p);
      }
    }
    return out;
  }
};

TEST_F(Dashboard, HasUidTitleAndTheTemplateVariables) {
  EXPECT_EQ(dash.value("uid", ""), "accel-training");
  EXPECT_FALSE(dash.value("title", "").empty());
  std::map<std::string, nlohmann::json> vars;
  for (const auto& v : dash["templating"]["list"]) vars[v.value("name", "")] = v;
  ASSERT_TRUE(vars.count("datasource"));
  EXPECT_EQ(vars["datasource"].value("type", ""), "datasource");
  EXPECT_EQ(vars["datasource"].value("query", ""), "prometheus");
  ASSERT_TRUE(vars.count("namespace"));
  ASSERT_TRUE(vars.count("job"));
  EXPECT_EQ(vars["namespace"].value("type", ""), "query");
  EXPECT_EQ(vars["job"].value("type", ""), "query");
  // The job list depends on the chosen namespace.
  EXPECT_NE(vars["job"].value("definition", "").find("$namespace"), std::string::npos);
}

TEST_F(Dashboard, EveryPanelHasADatasourceAndTargetsWithPromQL) {
  std::set<int> ids;
  const auto all = panels();
  ASSERT_GE(all.size(), 15u);
  for (const auto& p : all) {
    SCOPED_TRACE(p.value("title", "<untitled>"));
    EXPECT_TRUE(ids.insert(p.value("id", -1)).second) << "duplicate panel id";
    ASSERT_TRUE(p.contains("datasource"));
    EXPECT_EQ(p["datasource"].value("type", ""), "prometheus");
    EXPECT_EQ(p["datasource"].value("uid", ""), "${datasource}");
    ASSERT_TRUE(p.contains("targets"));
    ASSERT_FALSE(p["targets"].empty());
    std::set<std::string> refs;
    for (const auto& t : p["targets"]) {
      EXPECT_FALSE(t.value("expr", "").empty());
      EXPECT_TRUE(refs.insert(t.value("refId", "")).second) << "duplicate refId";
      EXPECT_EQ(t["datasource"].value("uid", ""), "${datasource}");
    }
    EXPECT_TRUE(p.contains("gridPos"));
  }
}

TEST_F(Dashboard, UsesOnlyNamespaceJobAndRateIntervalVariables) {
  ASSERT_FALSE(queries.empty());
  for (const auto& q : queries) {
    const std::string s = substitute(q.expr, {"ns", "j", "1m"});
    EXPECT_EQ(s.find('$'), std::string::npos) << q.panel << " " << q.ref_id << ": " << q.expr;
    if (q.expr.find("rate(") != std::string::npos) {
      EXPECT_NE(q.expr.find("[$__rate_interval]"), std::string::npos)
          << q.panel << ": rate() over a fixed range: " << q.expr;
    }
  }
}

TEST_F(Dashboard, QueriesOnlyDocumentedMetrics) {
  const auto worker = documented_metrics(kRoot + "/worker/METRICS.md");
  const auto op = documented_metrics(kChart + "/README.md");
  ASSERT_GE(worker.size(), 10u) << "no metric names found in worker/METRICS.md";
  ASSERT_GE(op.size(), 5u) << "no operator metric names found in the chart README";
  for (const auto& q : queries) {
    const auto used = metrics_in(q.expr);
    EXPECT_FALSE(used.empty()) << q.panel << ": " << q.expr;
    for (const auto& m : used) {
      const std::string base = histogram_base(m);
      EXPECT_TRUE(worker.count(m) || worker.count(base) || op.count(m) || op.count(base))
          << q.panel << " uses " << m << ", documented in neither worker/METRICS.md nor "
          << "charts/accel-operator/README.md";
    }
  }
}

TEST_F(Dashboard, PerJobQueriesSelectTheChosenNamespaceAndJob) {
  for (const auto& q : queries) {
    if (q.expr.find("accel_operator_") != std::string::npos &&
        q.expr.find("accel_operator_restarts_total") == std::string::npos)
      continue;  // operator-wide panels
    if (q.expr.find("accel_operator_restarts_total") != std::string::npos) {
      EXPECT_NE(q.expr.find("job_namespace=\"$namespace\""), std::string::npos) << q.expr;
      EXPECT_NE(q.expr.find("job_name=\"$job\""), std::string::npos) << q.expr;
      continue;
    }
    // Every selector of a worker series names both variables.
    static const std::regex sel("accel_[a-z0-9_]+\\{([^}]*)\\}");
    int selectors = 0;
    for (auto it = std::sregex_iterator(q.expr.begin(), q.expr.end(), sel);
         it != std::sregex_iterator(); ++it, ++selectors) {
      const std::string labels = (*it)[1];
      EXPECT_NE(labels.find("namespace=\"$namespace\""), std::string::npos) << q.expr;
      EXPECT_NE(labels.find("job=\"$job\""), std::string::npos) << q.expr;
    }
    EXPECT_GT(selectors, 0) << q.panel << ": a worker metric without a selector: " << q.expr;
  }
}

TEST_F(Dashboard, HasThePanelsTheBriefAsksFor) {
  std::string titles;
  for (const auto& p : panels()) titles += p.value("title", "") + "\n";
  for (const char* want : {"samples/s", "tokens/s", "Loss", "Learning rate", "Step time p50 / p95",
                           "All-reduce share of step time", "Data loading time", "GPU memory",
                           "GPU utilisation",
                           "Checkpoint age", "Restarts by reason", "Progress", "ETA",
                           "Jobs by phase", "Reconcile latency", "Work queue depth"})
    EXPECT_NE(titles.find(want), std::string::npos) << "no panel titled " << want << " in\n"
                                                    << titles;
}

TEST(DashboardQueries, SubstituteReplacesEveryVariableForm) {
  EXPECT_EQ(substitute("rate(x{namespace=\"$namespace\",job=\"${job}\"}[$__rate_interval])",
                       {"team-a", "gpt", "30s"}),
            "rate(x{namespace=\"team-a\",job=\"gpt\"}[30s])");
}

}  // namespace
}  // namespace accel::testing

// charts/accel-operator/dashboards/accel.json through Grafana's own dashboard schema: the
// Python models of grafana-foundation-sdk (scripts/setup-lint.sh), run by dashboard_schema.py.
//
// What those models check (charts/accel-operator/README.md): structure only. A document whose
// shape they cannot decode (a panel without `type`, an object where a list belongs) raises;
// wrong value types, unknown enum values and out-of-range numbers load silently; a field the
// schema does not have is dropped on decode. So besides "it loads", the round trip (decode, then
// encode again) is compared with the document: every panel, title and target survives, and no
// field is lost except the ones listed in kFieldsOutsideTheSchema.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "accel/subprocess.h"
#include "files.h"
#include "lint_env.h"

namespace accel::testing {
namespace {

namespace fs = std::filesystem;

const std::string kSource = ACCEL_SOURCE_DIR;
const std::string kDashboard = kSource + "/charts/accel-operator/dashboards/accel.json";
const std::string kFixtures = kSource + "/tests/integration/chart/fixtures/dashboards/";

// Fields accel.json has and Grafana's schema models (grafana-foundation-sdk 11.6) do not: the
// query variables' `definition`, the query repeated as text.
const std::set<std::string> kFieldsOutsideTheSchema = {"/templating/list/1/definition",
                                                       "/templating/list/2/definition"};

nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(read_file_or_throw(path));
}

struct Load {
  ExitStatus status;
  std::string output;
  nlohmann::json summary;    // the script's last line: the decoded objects, or {"rejected": ...}
  nlohmann::json roundtrip;  // the decoded models encoded again (null when rejected)
};

Load load(const std::string& dashboard, const std::string& tag) {
  const std::string roundtrip =
      (fs::temp_directory_path() /
       ("accel-dashboard-" + std::to_string(::getpid()) + "-" + tag + ".json"))
          .string();
  auto r =
      run_command({lint_venv() + "/bin/python",
                   kSource + "/tests/integration/chart/dashboard_schema.py", dashboard, roundtrip},
                  std::chrono::minutes(2), {{"PYTHONDONTWRITEBYTECODE", "1"}});
  Load l{r.status, r.output, nullptr, nullptr};
  std::string out = r.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const auto nl = out.rfind('\n');
  l.summary = nlohmann::json::parse(out.substr(nl == std::string::npos ? 0 : nl + 1), nullptr,
                                    /*allow_exceptions=*/false);
  if (fs::exists(roundtrip)) {
    l.roundtrip = read_json(roundtrip);
    fs::remove(roundtrip);
  }
  return l;
}

// The panels of a dashboard document, each row followed by its nested panels.
std::vector<nlohmann::json> flat_panels(const nlohmann::json& doc) {
  std::vector<nlohmann::json> out;
  for (const auto& p : doc.value("panels", nlohmann::json::array())) {
    out.push_back(p);
    for (const auto& c : p.value("panels", nlohmann::json::array())) out.push_back(c);
  }
  return out;
}

// JSON Pointer paths of the object fields in `a` that `b` does not have.
void missing_fields(const nlohmann::json& a, const nlohmann::json& b, const std::string& at,
                    std::set<std::string>& out) {
  if (a.is_object()) {
    for (auto it = a.begin(); it != a.end(); ++it) {
      const std::string path = at + "/" + it.key();
      if (!b.is_object() || !b.contains(it.key()))
        out.insert(path);
      else
        missing_fields(it.value(), b.at(it.key()), path, out);
    }
  } else if (a.is_array()) {
    for (size_t i = 0; i < a.size(); ++i)
      if (b.is_array() && i < b.size())
        missing_fields(a[i], b[i], at + "/" + std::to_string(i), out);
  }
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : " ") + x;
  return out.empty() ? "(none)" : out;
}

// accel.json and what the models made of it, loaded once for the AccelDashboard tests.
struct Loaded {
  nlohmann::json doc;
  Load load;
};
const Loaded& accel_dashboard() {
  static const Loaded l{read_json(kDashboard), load(kDashboard, "accel")};
  return l;
}

class AccelDashboard : public ::testing::Test {
 protected:
  const nlohmann::json* doc_ = &accel_dashboard().doc;
  const Load* load_ = &accel_dashboard().load;
};

TEST_F(AccelDashboard, LoadsThroughGrafanasDashboardModels) {
  ASSERT_TRUE(load_->status.success()) << load_->status.describe() << "\n" << load_->output;
  ASSERT_TRUE(load_->summary.contains("panels")) << load_->output;
  EXPECT_EQ(load_->summary.at("schema_version"), doc_->at("schemaVersion"));
}

TEST_F(AccelDashboard, DecodesEveryPanelAndTargetIntoTypedModels) {
  ASSERT_TRUE(load_->summary.contains("panels")) << load_->output;
  const auto want = flat_panels(*doc_);
  const auto& got = load_->summary.at("panels");
  ASSERT_EQ(want.size(), 19u);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(want[i].at("title").get<std::string>());
    EXPECT_EQ(got[i].at("id"), want[i].at("id"));
    EXPECT_EQ(got[i].at("title"), want[i].at("title"));
    EXPECT_EQ(got[i].at("type"), want[i].at("type"));
    const std::string type = want[i].at("type");
    if (type == "row") {
      EXPECT_EQ(got[i].at("class"), "dashboard.RowPanel");
      continue;
    }
    EXPECT_EQ(got[i].at("class"), "dashboard.Panel");
    // The panel plugin's own Options model (stat.Options, timeseries.Options), not a dict.
    EXPECT_EQ(got[i].at("options_class"), type + ".Options");
    const auto& targets = want[i].at("targets");
    ASSERT_EQ(got[i].at("targets").size(), targets.size());
    for (size_t t = 0; t < targets.size(); ++t) {
      EXPECT_EQ(got[i]["targets"][t].at("class"), "prometheus.Dataquery");
      EXPECT_EQ(got[i]["targets"][t].at("ref_id"), targets[t].at("refId"));
      EXPECT_EQ(got[i]["targets"][t].at("expr"), targets[t].at("expr"));
    }
  }
}

TEST_F(AccelDashboard, RoundTripKeepsEveryPanelTitleAndTarget) {
  ASSERT_FALSE(load_->roundtrip.is_null()) << load_->output;
  const auto want = flat_panels(*doc_);
  const auto got = flat_panels(load_->roundtrip);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].at("id"), want[i].at("id"));
    EXPECT_EQ(got[i].at("title"), want[i].at("title"));
    EXPECT_EQ(got[i].value("targets", nlohmann::json::array()),
              want[i].value("targets", nlohmann::json::array()))
        << want[i].at("title");
  }
}

TEST_F(AccelDashboard, RoundTripLosesOnlyTheFieldsOutsideTheSchema) {
  ASSERT_FALSE(load_->roundtrip.is_null()) << load_->output;
  std::set<std::string> lost;
  missing_fields(*doc_, load_->roundtrip, "", lost);
  EXPECT_EQ(join(lost), join(kFieldsOutsideTheSchema));
}

TEST(BrokenDashboards, APanelWithoutItsTypeIsRejected) {
  const auto l = load(kFixtures + "panel-without-type.json", "panel-without-type");
  EXPECT_EQ(l.status.code(), 2) << l.output;
  EXPECT_EQ(l.summary.value("rejected", ""), "KeyError: 'type'") << l.output;
}

TEST(BrokenDashboards, MisspelledFieldsLoadButAreLostInTheRoundTrip) {
  const std::string fixture = kFixtures + "misspelled-fields.json";
  const auto l = load(fixture, "misspelled-fields");
  ASSERT_TRUE(l.status.success()) << l.output;
  std::set<std::string> lost;
  missing_fields(read_json(fixture), l.roundtrip, "", lost);
  EXPECT_EQ(join(lost), "/panels/0/gridpos /panels/0/targets/0/legendformat");
}

}  // namespace
}  // namespace accel::testing

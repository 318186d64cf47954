// crds/acceljob.yaml is exactly what accel-gen-crd prints (compared as parsed YAML).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "accel/api/acceljob.h"
#include "accel/api/crd.h"
#include "accel/api/field_table.h"

namespace accel::api {
namespace {

using json = nlohmann::json;

json generated() { return json::parse(crd_json().dump()); }

json committed() {
  std::ifstream in(std::string(ACCEL_SOURCE_DIR) + "/crds/acceljob.yaml");
  EXPECT_TRUE(in) << "crds/acceljob.yaml is missing";
  std::stringstream buf;
  buf << in.rdbuf();
  return yaml_to_json(YAML::Load(buf.str()));
}

const json& schema_root(const json& crd) { return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]; }

TEST(CrdDrift, CommittedCrdMatchesTheGenerator) {
  json want = generated();
  json got = committed();
  EXPECT_TRUE(got == want) << "crds/acceljob.yaml is stale; regenerate it with\n"
                          "  build/<dir>/api/accel-gen-crd > crds/acceljob.yaml\n"
                       << "patch from committed to generated: " << json::diff(got, want).dump(2);
}

TEST(CrdDrift, GeneratedYamlReadsBackAsTheSameObject) {
  EXPECT_EQ(yaml_to_json(YAML::Load(crd_yaml())), generated());
}

void expect_descriptions(const json& node, const std::string& path) {
  if (!node.contains("properties")) return;
  for (auto it = node["properties"].begin(); it != node["properties"].end(); ++it) {
    std::string p = path.empty() ? it.key() : path + "." + it.key();
    if (p != "metadata") {
      EXPECT_TRUE(it->contains("description")) << p << " has no description";
    }
    expect_descriptions(*it, p);
    if (it->contains("items")) expect_descriptions((*it)["items"], p + "[]");
  }
}

TEST(CrdSchema, EveryFieldHasADescription) {
  const json crd = generated();
  expect_descriptions(schema_root(crd), "");
}

TEST(CrdSchema, CarriesTableDefaultsEnumsAndBounds) {
  const json crd = generated();
  const json& spec = schema_root(crd)["properties"]["spec"]["properties"];
  EXPECT_EQ(spec["nodes"]["default"], 1);
  EXPECT_EQ(spec["nodes"]["minimum"], 1);
  EXPECT_EQ(spec["precision"]["enum"], json({"no", "fp16", "bf16"}));
  EXPECT_EQ(spec["metrics"]["properties"]["port"]["maximum"], 65535);
  EXPECT_EQ(spec["runPolicy"]["default"], json::object());
  EXPECT_EQ(spec["runPolicy"]["properties"]["backoff"]["properties"]["factor"]["default"], 2.0);
  EXPECT_EQ(spec["nodes"]["x-kubernetes-validations"][0]["rule"], "self == oldSelf");
  EXPECT_TRUE(spec["template"]["properties"]["tolerations"]["items"]["x-kubernetes-preserve-unknown-fields"]);
  EXPECT_EQ(spec["trackers"]["x-kubernetes-list-type"], "map");
}

TEST(CrdSchema, PreservesUnknownFieldsOnlyForRawPodPieces) {
  std::string text = generated().dump();
  std::size_t count = 0;
  for (std::size_t pos = 0; (pos = text.find("x-kubernetes-preserve-unknown-fields", pos)) != std::string::npos; ++pos)
    ++count;
  EXPECT_EQ(count, 3u);  // tolerations, volumes, volumeMounts
}

TEST(CrdSchema, EveryCelRuleIsEmitted) {
  std::string text = generated().dump();
  for (const auto& r : acceljob_cel_rules())
    EXPECT_NE(text.find(json(r.rule).dump()), std::string::npos) << r.id;
}

TEST(CrdSchema, NamesColumnsAndSubresources) {
  json crd = generated();
  EXPECT_EQ(crd["metadata"]["name"], "acceljobs.accel.dev");
  EXPECT_EQ(crd["spec"]["names"]["shortNames"], json({"aj"}));
  EXPECT_EQ(crd["spec"]["names"]["categories"], json({"all", "accel"}));
  const json& v = crd["spec"]["versions"][0];
  EXPECT_EQ(v["name"], "v1alpha1");
  EXPECT_EQ(v["subresources"]["status"], json::object());
  std::vector<std::string> columns;
  for (const auto& c : v["additionalPrinterColumns"]) columns.push_back(c["name"]);
  EXPECT_EQ(columns, (std::vector<std::string>{"Phase", "Nodes", "GPUs/node", "Precision", "Restarts", "Disruptions", "Step", "Age"}));
}

}  // namespace
}  // namespace accel::api

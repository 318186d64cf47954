// Reading AccelJob YAML: kubectl's scalar typing, strictness, and errors that say where.
#include <gtest/gtest.h>

#include <algorithm>

#include <yaml-cpp/yaml.h>

#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"
#include "test_jobs.h"

namespace accel::api {
namespace {

using testing::job_yaml;

TEST(Parse, ReadsTheCpuExample) {
  AccelJob job = load_acceljob_file(testing::example_path("gpt-2node-cpu.yaml"));
  EXPECT_EQ(job.metadata.name, "gpt-tiny");
  EXPECT_EQ(job.spec.image, "accel-worker:cpu");
  EXPECT_EQ(job.spec.command, std::vector<std::string>{"accel-train-gpt"});
  EXPECT_EQ(job.spec.nodes, 2);
  EXPECT_EQ(job.spec.gpusPerNode, 0);
  EXPECT_EQ(job.spec.precision, Precision::Bf16);
  EXPECT_EQ(job.spec.gradientAccumulationSteps, 2);
  ASSERT_EQ(job.spec.trackers.size(), 2u);
  EXPECT_EQ(job.spec.trackers[0].type, TrackerType::TensorBoard);
  EXPECT_EQ(job.spec.trackers[1].type, TrackerType::Jsonl);
  EXPECT_EQ(job.spec.metrics.port, 9400);
  EXPECT_EQ(job.spec.runPolicy.maxRestarts, 3);
  EXPECT_EQ(job.spec.checkpoint.everySteps, 20);
}

TEST(Parse, ReadsTheGpuExample) {
  AccelJob job = load_acceljob_file(testing::example_path("mlp-gpu.yaml"));
  EXPECT_EQ(job.spec.nodes, 1);
  EXPECT_EQ(job.spec.gpusPerNode, 8);
  EXPECT_EQ(job.spec.precision, Precision::Bf16);
  EXPECT_EQ(job.spec.processGroup.backend, Backend::Nccl);
  EXPECT_EQ(job.spec.resources.requests.at("memory"), "256Gi");
  EXPECT_TRUE(job.spec.template_.tolerations.is_array());
}

TEST(Parse, LeavesUnwrittenFieldsUnset) {
  AccelJob job = parse_acceljob_yaml(job_yaml(""));
  EXPECT_FALSE(job.spec.nodes);
  EXPECT_FALSE(job.spec.precision);
  EXPECT_FALSE(job.spec.runPolicy.maxRestarts);
}

TEST(Parse, QuotedNoIsAPrecision) {
  AccelJob job = parse_acceljob_yaml(job_yaml("  precision: \"no\"\n"));
  EXPECT_EQ(job.spec.precision, Precision::No);
}

TEST(Parse, YamlOneOneBooleansAsKubectlReadsThem) {
  AccelJob job = parse_acceljob_yaml(job_yaml("  runPolicy:\n    suspend: yes\n  ddp:\n    staticGraph: off\n"));
  EXPECT_EQ(job.spec.runPolicy.suspend, true);
  EXPECT_EQ(job.spec.ddp.staticGraph, false);
}

TEST(Parse, QuantitiesMayBeNumbersOrStrings) {
  AccelJob job = parse_acceljob_yaml(job_yaml("  resources:\n    requests: {cpu: 4, memory: 16Gi}\n"
                                              "    limits: {cpu: 0.5}\n"));
  EXPECT_EQ(job.spec.resources.requests.at("cpu"), "4");
  EXPECT_EQ(job.spec.resources.requests.at("memory"), "16Gi");
  EXPECT_EQ(job.spec.resources.limits.at("cpu"), "0.5");
}

TEST(Parse, ErrorsNameTheYamlLine) {
  try {
    parse_acceljob_yaml(job_yaml("  nodes: 1\n  runPolicy:\n    maxRestarts: abc\n"));
    FAIL() << "accepted";
  } catch (const SpecError& e) {
    EXPECT_EQ(e.path(), "spec.runPolicy.maxRestarts");
    EXPECT_EQ(std::string(e.what()),
              "spec.runPolicy.maxRestarts: expected an integer, got 'abc' (line 9, column 18)");
  }
}

// A UTF-8 file whose YAML still decodes to a value that is not UTF-8 (found by fuzzing: it
// escaped as nlohmann's type_error when the value was shown in an error): a SpecError naming
// the field and line.
TEST(Parse, AValueThatIsNotUtf8OnceReadAsYamlIsASpecErrorNamingItsLine) {
  const std::string file =
      std::string(ACCEL_SOURCE_DIR) + "/tests/fuzz/acceljob_yaml/corpus/regress-scalar-not-utf8";
  try {
    load_acceljob_file(file);
    FAIL() << "accepted";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("is not UTF-8 once read as YAML"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("(line 9, column 11)"), std::string::npos) << e.what();
  }
}

TEST(Parse, FileErrorsStartWithTheFileName) {
  try {
    load_acceljob_file("/nonexistent/job.yaml");
    FAIL() << "accepted";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/job.yaml: cannot open"), std::string::npos);
  }
}

TEST(Parse, RejectsMalformedYamlWithItsPosition) {
  try {
    parse_acceljob_yaml("spec: [unclosed\n");
    FAIL() << "accepted";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("invalid YAML at line"), std::string::npos) << e.what();
  }
}

TEST(Parse, RejectsSeveralDocuments) {
  std::string two = job_yaml("") + "---\n" + job_yaml("");
  EXPECT_THROW(parse_acceljob_yaml(two), SpecError);
}

// Hostile YAML is refused by design (accel/api/yaml_bounds.h), each with what and where.
std::string rejection_of(const std::string& text) {
  try {
    parse_acceljob_yaml(text);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "accepted";
}

// Ten aliases of ten aliases, nine levels: 10^9 nodes expanded, in about 400 bytes.
std::string billion_laughs() {
  std::string y = job_yaml("") + "  env:\n    - name: L0\n      value: &l0 \"lol\"\n";
  y += "x-laughs:\n";
  for (int level = 1; level <= 9; ++level) {
    y += "  l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int k = 0; k < 10; ++k) y += std::string(k ? ", " : "") + "*l" + std::to_string(level - 1);
    y += "]\n";
  }
  return y;
}

TEST(Parse, RefusesAliasesThatExpandBeyondTheNodeLimit) {
  const std::string msg = rejection_of(billion_laughs());
  EXPECT_NE(msg.find("more than 100000 nodes with its aliases expanded"), std::string::npos) << msg;
  EXPECT_NE(msg.find("(line "), std::string::npos) << msg;
}

TEST(Parse, StillReadsAnAliasUsedOnce) {
  AccelJob job = parse_acceljob_yaml(job_yaml("  command: &a [\"train\", \"--steps\"]\n  args: *a\n"));
  EXPECT_EQ(job.spec.args, (std::vector<std::string>{"train", "--steps"}));
}

TEST(Parse, RefusesDeepNesting) {
  std::string deep = job_yaml("") + "x: " + std::string(100, '[') + std::string(100, ']') + "\n";
  const std::string msg = rejection_of(deep);
  EXPECT_NE(msg.find("nested more than 64 levels deep"), std::string::npos) << msg;
  // Deeper than yaml-cpp's own parser guard: its error, not a stack overflow.
  std::string deeper = job_yaml("") + "x: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
  EXPECT_NE(rejection_of(deeper).find("invalid YAML"), std::string::npos) << rejection_of(deeper);
}

TEST(Parse, RefusesAFileOverOneMebibyte) {
  std::string big = job_yaml("") + "# " + std::string(1 << 20, 'x') + "\n";
  EXPECT_NE(rejection_of(big).find("bytes; the limit is 1048576 bytes"), std::string::npos);
  // A file that never ends is read no further than the limit.
  try {
    load_acceljob_file("/dev/zero");
    FAIL() << "accepted /dev/zero";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("/dev/zero: the YAML is 1048577 bytes"), std::string::npos) << e.what();
  }
}

TEST(Parse, RefusesTextThatIsNotUtf8NamingTheLine) {
  std::string latin1 = job_yaml("") + "# caf\xe9\n";
  const std::string msg = rejection_of(latin1);
  EXPECT_NE(msg.find("is not UTF-8 (byte 0xE9"), std::string::npos) << msg;
  const auto lines = std::count(latin1.begin(), latin1.end(), '\n');
  EXPECT_NE(msg.find("(line " + std::to_string(lines) + ")"), std::string::npos) << msg;
  // Valid multi-byte UTF-8 is fine; overlong encodings and surrogates are not.
  EXPECT_EQ(parse_acceljob_yaml(job_yaml("") + "# café ✓ 🙂\n").metadata.name, "t");
  EXPECT_NE(rejection_of(job_yaml("") + "# \xc0\xaf\n").find("not UTF-8"), std::string::npos);
  EXPECT_NE(rejection_of(job_yaml("") + "# \xed\xa0\x80\n").find("not UTF-8"), std::string::npos);
}

TEST(Parse, RefusesSeveralDocumentsSayingWhy) {
  EXPECT_NE(rejection_of(job_yaml("") + "---\n" + job_yaml("")).find("found 2 (one AccelJob per file)"),
            std::string::npos);
}

TEST(Parse, RejectsOtherKinds) {
  std::string y = job_yaml("");
  y.replace(y.find("kind: AccelJob"), 14, "kind: Job");
  try {
    parse_acceljob_yaml(y);
    FAIL() << "accepted";
  } catch (const SpecError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("kind: Unsupported value: \"Job\": supported values: \"AccelJob\"", 0), 0u)
        << e.what();
  }
}

TEST(Parse, RejectsMissingSpec) {
  EXPECT_THROW(parse_acceljob_yaml("apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata: {name: x}\n"),
               SpecError);
}

TEST(Parse, RejectsUnknownTopLevelField) {
  try {
    parse_acceljob_yaml(job_yaml("") + "sepc: {}\n");
    FAIL() << "accepted";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown field \"sepc\" (did you mean \"spec\"?)"), std::string::npos)
        << e.what();
  }
}

TEST(Parse, IgnoresMetadataAndStatusFieldsItDoesNotRead) {
  nlohmann::json j = {{"apiVersion", "accel.dev/v1alpha1"},
                      {"kind", "AccelJob"},
                      {"metadata", {{"name", "x"}, {"managedFields", nlohmann::json::array()}, {"generation", 4}}},
                      {"spec", {{"image", "img"}}},
                      {"status", {{"phase", "Running"}, {"futureField", 1}}}};
  AccelJob job = j.get<AccelJob>();
  EXPECT_EQ(job.metadata.generation, 4);
  EXPECT_EQ(job.status.phase, JobPhase::Running);
}

TEST(Parse, NullMeansUnset) {
  nlohmann::json j = {{"apiVersion", "accel.dev/v1alpha1"}, {"kind", "AccelJob"},
                      {"metadata", {{"name", "x"}}}, {"spec", {{"image", "img"}, {"nodes", nullptr}}}};
  EXPECT_FALSE(j.get<AccelJob>().spec.nodes);
}

TEST(Parse, EveryTableEnumValueHasAnEnumSpelling) {
  const std::map<std::string, std::function<bool(const std::string&)>> parsers = {
      {"spec.precision", [](const std::string& s) { return parse_precision(s).has_value(); }},
      {"spec.processGroup.backend", [](const std::string& s) { return parse_backend(s).has_value(); }},
      {"spec.runPolicy.restartPolicy", [](const std::string& s) { return parse_restart_policy(s).has_value(); }},
      {"spec.runPolicy.cleanPodPolicy", [](const std::string& s) { return parse_clean_pod_policy(s).has_value(); }},
      {"spec.trackers[].type", [](const std::string& s) { return parse_tracker_type(s).has_value(); }},
      {"status.phase", [](const std::string& s) { return parse_job_phase(s).has_value(); }},
  };
  for (const auto& f : acceljob_fields()) {
    // Kept as text: a condition's status, and the seccomp profile type copied into the pod.
    if (f.enum_values.empty() || f.path == "status.conditions[].status" ||
        f.path == "spec.template.securityContext.seccompProfile")
      continue;
    auto it = parsers.find(f.path);
    ASSERT_NE(it, parsers.end()) << "no C++ enum for " << f.path;
    for (const auto& v : f.enum_values) EXPECT_TRUE(it->second(v)) << f.path << ": " << v;
  }
}

}  // namespace
}  // namespace accel::api

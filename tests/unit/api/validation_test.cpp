// Every invalid spec is rejected with a message that names the field path, in the words
// kube-apiserver uses for the same failure.
#include <gtest/gtest.h>

#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"
#include "test_jobs.h"

namespace accel::api {
namespace {

using testing::job_yaml;
using testing::rejection;

struct InvalidCase {
  const char* name;
  std::string spec;       // spec body (two-space indent)
  std::string expected;   // must appear in the error, starting with the field path
  std::string job_name = "t";
};

std::string long_string(std::size_t n, char c) { return std::string(n, c); }

const std::vector<InvalidCase>& invalid_cases() {
  static const std::vector<InvalidCase> cases = {
      {"UnknownPrecision", "  precision: bf17\n",
       "spec.precision: Unsupported value: \"bf17\": supported values: \"no\", \"fp16\", \"bf16\""},
      {"UnquotedNoPrecisionIsABoolean", "  precision: no\n",
       "spec.precision: expected a string, got false (unquoted yes/no"},
      {"ZeroNodes", "  nodes: 0\n",
       "spec.nodes: Invalid value: 0: spec.nodes in body should be greater than or equal to 1"},
      {"NodesNotAnInteger", "  nodes: two\n", "spec.nodes: expected an integer, got 'two'"},
      {"FractionalNodes", "  nodes: 2.5\n", "spec.nodes: expected an integer, got 2.5"},
      {"NegativeGpus", "  gpusPerNode: -1\n",
       "spec.gpusPerNode: Invalid value: -1: spec.gpusPerNode in body should be greater than or equal to 0"},
      {"TooManyGpus", "  gpusPerNode: 100\n  procsPerNode: 100\n",
       "spec.gpusPerNode: Invalid value: 100: spec.gpusPerNode in body should be less than or equal to 64"},
      {"ZeroProcs", "  procsPerNode: 0\n",
       "spec.procsPerNode: Invalid value: 0: spec.procsPerNode in body should be greater than or equal to 1"},
      {"ZeroAccumulationSteps", "  gradientAccumulationSteps: 0\n",
       "spec.gradientAccumulationSteps: Invalid value: 0: spec.gradientAccumulationSteps in body should be greater than or equal to 1"},
      {"MetricsPortAbove65535", "  metrics:\n    port: 70000\n",
       "spec.metrics.port: Invalid value: 70000: spec.metrics.port in body should be less than or equal to 65535"},
      {"NegativeMetricsPort", "  metrics:\n    port: -1\n", "spec.metrics.port: Invalid value: -1"},
      {"UnknownBackend", "  processGroup:\n    backend: mpi\n",
       "spec.processGroup.backend: Unsupported value: \"mpi\": supported values: \"auto\", \"nccl\", \"gloo\""},
      {"ZeroPgTimeout", "  processGroup:\n    timeoutSeconds: 0\n",
       "spec.processGroup.timeoutSeconds: Invalid value: 0"},
      {"ZeroRendezvousTimeout", "  processGroup:\n    rendezvousTimeoutSeconds: 0\n",
       "spec.processGroup.rendezvousTimeoutSeconds: Invalid value: 0"},
      {"ZeroBucketCap", "  ddp:\n    bucketCapMB: 0\n", "spec.ddp.bucketCapMB: Invalid value: 0"},
      {"StaticGraphNotABoolean", "  ddp:\n    staticGraph: sometimes\n",
       "spec.ddp.staticGraph: expected a boolean (true or false), got 'sometimes'"},
      {"ZeroCheckpointKeep", "  checkpoint:\n    keep: 0\n", "spec.checkpoint.keep: Invalid value: 0"},
      {"NegativeCheckpointInterval", "  checkpoint:\n    everySteps: -5\n",
       "spec.checkpoint.everySteps: Invalid value: -5"},
      {"UnknownRestartPolicy", "  runPolicy:\n    restartPolicy: Always\n",
       "spec.runPolicy.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"ExitCode\", \"Never\""},
      {"MaxRestartsNotAnInteger", "  runPolicy:\n    maxRestarts: abc\n",
       "spec.runPolicy.maxRestarts: expected an integer, got 'abc'"},
      {"NegativeMaxRestarts", "  runPolicy:\n    maxRestarts: -1\n", "spec.runPolicy.maxRestarts: Invalid value: -1"},
      {"UnknownCleanPodPolicy", "  runPolicy:\n    cleanPodPolicy: Some\n",
       "spec.runPolicy.cleanPodPolicy: Unsupported value: \"Some\""},
      {"ZeroActiveDeadline", "  runPolicy:\n    activeDeadlineSeconds: 0\n",
       "spec.runPolicy.activeDeadlineSeconds: Invalid value: 0"},
      {"ZeroStallTimeout", "  runPolicy:\n    stallTimeoutSeconds: 0\n",
       "spec.runPolicy.stallTimeoutSeconds: Invalid value: 0"},
      {"NegativeTtl", "  runPolicy:\n    ttlSecondsAfterFinished: -1\n",
       "spec.runPolicy.ttlSecondsAfterFinished: Invalid value: -1"},
      {"BackoffFactorBelowOne", "  runPolicy:\n    backoff:\n      factor: 0.5\n",
       "spec.runPolicy.backoff.factor: Invalid value: 0.5: spec.runPolicy.backoff.factor in body should be greater than or equal to 1"},
      {"BackoffMaxBelowInitial", "  runPolicy:\n    backoff:\n      initialSeconds: 100\n      maxSeconds: 10\n",
       "spec.runPolicy.backoff.maxSeconds: Invalid value: 10: must be greater than or equal to initialSeconds"},
      {"UnknownTrackerType", "  trackers:\n    - type: comet\n",
       "spec.trackers[0].type: Unsupported value: \"comet\": supported values: \"tensorboard\", \"wandb\", \"mlflow\", \"jsonl\""},
      {"DuplicateTracker", "  trackers:\n    - type: jsonl\n    - type: jsonl\n",
       "spec.trackers[1]: Duplicate value: {\"type\":\"jsonl\"}"},
      {"TrackerSecretWithoutKey", "  trackers:\n    - type: wandb\n      secretRef:\n        name: wandb\n",
       "spec.trackers[0].secretRef.key: Required value"},
      {"TrackerWithoutType", "  trackers:\n    - settings:\n        project: x\n", "spec.trackers[0].type: Required value"},
      {"ReservedEnvName", "  env:\n    - name: MASTER_ADDR\n      value: x\n",
       "spec.env[0].name: Invalid value: \"MASTER_ADDR\": is reserved by the Accel env contract"},
      {"ReservedEnvPrefix", "  env:\n    - name: OK\n      value: x\n    - name: ACCEL_FOO\n      value: z\n",
       "spec.env[1].name: Invalid value: \"ACCEL_FOO\": is reserved"},
      {"EnvValueAndValueFrom",
       "  env:\n    - name: A\n      value: x\n      valueFrom:\n        secretKeyRef: {name: s, key: k}\n",
       "spec.env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"},
      {"EnvSecretWithoutName", "  env:\n    - name: A\n      valueFrom:\n        secretKeyRef: {key: k}\n",
       "spec.env[0].valueFrom.secretKeyRef.name: Required value"},
      {"EnvWithoutName", "  env:\n    - value: x\n", "spec.env[0].name: Required value"},
      {"EnvValueYIsABoolean", "  env:\n    - name: FLAG\n      value: y\n",
       "spec.env[0].value: expected a string, got true (unquoted yes/no"},
      {"EnvValueNotAString", "  env:\n    - name: PORT\n      value: 8080\n",
       "spec.env[0].value: expected a string, got 8080"},
      {"NcclOnCpu", "  processGroup:\n    backend: nccl\n",
       "spec.processGroup.backend: Invalid value: \"nccl\": backend nccl needs GPUs"},
      {"Fp16OnCpu", "  precision: fp16\n", "spec.precision: Invalid value: \"fp16\": precision fp16 needs GPUs"},
      {"ProcsDifferFromGpus", "  gpusPerNode: 8\n  procsPerNode: 4\n",
       "spec.procsPerNode: Invalid value: 4: must equal gpusPerNode when gpusPerNode > 0"},
      {"MissingImage", "  image: \"\"\n  nodes: 1\n", "spec.image: Required value"},
      {"ImageTooLong", "  image: " + long_string(1100, 'a') + "\n",
       "spec.image: Too long: may not be more than 1024 bytes"},
      {"UnknownSpecField", "  nodez: 3\n",
       "strict decoding error: unknown field \"spec.nodez\" (did you mean \"spec.nodes\"?)"},
      {"UnknownNestedField", "  ddp:\n    bucketCap: 3\n", "strict decoding error: unknown field \"spec.ddp.bucketCap\""},
      {"UnknownEnvItemField", "  env:\n    - name: A\n      valu: x\n",
       "strict decoding error: unknown field \"spec.env[0].valu\""},
      {"CommandNotAList", "  command: train.sh\n", "spec.command: expected a list of strings, got 'train.sh'"},
      {"TolerationsNotAList", "  template:\n    tolerations: {key: x}\n",
       "spec.template.tolerations: expected a list, got an object"},
      {"QuantityNotScalar", "  resources:\n    requests:\n      cpu: [1]\n",
       "spec.resources.requests.cpu: expected a string, got a list"},
      {"ProjectDirNotAString", "  logging:\n    projectDir: 5\n", "spec.logging.projectDir: expected a string, got 5"},
      {"DuplicateKey", "  nodes: 1\n  nodes: 2\n", "spec.nodes: duplicate field \"nodes\""},
      {"NameNotDns1035", "", "metadata.name: Invalid value: \"Bad_Name\": a DNS-1035 label", "Bad_Name"},
      {"NameStartsWithDigit", "", "metadata.name: Invalid value: \"1job\": a DNS-1035 label", "1job"},
      {"NameTooLong", "", "metadata.name: Invalid value: \"" + long_string(51, 'a') + "\": must be no more than 50 characters",
       long_string(51, 'a')},
  };
  return cases;
}

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class RejectsInvalidSpec : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(RejectsInvalidSpec, NamingTheFieldPath) {
  const InvalidCase& c = GetParam();
  std::string error = rejection(job_yaml(c.spec, c.job_name));
  ASSERT_FALSE(error.empty()) << c.name << " was accepted";
  EXPECT_NE(error.find(c.expected), std::string::npos) << "error:    " << error << "\nexpected: " << c.expected;
}

INSTANTIATE_TEST_SUITE_P(Table, RejectsInvalidSpec, ::testing::ValuesIn(invalid_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

// The YAML of a spec that sets the field at `path` ("spec.a.b") to `value`.
std::string spec_setting(const std::string& path, const std::string& value) {
  std::string out, rest = path.substr(5), indent = "  ";
  for (auto dot = rest.find('.'); dot != std::string::npos; dot = rest.find('.')) {
    out += indent + rest.substr(0, dot) + ":\n";
    indent += "  ";
    rest = rest.substr(dot + 1);
  }
  return out + indent + rest + ": " + value + "\n";
}

// Generated from the field table itself: every enum of a spec field refuses a value outside
// it, and every integer bound refuses the first value past it, naming the field. A bound or
// enum the table declares but validate() forgot fails here.
TEST(Validation, EveryEnumAndIntegerBoundOfTheFieldTableIsEnforced) {
  int checked = 0;
  for (const FieldSpec& f : acceljob_fields()) {
    if (f.path.rfind("spec.", 0) != 0 || f.path.find("[]") != std::string::npos) continue;
    std::vector<std::pair<std::string, std::string>> probes;  // value, expected fragment
    if (!f.enum_values.empty()) probes.push_back({"not-a-value", f.path + ": Unsupported value"});
    if (f.type == FieldType::Integer && f.minimum)
      probes.push_back({std::to_string(static_cast<long long>(*f.minimum) - 1), f.path + ": Invalid value"});
    if (f.type == FieldType::Integer && f.maximum)
      probes.push_back({std::to_string(static_cast<long long>(*f.maximum) + 1), f.path + ": Invalid value"});
    for (const auto& [value, expected] : probes) {
      const std::string error = rejection(job_yaml(spec_setting(f.path, value)));
      EXPECT_NE(error.find(expected), std::string::npos) << f.path << " = " << value << ": " << error;
      ++checked;
    }
  }
  EXPECT_GE(checked, 20);  // the table has that many enums and bounds today
}

TEST(Validation, ExamplesValidateClean) {
  for (const char* file : {"gpt-2node-cpu.yaml", "mlp-gpu.yaml"}) {
    AccelJob job = load_acceljob_file(testing::example_path(file));
    apply_defaults(job);
    EXPECT_TRUE(validate(job).empty()) << file << ": " << validate(job).front().to_string();
  }
}

TEST(Validation, ValidateOrThrowListsEveryErrorLikeKubectl) {
  AccelJob job = parse_acceljob_yaml(job_yaml("  nodes: 0\n  metrics:\n    port: 70000\n", "gpt"));
  try {
    validate_or_throw(job);
    FAIL() << "accepted";
  } catch (const ValidationError& e) {
    ASSERT_EQ(e.errors().size(), 2u);
    EXPECT_EQ(std::string(e.what()),
              "The AccelJob \"gpt\" is invalid: \n"
              "* spec.nodes: Invalid value: 0: spec.nodes in body should be greater than or equal to 1\n"
              "* spec.metrics.port: Invalid value: 70000: spec.metrics.port in body should be less than or "
              "equal to 65535");
  }
}

TEST(Validation, SingleErrorIsOnOneLine) {
  AccelJob job = parse_acceljob_yaml(job_yaml("  nodes: 0\n", "gpt"));
  try {
    validate_or_throw(job);
    FAIL() << "accepted";
  } catch (const ValidationError& e) {
    EXPECT_EQ(std::string(e.what()),
              "The AccelJob \"gpt\" is invalid: spec.nodes: Invalid value: 0: spec.nodes in body should be "
              "greater than or equal to 1");
  }
}

TEST(Validation, ValidatesWithoutExplicitDefaulting) {
  // validate() defaults a copy first, so an undefaulted job is judged like the API server would.
  AccelJob job = parse_acceljob_yaml(job_yaml("  gpusPerNode: 4\n"));
  EXPECT_TRUE(validate(job).empty());
}

TEST(Validation, AcceptsProcsEqualToGpus) {
  EXPECT_EQ(rejection(job_yaml("  gpusPerNode: 8\n  procsPerNode: 8\n  precision: fp16\n"
                               "  processGroup:\n    backend: nccl\n")),
            "");
}

TEST(Validation, AcceptsEnvFromSecretAndCpuProcs) {
  EXPECT_EQ(rejection(job_yaml("  procsPerNode: 4\n  env:\n    - name: WANDB_API_KEY\n      valueFrom:\n"
                               "        secretKeyRef: {name: wandb, key: api-key}\n")),
            "");
}

TEST(Validation, ReservedEnvNamesMatchTheContract) {
  for (const char* n : {"MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE",
                        "NODE_RANK", "NNODES", "ACCEL_ANYTHING"})
    EXPECT_TRUE(is_reserved_env_name(n)) << n;
  for (const char* n : {"RANKING", "MY_ACCEL_X", "PATH", "accel_x"}) EXPECT_FALSE(is_reserved_env_name(n)) << n;
}

TEST(ValidateUpdate, RejectsChangingImmutableFields) {
  AccelJob old_job = parse_acceljob_yaml(job_yaml("  nodes: 2\n"));
  AccelJob new_job = parse_acceljob_yaml(job_yaml("  nodes: 3\n  image: other\n"));
  auto errors = validate_update(old_job, new_job);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].to_string(), "spec.image: Invalid value: \"other\": field is immutable");
  EXPECT_EQ(errors[1].to_string(), "spec.nodes: Invalid value: 3: field is immutable");
}

TEST(ValidateUpdate, AllowsChangingRunPolicy) {
  AccelJob old_job = parse_acceljob_yaml(job_yaml("  nodes: 2\n"));
  AccelJob new_job = parse_acceljob_yaml(job_yaml("  nodes: 2\n  runPolicy:\n    maxRestarts: 9\n    suspend: true\n"));
  EXPECT_TRUE(validate_update(old_job, new_job).empty());
}

}  // namespace
}  // namespace accel::api

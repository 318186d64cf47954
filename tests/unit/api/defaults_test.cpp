// apply_defaults(): the table's defaults, as the API server applies the CRD's.
#include <gtest/gtest.h>

#include <algorithm>

#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"
#include "test_jobs.h"

namespace accel::api {
namespace {

using testing::job_yaml;

// What a spec of only `image` becomes (golden; the API server stores the same, minus
// procsPerNode, which only apply_defaults derives).
const char* kDefaultedSpec = R"({
  "image": "img",
  "command": ["train"],
  "nodes": 1,
  "gpusPerNode": 0,
  "procsPerNode": 1,
  "precision": "bf16",
  "gradientAccumulationSteps": 1,
  "logging": {"projectDir": "/workspace"},
  "processGroup": {"backend": "auto", "timeoutSeconds": 1800, "rendezvousTimeoutSeconds": 300},
  "ddp": {"bucketCapMB": 25, "gradientAsBucketView": false, "staticGraph": false, "findUnusedParameters": false},
  "checkpoint": {"dir": "/workspace/checkpoints", "everySteps": 0, "keep": 3},
  "metrics": {"port": 9400},
  "runPolicy": {"restartPolicy": "OnFailure", "maxRestarts": 3,
                "backoff": {"initialSeconds": 10, "maxSeconds": 300, "factor": 2.0},
                "startupTimeoutSeconds": 600, "cleanPodPolicy": "Running", "suspend": false},
  "template": {"terminationGracePeriodSeconds": 120,
               "securityContext": {"runAsNonRoot": true, "allowPrivilegeEscalation": false,
                                   "readOnlyRootFilesystem": false,
                                   "seccompProfile": "RuntimeDefault",
                                   "capabilities": {"drop": ["ALL"]}}}
})";

TEST(Defaults, MinimalSpecMatchesGolden) {
  AccelJob job = parse_acceljob_yaml(job_yaml(""));
  apply_defaults(job);
  nlohmann::json got = job.spec;
  nlohmann::json want = nlohmann::json::parse(kDefaultedSpec);
  EXPECT_EQ(got, want) << "diff: " << nlohmann::json::diff(want, got).dump(2);
}

TEST(Defaults, ProcsPerNodeFollowsGpus) {
  AccelJob job = parse_acceljob_yaml(job_yaml("  gpusPerNode: 4\n"));
  apply_defaults(job);
  EXPECT_EQ(job.spec.procsPerNode, 4);
}

TEST(Defaults, KeepsWhatTheUserWrote) {
  AccelJob job = parse_acceljob_yaml(job_yaml("  procsPerNode: 3\n  precision: \"no\"\n  runPolicy:\n"
                                              "    maxRestarts: 0\n    backoff:\n      factor: 1.5\n"));
  apply_defaults(job);
  EXPECT_EQ(job.spec.procsPerNode, 3);
  EXPECT_EQ(job.spec.precision, Precision::No);
  EXPECT_EQ(job.spec.runPolicy.maxRestarts, 0);
  EXPECT_EQ(job.spec.runPolicy.backoff.factor, 1.5);
  EXPECT_EQ(job.spec.runPolicy.backoff.initialSeconds, 10);
}

TEST(Defaults, LeavesOptionalKnobsUnset) {
  AccelJob job = parse_acceljob_yaml(job_yaml(""));
  apply_defaults(job);
  EXPECT_FALSE(job.spec.runPolicy.activeDeadlineSeconds);
  EXPECT_FALSE(job.spec.runPolicy.stallTimeoutSeconds);
  EXPECT_FALSE(job.spec.runPolicy.ttlSecondsAfterFinished);
  EXPECT_FALSE(job.spec.checkpoint.volume);
}

TEST(Defaults, IsIdempotent) {
  AccelJob job = load_acceljob_file(testing::example_path("gpt-2node-cpu.yaml"));
  apply_defaults(job);
  nlohmann::json once = job;
  apply_defaults(job);
  EXPECT_EQ(nlohmann::json(job), once);
}

TEST(Defaults, GoldenUsesEveryTableDefault) {
  // Guards the golden itself: each spec default in the table shows up in it.
  nlohmann::json want = nlohmann::json::parse(kDefaultedSpec);
  for (const auto& f : acceljob_fields()) {
    if (f.default_value.is_null() || f.path.find("[]") != std::string::npos || f.path.rfind("spec.", 0) != 0)
      continue;
    std::string p = "/" + f.path.substr(5);
    std::replace(p.begin(), p.end(), '.', '/');
    nlohmann::json::json_pointer pointer(p);
    ASSERT_TRUE(want.contains(pointer)) << f.path;
    if (!f.default_value.is_object()) {
      EXPECT_EQ(want.at(pointer), f.default_value) << f.path;
    }
  }
}

}  // namespace
}  // namespace accel::api

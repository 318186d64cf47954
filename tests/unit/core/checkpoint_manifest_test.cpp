// checkpoint_manifest.h: what resume accepts in meta.json, before it applies anything.
#include "checkpoint_manifest.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace accel {
namespace {

TEST(CheckpointManifest, ReadsThePositionOfAFormat2Manifest) {
  const auto meta = parse_checkpoint_manifest(
      R"({"format": 2, "step": 40, "scheduler_steps": 39, "save_index": 2, "epoch": 1,
          "batch_in_epoch": 8})");
  const CheckpointPosition p = manifest_position(meta);
  EXPECT_EQ(p.step, 40);
  EXPECT_EQ(p.scheduler_steps, 39);
  EXPECT_EQ(p.save_index, 2);
  EXPECT_EQ(p.epoch, 1);
  EXPECT_EQ(p.batch_in_epoch, 8);
}

// Found by fuzzing: a field of another type threw nlohmann's type_error from load(), after the
// model's parameters had been overwritten; a huge double converted with undefined behaviour.
TEST(CheckpointManifest, RefusesAPositionFieldThatIsNotAnInteger) {
  for (const char* text : {R"({"step": 1, "epoch": {}})", R"({"step": 1, "save_index": "2"})",
                           R"({"step": 1, "batch_in_epoch": 1e300})",
                           R"({"step": 1, "scheduler_steps": 18446744073709551615})"})
    EXPECT_THROW(manifest_position(parse_checkpoint_manifest(text)), std::runtime_error) << text;
}

TEST(CheckpointManifest, RefusesTextThatIsNotAManifest) {
  EXPECT_THROW(parse_checkpoint_manifest("step: 3"), std::runtime_error);
  EXPECT_THROW(parse_checkpoint_manifest(R"({"format": 2})"), std::runtime_error);
}

}  // namespace
}  // namespace accel

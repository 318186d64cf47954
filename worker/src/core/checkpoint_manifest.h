// checkpoint_manifest.h — reading meta.json, the manifest of a checkpoint (worker/CHECKPOINTS.md),
// when resuming. No LibTorch: the manifest is plain JSON, and its reader is fuzzed on its own
// (tests/fuzz/checkpoint_manifest).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace accel {

// Where a checkpoint's training stood, as its manifest says.
struct CheckpointPosition {
  int64_t step = 0;
  int64_t scheduler_steps = 0;
  int64_t save_index = 0;
  int64_t epoch = 0;
  int64_t batch_in_epoch = 0;
};

// Parses meta.json's text. Throws std::runtime_error when it is not JSON ("meta.json is not the
// manifest: ...") or has no integer "step".
nlohmann::json parse_checkpoint_manifest(const std::string& text);

// The manifest's sizes (checkpoints since format 2): each file it lists must be in `dir` with
// exactly that size, so that a truncated file is caught before it is parsed. Throws
// std::runtime_error naming the first file that is missing or of another size.
void check_manifest_files(const nlohmann::json& meta, const std::string& dir);

// The position fields of a parsed manifest (0 for those it leaves out). Throws
// std::runtime_error naming a field that is there but not an int64 integer. Resume reads it
// with the rest of the checkpoint, before applying any of it.
CheckpointPosition manifest_position(const nlohmann::json& meta);

}  // namespace accel

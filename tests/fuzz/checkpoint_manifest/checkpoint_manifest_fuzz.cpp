// A checkpoint's meta.json as resume reads it (worker/src/core/checkpoint_manifest.h): parse,
// the file sizes it lists checked against a folder that does not exist, then the position it
// restores. The contract: std::runtime_error for a manifest that cannot be used, nothing else
// escapes.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "checkpoint_manifest.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json meta = accel::parse_checkpoint_manifest(text);
    try {
      accel::check_manifest_files(meta, "/nonexistent-accel-fuzz/checkpoint_00000001");
    } catch (const std::runtime_error&) {
    }
    (void)accel::manifest_position(meta);
  } catch (const std::runtime_error&) {
  }
  return 0;
}

// The `accel config` file as a rank reads it (parse_config_file_text, which read_config_file
// uses), then each value checked as resolve_config checks it (normalize_value). The contract:
// ConfigError for anything refused, nothing else escapes; every key returned is a known one.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "accel/config.h"
#include "accel/config/config_error.h"
#include "accel/config/key_table.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::map<std::string, std::string> values;
  try {
    values = accel::parse_config_file_text(text, "fuzz.yaml");
  } catch (const accel::ConfigError&) {
    return 0;
  }
  for (const auto& [key, raw] : values) {
    const accel::KeySpec* spec = accel::find_config_key(key);
    FUZZ_CHECK(spec != nullptr, "only known keys are returned");
    try {
      const std::string canonical = accel::normalize_value(*spec, raw, "fuzz.yaml");
      FUZZ_CHECK(accel::normalize_value(*spec, canonical, "fuzz.yaml") == canonical,
                 "a canonical value is its own canonical form");
    } catch (const accel::ConfigError&) {
    }
  }
  return 0;
}

// AccelJob YAML as `accel run` reads a job file: parse_acceljob_yaml -> apply_defaults ->
// validate. The contract: SpecError for anything it refuses, nothing else escapes; a parsed job
// defaults idempotently, validate() never throws, and an accepted job survives the JSON codec
// (what the operator writes and reads back) unchanged.
#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "accel/api/acceljob.h"
#include "fuzz_check.h"

using namespace accel::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  AccelJob job;
  try {
    job = parse_acceljob_yaml(text);
  } catch (const SpecError&) {
    return 0;
  }
  apply_defaults(job);
  const nlohmann::json once = job;
  apply_defaults(job);
  FUZZ_CHECK(nlohmann::json(job) == once, "apply_defaults is idempotent");
  const auto errors = validate(job);
  if (!errors.empty()) return 0;
  AccelJob back;
  try {
    back = once.get<AccelJob>();
  } catch (const SpecError& e) {
    std::fprintf(stderr, "%s\n%s\n", e.what(), once.dump(2).c_str());
    FUZZ_CHECK(false, "a valid job's JSON is read back");
  }
  apply_defaults(back);
  FUZZ_CHECK(nlohmann::json(back) == once, "a valid job round-trips through the JSON codec");
  return 0;
}

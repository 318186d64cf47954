// The JSON codec as the operator reads an AccelJob from the API server (job_controller.cpp):
// the bytes are parsed, object->get<AccelJob>(), then apply_defaults and validate. The
// contract: the codec refuses with SpecError only; what it accepts defaults and validates
// without throwing, and writing it and reading it back gives the same job.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "accel/api/acceljob.h"
#include "fuzz_check.h"

using namespace accel::api;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto object = nlohmann::json::parse(data, data + size, nullptr, false);
  if (object.is_discarded()) return 0;
  AccelJob job;
  try {
    job = object.get<AccelJob>();
  } catch (const SpecError&) {
    return 0;
  }
  const nlohmann::json written = job;
  AccelJob back;
  try {
    back = written.get<AccelJob>();
  } catch (const SpecError& e) {
    std::fprintf(stderr, "%s\n%s\n", e.what(), written.dump(2).c_str());
    FUZZ_CHECK(false, "what the codec wrote is read back");
  }
  FUZZ_CHECK(nlohmann::json(back) == written, "write(read(write(job))) == write(job)");
  apply_defaults(job);
  (void)validate(job);
  return 0;
}

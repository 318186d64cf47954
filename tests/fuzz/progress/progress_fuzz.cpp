// A pod's /progress body as the operator's poller reads it (parse_progress_body, used by
// fetch_progress). The contract: it never throws; what it returns has only values the CRD's
// status schema accepts (an activity of the known three, a finite loss).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "accel/progress/progress_poller.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto p = accel::op::parse_progress_body(body);
  if (!p) return 0;
  FUZZ_CHECK(!p->loss || std::isfinite(*p->loss), "loss is finite");
  FUZZ_CHECK(p->activity.empty() || p->activity == "training" || p->activity == "checkpointing" ||
                 p->activity == "evaluating",
             "activity is one the schema allows");
  return 0;
}

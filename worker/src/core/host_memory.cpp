#include "host_memory.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace accel {

namespace {
constexpr int kMmapThreshold = 32 << 20;   // glibc's largest dynamic mmap threshold on 64-bit
constexpr int kTrimThreshold = 256 << 20;
}  // namespace

HostMallocPlan plan_host_malloc(bool enabled, const std::map<std::string, std::string>& environment) {
  HostMallocPlan plan;
  if (!enabled) return plan;
  if (auto it = environment.find("GLIBC_TUNABLES");
      it != environment.end() && it->second.find("glibc.malloc.") != std::string::npos) {
    plan.note = "host_malloc_tuning: GLIBC_TUNABLES sets glibc.malloc.* (" + it->second +
                "); keeping those";
    return plan;
  }
  plan.apply = true;
  return plan;
}

bool apply_host_malloc_thresholds() {
#if defined(__GLIBC__)
  // Setting either disables glibc's dynamic adjustment of both; the order does not matter.
  return mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1;
#else
  return false;
#endif
}

}  // namespace accel

// host_memory.h: the plan (the key, and GLIBC_TUNABLES winning) and what the thresholds do to a
// step's allocation pattern: blocks of a few MiB allocated, touched and all freed again, as a
// micro-batch's activations and gradients are. The kernel counts the page faults (getrusage).
#include "host_memory.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <vector>

namespace accel {
namespace {

TEST(HostMallocPlan, AppliesByDefaultAndNotWhenOffOrWhenGlibcTunablesSetMalloc) {
  EXPECT_TRUE(plan_host_malloc(true, {}).apply);
  EXPECT_TRUE(plan_host_malloc(true, {}).note.empty());
  EXPECT_FALSE(plan_host_malloc(false, {}).apply);
  // Another glibc tunable is not a malloc choice.
  EXPECT_TRUE(plan_host_malloc(true, {{"GLIBC_TUNABLES", "glibc.cpu.hwcaps=-AVX512F"}}).apply);
  auto user = plan_host_malloc(true, {{"GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0"}});
  EXPECT_FALSE(user.apply);
  EXPECT_NE(user.note.find("glibc.malloc.trim_threshold=0"), std::string::npos) << user.note;
}

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Page faults per round of: 24 blocks of 1 MiB allocated, every page written, all freed.
long faults_per_round(int rounds) {
  std::vector<void*> blocks(24);
  auto round = [&] {
    for (auto& b : blocks) {
      b = std::malloc(1 << 20);
      std::memset(b, 1, 1 << 20);
    }
    for (auto* b : blocks) std::free(b);
  };
  round();  // settles glibc's dynamic thresholds (and, when tuned, grows the heap once)
  const long before = minor_faults();
  for (int i = 0; i < rounds; ++i) round();
  return (minor_faults() - before) / rounds;
}

// One test, in this order: glibc's defaults first (the thresholds are process-wide and cannot
// be reset once set).
TEST(HostMallocThresholds, KeepAStepsFreedMemoryInsteadOfFaultingItInAgain) {
  const long glibc_defaults = faults_per_round(8);
  // 24 MiB freed at the top of the heap exceeds the adapted trim threshold (2 MiB): returned to
  // the kernel every round and faulted in again, page by page.
  EXPECT_GT(glibc_defaults, 4000) << "glibc's defaults no longer trim the heap after each round";
  ASSERT_TRUE(apply_host_malloc_thresholds());
  const long tuned = faults_per_round(8);
  EXPECT_LT(tuned, 100) << "with glibc's defaults: " << glibc_defaults;
}

}  // namespace
}  // namespace accel

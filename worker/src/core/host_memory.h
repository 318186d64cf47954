// host_memory.h — glibc malloc's thresholds for a training process (host_malloc_tuning).
//
// With glibc's defaults the mmap threshold adapts upwards to the largest block freed (up to 32
// MiB) and the trim threshold follows at twice that, so the few MiB of activations and
// gradients a step frees together at the top of the heap are returned to the kernel after
// every micro-batch and faulted in again, page by page, by the next one. On the GPT example on
// CPU that was ~1,400 page faults and ~20% of the process's CPU time per optimizer step
// (bench/results/worker_step_profile.md). Fixed thresholds (32 MiB mmap, 256 MiB trim) keep
// that memory in the heap for reuse; the process's peak RSS is unchanged within a few per cent
// (it is set by the step's live tensors, not by what is kept free).
#pragma once

#include <map>
#include <string>

namespace accel {

struct HostMallocPlan {
  bool apply = false;
  std::string note;  // why not, when the environment already chose ("" otherwise)
};

// Pure: whether to apply the thresholds. `environment` is the resolved configuration's
// (GLIBC_TUNABLES with glibc.malloc.* settings wins: the user chose the allocator's settings).
HostMallocPlan plan_host_malloc(bool enabled, const std::map<std::string, std::string>& environment);

// mallopt(M_MMAP_THRESHOLD, 32 MiB) and mallopt(M_TRIM_THRESHOLD, 256 MiB) under glibc; true
// if both took effect.
bool apply_host_malloc_thresholds();

}  // namespace accel

// accel/numa_binding.h — which CPUs each local rank of `accel launch` runs on when the
// numa_binding key is true: the CPUs of the NUMA node its GPU hangs off.
//
// The topology is read from files only, below a root directory ("/" on a real machine;
// ACCEL_SYSFS_ROOT, for tests, names a fake tree with the same layout):
//   proc/driver/nvidia/gpus/<bdf>/         the GPUs this container sees (the NVIDIA driver's
//                                           view; the container runtime mounts only the
//                                           assigned ones), else, when that folder is absent,
//   sys/bus/pci/devices/<bdf>/{vendor,class} every PCI device with vendor 0x10de and a display
//                                           class (0x0300xx VGA, 0x0302xx 3D controller);
//   sys/bus/pci/devices/<bdf>/numa_node    the GPU's NUMA node (-1: the firmware does not say);
//   sys/devices/system/node/node<N>/cpulist the node's CPUs ("0-3,8-11").
// GPU k is the k-th of those in PCI bus order: the order of nvidia-smi and of CUDA with
// CUDA_DEVICE_ORDER=PCI_BUS_ID (CUDA's default order matches it on machines of identical GPUs).
// Local rank i uses GPU gpu_ids[i] (gpu_ids given: CUDA_VISIBLE_DEVICES lists them in that
// order), else GPU i.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace accel {

struct NumaBinding {
  // CPUs of each local rank, index = local rank; an empty set leaves that rank unbound.
  std::vector<std::vector<int>> cpus;
  // One line for the launcher's log: what each rank was bound to, or why nothing was
  // (one NUMA node, no GPU, a GPU whose node is unknown).
  std::string summary;
  bool bound_any() const;
};

// Plans the binding of `nproc` local ranks. `allowed` is the launcher's own CPU set
// (sched_getaffinity): a rank gets its node's CPUs that are also allowed, and no binding when
// none are. `uses_gpus` false (a CPU job) binds nothing. Reads files only; never throws for a
// missing or unreadable file (that part of the topology is then unknown, and said so).
NumaBinding plan_numa_binding(const std::string& root, int nproc, const std::vector<int>& gpu_ids,
                              bool uses_gpus, const std::set<int>& allowed);

// The launcher's CPU set (sched_getaffinity of this process).
std::set<int> allowed_cpus();

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; whitespace around it is ignored. Throws
// std::invalid_argument for anything else.
std::vector<int> parse_cpu_list(const std::string& text);
// The reverse, with ranges: {0,1,2,3,8} -> "0-3,8".
std::string format_cpu_list(const std::vector<int>& cpus);

}  // namespace accel

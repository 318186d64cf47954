// plan_numa_binding() over fake sysfs trees (2 NUMA nodes with 2 or 4 GPUs, one node, no GPU),
// laid out as accel/numa_binding.h reads them.
#include "accel/numa_binding.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace accel {
namespace {

namespace fs = std::filesystem;

class FakeSysfs {
 public:
  FakeSysfs() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::path(::testing::TempDir()) /
            ("accel-numa-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~FakeSysfs() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void node(int n, const std::string& cpulist) {
    write("sys/devices/system/node/node" + std::to_string(n) + "/cpulist", cpulist + "\n");
  }
  // A PCI device; `driver` also lists it in proc/driver/nvidia/gpus as the NVIDIA driver does.
  void pci(const std::string& bdf, const std::string& vendor, const std::string& cls, int numa_node,
           bool driver = true) {
    const std::string d = "sys/bus/pci/devices/" + bdf + "/";
    write(d + "vendor", vendor + "\n");
    write(d + "class", cls + "\n");
    write(d + "numa_node", std::to_string(numa_node) + "\n");
    if (driver) write("proc/driver/nvidia/gpus/" + bdf + "/information", "Model: fake\n");
  }
  std::string root() const { return root_.string(); }

 private:
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  fs::path root_;
};

std::set<int> cpus(int n) {
  std::set<int> s;
  for (int i = 0; i < n; ++i) s.insert(i);
  return s;
}

using Cpus = std::vector<int>;

// Two sockets of 8 CPUs (node 1 listed with a gap, as hyperthread siblings often are).
void two_nodes(FakeSysfs& t) {
  t.node(0, "0-3,8-11");
  t.node(1, "4-7,12-15");
}

TEST(NumaBinding, BindsEachOfFourRanksToItsGpusNodeInPciBusOrder) {
  FakeSysfs t;
  two_nodes(t);
  // Created out of order: GPU k is the k-th bus id, whatever the directory order.
  t.pci("0000:b1:00.0", "0x10de", "0x030200", 1);
  t.pci("0000:3b:00.0", "0x10de", "0x030200", 0);
  t.pci("0000:5e:00.0", "0x10de", "0x030200", 0);
  t.pci("0000:86:00.0", "0x10de", "0x030200", 1);
  t.pci("0000:00:1f.0", "0x8086", "0x060100", 0, /*driver=*/false);  // not a GPU
  const auto b = plan_numa_binding(t.root(), 4, {}, true, cpus(16));
  ASSERT_EQ(b.cpus.size(), 4u);
  EXPECT_EQ(b.cpus[0], (Cpus{0, 1, 2, 3, 8, 9, 10, 11}));
  EXPECT_EQ(b.cpus[1], (Cpus{0, 1, 2, 3, 8, 9, 10, 11}));
  EXPECT_EQ(b.cpus[2], (Cpus{4, 5, 6, 7, 12, 13, 14, 15}));
  EXPECT_EQ(b.cpus[3], (Cpus{4, 5, 6, 7, 12, 13, 14, 15}));
  EXPECT_NE(b.summary.find("local rank 3 -> GPU 3 (0000:b1:00.0) node 1 CPUs 4-7,12-15"),
            std::string::npos)
      << b.summary;
}

TEST(NumaBinding, GpuIdsPickWhichGpuEachRankUses) {
  FakeSysfs t;
  two_nodes(t);
  t.pci("0000:3b:00.0", "0x10de", "0x030200", 0);
  t.pci("0000:86:00.0", "0x10de", "0x030200", 1);
  // gpu_ids 1,0: rank 0 runs on GPU 1 (node 1), rank 1 on GPU 0 (node 0).
  const auto b = plan_numa_binding(t.root(), 2, {1, 0}, true, cpus(16));
  EXPECT_EQ(b.cpus[0], (Cpus{4, 5, 6, 7, 12, 13, 14, 15}));
  EXPECT_EQ(b.cpus[1], (Cpus{0, 1, 2, 3, 8, 9, 10, 11}));
}

TEST(NumaBinding, WithoutTheDriverFolderFindsGpusByPciVendorAndClass) {
  FakeSysfs t;
  two_nodes(t);
  t.pci("0000:3b:00.0", "0x10de", "0x030000", 0, /*driver=*/false);  // VGA
  t.pci("0000:40:00.0", "0x10de", "0x040300", 0, /*driver=*/false);  // its audio function
  t.pci("0000:86:00.0", "0x10de", "0x030200", 1, /*driver=*/false);  // 3D controller
  const auto b = plan_numa_binding(t.root(), 2, {}, true, cpus(16));
  EXPECT_EQ(b.cpus[0], (Cpus{0, 1, 2, 3, 8, 9, 10, 11}));
  EXPECT_EQ(b.cpus[1], (Cpus{4, 5, 6, 7, 12, 13, 14, 15}));
}

TEST(NumaBinding, KeepsOnlyTheCpusThisProcessMayUse) {
  FakeSysfs t;
  two_nodes(t);
  t.pci("0000:3b:00.0", "0x10de", "0x030200", 0);
  t.pci("0000:86:00.0", "0x10de", "0x030200", 1);
  // A container's cpuset of 0-5: node 1 keeps 4 and 5; a set without node 1 leaves rank 1 alone.
  EXPECT_EQ(plan_numa_binding(t.root(), 2, {}, true, cpus(6)).cpus[1], (Cpus{4, 5}));
  const auto b = plan_numa_binding(t.root(), 2, {}, true, cpus(4));
  EXPECT_TRUE(b.cpus[1].empty());
  EXPECT_NE(b.summary.find("local rank 1 unbound: none of node 1's CPUs (4-7,12-15) is allowed"),
            std::string::npos)
      << b.summary;
}

TEST(NumaBinding, IsANoOpThatSaysSoOnOneNodeWithoutGpusOrForACpuJob) {
  FakeSysfs one;
  one.node(0, "0-15");
  one.pci("0000:3b:00.0", "0x10de", "0x030200", 0);
  auto b = plan_numa_binding(one.root(), 2, {}, true, cpus(16));
  EXPECT_FALSE(b.bound_any());
  EXPECT_EQ(b.summary, "numa_binding: no-op, this machine has one NUMA node");

  FakeSysfs none;
  two_nodes(none);
  b = plan_numa_binding(none.root(), 2, {}, true, cpus(16));
  EXPECT_FALSE(b.bound_any());
  EXPECT_NE(b.summary.find("no-op, no GPU found in "), std::string::npos) << b.summary;

  FakeSysfs gpus;
  two_nodes(gpus);
  gpus.pci("0000:3b:00.0", "0x10de", "0x030200", 0);
  b = plan_numa_binding(gpus.root(), 1, {}, /*uses_gpus=*/false, cpus(16));
  EXPECT_FALSE(b.bound_any());
  EXPECT_EQ(b.summary, "numa_binding: no-op, the ranks use no GPU (cpu)");
}

TEST(NumaBinding, AGpuWithoutAKnownNodeOrARankWithoutAGpuStaysUnbound) {
  FakeSysfs t;
  two_nodes(t);
  t.pci("0000:3b:00.0", "0x10de", "0x030200", -1);
  const auto b = plan_numa_binding(t.root(), 2, {}, true, cpus(16));
  EXPECT_FALSE(b.bound_any());
  EXPECT_NE(b.summary.find("local rank 0 unbound: GPU 0 (0000:3b:00.0) has no known NUMA node"),
            std::string::npos)
      << b.summary;
  EXPECT_NE(b.summary.find("local rank 1 unbound: no GPU 1"), std::string::npos) << b.summary;
}

TEST(CpuList, ParsesAndFormatsTheKernelsSyntax) {
  EXPECT_EQ(parse_cpu_list(" 0-3,8,10-11\n"), (Cpus{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_TRUE(parse_cpu_list("").empty());
  EXPECT_EQ(format_cpu_list({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  EXPECT_THROW(parse_cpu_list("0-a"), std::invalid_argument);
  EXPECT_THROW(parse_cpu_list("3-1"), std::invalid_argument);
}

}  // namespace
}  // namespace accel

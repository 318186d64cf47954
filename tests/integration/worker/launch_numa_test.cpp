// `accel launch --numa_binding`, the real launcher binary: on a fake sysfs tree (ACCEL_SYSFS_ROOT)
// with two NUMA nodes — node 0 holding CPU 0, node 1 CPU 1, one GPU on each — every rank runs on
// its GPU's node's CPU, read back from the rank's own /proc/self/status (Cpus_allowed_list). With
// one node, or no GPU, the launcher changes nothing and says so in one line.
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "accel/subprocess.h"
#include "files.h"
#include "per_test_dir.h"

namespace {

namespace fs = std::filesystem;
using accel::testing::read_file;

class LaunchNuma : public ::testing::Test {
 protected:
  void SetUp() override {
    cpu_set_t set;
    CPU_ZERO(&set);
    ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
    if (!CPU_ISSET(0, &set) || !CPU_ISSET(1, &set)) GTEST_SKIP() << "needs CPUs 0 and 1";
    fs::create_directories(root_ / "out");
  }
  void write(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / "sysfs" / rel).parent_path());
    std::ofstream(root_ / "sysfs" / rel) << text;
  }
  void node(int n, const std::string& cpus) {
    write("sys/devices/system/node/node" + std::to_string(n) + "/cpulist", cpus + "\n");
  }
  void gpu(const std::string& bdf, int numa_node) {
    write("sys/bus/pci/devices/" + bdf + "/vendor", "0x10de\n");
    write("sys/bus/pci/devices/" + bdf + "/class", "0x030200\n");
    write("sys/bus/pci/devices/" + bdf + "/numa_node", std::to_string(numa_node) + "\n");
    write("proc/driver/nvidia/gpus/" + bdf + "/information", "Model: fake\n");
  }
  // Two ranks, each writing its Cpus_allowed_list; returns the launcher's output.
  std::string launch(const std::vector<std::string>& flags) {
    std::vector<std::string> argv = {
        ACCEL_CLI, "launch", "--num_processes", "2", "--main_process_port", "0"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(
        argv.end(),
        {"--", "sh", "-c",
         "grep '^Cpus_allowed_list:' /proc/self/status | cut -f2 > \"$OUT/rank$LOCAL_RANK\""});
    auto r = accel::run_command(
        argv, std::chrono::seconds(60),
        {{"ACCEL_SYSFS_ROOT", (root_ / "sysfs").string()}, {"OUT", (root_ / "out").string()}});
    EXPECT_TRUE(r.status.success()) << r.output;
    return r.output;
  }
  std::string cpus_of(int local_rank) {
    std::string s = read_file((root_ / "out" / ("rank" + std::to_string(local_rank))).string());
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }
  std::string own_cpus() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("Cpus_allowed_list:", 0) == 0) return line.substr(line.find('\t') + 1);
    return "";
  }

  accel::testing::PerTestDir scratch_{"accel-numa-test"};
  const fs::path root_ = scratch_.path();
};

TEST_F(LaunchNuma, EachRankRunsOnTheCpusOfItsGpusNode) {
  node(0, "0");
  node(1, "1");
  gpu("0000:3b:00.0", 0);
  gpu("0000:86:00.0", 1);
  const std::string out = launch({"--numa_binding"});
  EXPECT_EQ(cpus_of(0), "0");
  EXPECT_EQ(cpus_of(1), "1");
  EXPECT_NE(
      out.find("[accel launch] numa_binding: local rank 0 -> GPU 0 (0000:3b:00.0) node 0 CPUs 0; "
               "local rank 1 -> GPU 1 (0000:86:00.0) node 1 CPUs 1"),
      std::string::npos)
      << out;
}

TEST_F(LaunchNuma, GpuIdsDecideWhichNodeARankGets) {
  node(0, "0");
  node(1, "1");
  gpu("0000:3b:00.0", 0);
  gpu("0000:86:00.0", 1);
  launch({"--numa_binding", "--gpu_ids", "1,0"});
  EXPECT_EQ(cpus_of(0), "1");
  EXPECT_EQ(cpus_of(1), "0");
}

TEST_F(LaunchNuma, OneNodeOrNoGpuIsANoOpThatSaysSo) {
  node(0, "0-1");
  gpu("0000:3b:00.0", 0);
  std::string out = launch({"--numa_binding"});
  EXPECT_EQ(cpus_of(0), own_cpus());
  EXPECT_EQ(cpus_of(1), own_cpus());
  EXPECT_NE(out.find("[accel launch] numa_binding: no-op, this machine has one NUMA node"),
            std::string::npos)
      << out;

  fs::remove_all(root_ / "sysfs");
  node(0, "0");
  node(1, "1");
  out = launch({"--numa_binding"});
  EXPECT_EQ(cpus_of(1), own_cpus());
  EXPECT_NE(out.find("[accel launch] numa_binding: no-op, no GPU found in "), std::string::npos)
      << out;
}

TEST_F(LaunchNuma, WithoutTheKeyRanksInheritTheLaunchersCpus) {
  node(0, "0");
  node(1, "1");
  gpu("0000:3b:00.0", 0);
  gpu("0000:86:00.0", 1);
  const std::string out = launch({});
  EXPECT_EQ(cpus_of(0), own_cpus());
  EXPECT_EQ(cpus_of(1), own_cpus());
  EXPECT_EQ(out.find("numa_binding"), std::string::npos) << out;
}

}  // namespace

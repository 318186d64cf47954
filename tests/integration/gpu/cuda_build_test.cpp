// The CUDA build of libaccel on a machine without a GPU or driver (what CI can prove):
//  - the CUDA trainers really are the CUDA build (NEEDED libtorch_cuda.so, the startup line);
//  - they load libtorch_cuda without a driver and train on CPU, saying once why there is no
//    CUDA device;
//  - a GPU request fails fast with exit code 78 (never retried) and a message that names the
//    key, where it came from and the missing device: gpus_per_node (the operator's
//    ACCEL_GPUS_PER_NODE from spec.gpusPerNode), backend nccl, and an AccelJob with
//    gpusPerNode under `accel run`;
//  - the CPU build refuses the same request and says it is the CPU build.
// Real processes throughout: the `accel` CLI, `accel launch`, `accel run`, the GPT trainer.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "../worker/training_harness.h"

namespace accel::testing {
namespace {

namespace fs = std::filesystem;

bool has(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

bool driver_installed() {
  void* h = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (h) ::dlclose(h);
  return h != nullptr;
}

const std::vector<std::string> kTinyGpt = {
    "--steps", "3",         "--dim", "32",           "--layers", "1",           "--heads",
    "2",       "--seq-len", "16",    "--batch-size", "2",        "--log-every", "1"};

class CudaBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    // The no-GPU path is what these tests are about; on a machine with a driver they would
    // test something else, so they say so instead of passing.
    ASSERT_FALSE(driver_installed())
        << "cuda_build_test checks the CUDA build on a machine "
           "without an NVIDIA driver; scripts/gpu-check.sh is the GPU test";
    dir_ = fresh_dir(::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  std::string dir_;
};

TEST_F(CudaBuild, TrainersAreLinkedWithLibtorchCudaAndTheCpuOnesAreNot) {
  auto cuda = run_command({"readelf", "-d", GPT_TRAINER_CUDA});
  ASSERT_TRUE(cuda.status.success()) << cuda.output;
  EXPECT_TRUE(has(cuda.output, "[libtorch_cuda.so]")) << cuda.output;
  EXPECT_TRUE(has(cuda.output, "[libc10_cuda.so]")) << cuda.output;
  auto cpu = run_command({"readelf", "-d", GPT_TRAINER});
  ASSERT_TRUE(cpu.status.success()) << cpu.output;
  EXPECT_FALSE(has(cpu.output, "libtorch_cuda")) << cpu.output;
  // Every library the CUDA trainer needs resolves (libtorch_cuda's CUDA libraries included).
  auto ldd = run_command({"ldd", GPT_TRAINER_CUDA});
  ASSERT_TRUE(ldd.status.success()) << ldd.output;
  EXPECT_FALSE(has(ldd.output, "not found")) << ldd.output;
  EXPECT_TRUE(has(ldd.output, "libnccl.so.2")) << ldd.output;
  EXPECT_TRUE(has(ldd.output, "libcublasLt.so.13")) << ldd.output;
}

TEST_F(CudaBuild, CudaTrainerStartsWithoutADriverAndTrainsOnCpuSayingWhyOnce) {
  auto r = launch(dir_, {"--num_processes", "2", "--main_process_port", "0"}, GPT_TRAINER_CUDA,
                  kTinyGpt);
  ASSERT_EQ(r.status.code(), 0) << r.output;
  EXPECT_TRUE(has(r.output, "[accel] device cpu (libaccel CUDA 13.0, NCCL 2.28.9), backend gloo"))
      << r.output;
  const std::string note =
      "backend auto: this process sees no CUDA device: no NVIDIA driver: "
      "libcuda.so.1 cannot be loaded";
  EXPECT_TRUE(has(r.output, note)) << r.output;
  // Once for the job (the main process), not once per rank.
  EXPECT_EQ(r.output.find(note), r.output.rfind(note)) << r.output;
  EXPECT_EQ(losses(r.output).size(), 3u) << r.output;
}

TEST_F(CudaBuild, GpusPerNodeWithoutAGpuFailsFastWithTheConfigCode) {
  auto r = launch(dir_, {"--num_processes", "1", "--main_process_port", "0"}, GPT_TRAINER_CUDA,
                  kTinyGpt, {{"ACCEL_GPUS_PER_NODE", "1"}, {"ACCEL_CPU", "false"}});
  EXPECT_EQ(r.status.code(), 78) << r.output;  // api/EXIT_CODES.md: ConfigError, never retried
  EXPECT_TRUE(has(r.output,
                  "configuration error: gpus_per_node: '1' from environment variable "
                  "ACCEL_GPUS_PER_NODE (the AccelJob's spec.gpusPerNode) asks for 1 CUDA "
                  "device(s) per node, but this process sees no CUDA device: no NVIDIA driver"))
      << r.output;
  EXPECT_TRUE(losses(r.output).empty()) << "no step may run:\n" << r.output;
}

TEST_F(CudaBuild, CpuBuildRefusesAGpuRequestAndSaysItIsTheCpuBuild) {
  auto r = launch(dir_, {"--num_processes", "1", "--main_process_port", "0"}, GPT_TRAINER, kTinyGpt,
                  {{"ACCEL_GPUS_PER_NODE", "2"}});
  EXPECT_EQ(r.status.code(), 78) << r.output;
  EXPECT_TRUE(has(r.output, "gpus_per_node: '2' from environment variable ACCEL_GPUS_PER_NODE"))
      << r.output;
  EXPECT_TRUE(has(r.output, "CPU build of libaccel")) << r.output;
}

TEST_F(CudaBuild, NcclWithoutAGpuFailsFastOnEveryRankWithTheConfigCode) {
  auto r = launch(dir_, {"--num_processes", "2", "--main_process_port", "0", "--backend", "nccl"},
                  MLP_TRAINER_CUDA, {"--steps", "2"}, {}, std::chrono::seconds(60));
  EXPECT_EQ(r.status.code(), 78) << r.output;
  EXPECT_TRUE(has(r.output,
                  "backend: 'nccl' from launch flag --backend needs a CUDA device, but this "
                  "process sees no CUDA device: no NVIDIA driver"))
      << r.output;
  EXPECT_FALSE(has(r.output, "rendezvous"))
      << "the error comes before any rank waits for another:\n"
      << r.output;
}

TEST_F(CudaBuild, AccelRunOfAGpuJobFailsWithoutRetryingAndShowsWhy) {
  const fs::path job = fs::path(dir_) / "gpu-job.yaml";
  std::ofstream(job)
      << "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata:\n  name: gpu-job\n"
         "spec:\n  image: accel-worker:cuda\n  command: [\"" GPT_TRAINER_CUDA
         "\"]\n"
         "  args: [\"--steps\", \"3\", \"--dim\", \"32\", \"--layers\", \"1\"]\n"
         "  nodes: 1\n  gpusPerNode: 1\n  precision: bf16\n"
         "  runPolicy:\n    maxRestarts: 3\n    backoff:\n      initialSeconds: 1\n";
  auto r =
      run_command({ACCEL_CLI, "run", job.string(), "--dir", dir_ + "/run", "--output", "plain"},
                  std::chrono::seconds(120));
  EXPECT_EQ(r.status.code(), 78) << r.output;
  EXPECT_TRUE(has(r.output, "AccelJob gpu-job Failed")) << r.output;
  EXPECT_FALSE(has(r.output, "Restarting")) << "a configuration error is never retried:\n"
                                            << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/run/logs/gpu-job-a1-n0.log")) << "no second attempt";
  std::ifstream log(dir_ + "/run/logs/gpu-job-a0-n0.log");
  std::stringstream ss;
  ss << log.rdbuf();
  EXPECT_TRUE(has(ss.str(), "gpus_per_node: '1' from environment variable ACCEL_GPUS_PER_NODE"))
      << ss.str();
}

}  // namespace
}  // namespace accel::testing

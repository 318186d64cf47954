// Python training programs under an AccelJob, unchanged: examples/python/train_ddp.py
// (torchrun style, init_process_group("env://") on gloo) and examples/python/train_accelerate.py
// (kohya style: Accelerator(gradient_accumulation_steps, mixed_precision, log_with, ...)) run with
// the REAL torch and accelerate (scripts/setup-bench-python.sh's venv) under the real
// `accel run`, 2 nodes on loopback. Each rank writes what it saw to a JSON file the test reads:
// torchrun's variables, the precision and accumulation Accelerate resolved, the dtype autocast
// computed in. A SIGKILLed rank restarts the whole gang (TORCHELASTIC_RESTART_COUNT moves on)
// and the job completes; a rank's exit code 78 fails the job with 78, without a restart.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/subprocess.h"
#include "eventually.h"
#include "files.h"
#include "per_test_dir.h"
#include "venv.h"

namespace {

namespace fs = std::filesystem;
using accel::Subprocess;
using accel::SubprocessOptions;
using accel::testing::eventually;
using accel::testing::read_file;
using nlohmann::json;

std::string python() {
  static const std::string venv = accel::testing::venv_from_script(
      "ACCEL_BENCH_VENV", "scripts/setup-bench-python.sh", "bin/python", std::chrono::minutes(40));
  return venv + "/bin/python";
}

std::string example(const std::string& script) {
  return std::string(ACCEL_SOURCE_DIR) + "/examples/python/" + script;
}

struct Job {
  std::string name;
  std::string script;
  std::vector<std::string> args;
  int procs_per_node = 1;
  std::string precision = "bf16";
  int accumulation = 1;
  std::string env;  // spec.env entries, each "    - name: X\n      value: \"v\"\n"
};

std::string yaml(const Job& j) {
  std::ostringstream y;
  y << "apiVersion: accel.dev/v1alpha1\nkind: AccelJob\nmetadata:\n  name: " << j.name << "\n"
    << "spec:\n  image: accel-worker-python:cpu\n  command: [\"" << python() << "\", \""
    << example(j.script) << "\"]\n  args: [";
  for (size_t i = 0; i < j.args.size(); ++i) y << (i ? ", " : "") << '"' << j.args[i] << '"';
  y << "]\n  nodes: 2\n  procsPerNode: " << j.procs_per_node << "\n  gpusPerNode: 0\n"
    << "  precision: " << j.precision << "\n  gradientAccumulationSteps: " << j.accumulation
    << "\n"
    // No /metrics: an unchanged script serves none (and no other job's is read by mistake).
    << "  metrics:\n    port: 0\n"
    << "  runPolicy:\n    maxRestarts: 2\n    backoff:\n      initialSeconds: 1\n";
  if (!j.env.empty()) y << "  env:\n" << j.env;
  return y.str();
}

class PythonScripts : public ::testing::Test {
 protected:
  void SetUp() override { python(); }  // the venv first: its one-time install is not a job's time

  std::unique_ptr<Subprocess> start(const Job& job) {
    const fs::path file = root_ / (job.name + ".yaml");
    std::ofstream(file) << yaml(job);
    return start_file(file);
  }
  std::unique_ptr<Subprocess> start_file(const fs::path& file,
                                         std::map<std::string, std::string> env = {}) {
    SubprocessOptions o;
    o.argv = {ACCEL_CLI, "run", file.string(), "--dir", run_dir().string(), "--output", "plain"};
    o.stdout_path = (root_ / "accel-run.out").string();
    o.stderr_path = "=stdout";
    // What the scripts see must come from the spec, not from the shell running the tests.
    o.unset_env = {"ACCELERATE_MIXED_PRECISION", "ACCELERATE_GRADIENT_ACCUMULATION_STEPS",
                   "ACCELERATE_USE_CPU", "OMP_NUM_THREADS"};
    o.env = std::move(env);
    o.env["PYTHONDONTWRITEBYTECODE"] = "1";
    // gpusPerNode 0 gives a pod no GPU; on a GPU machine the scripts would pick nccl otherwise.
    o.env["CUDA_VISIBLE_DEVICES"] = "";
    return std::make_unique<Subprocess>(o);
  }
  int run(const Job& job) { return wait(start(job)); }
  int wait(std::unique_ptr<Subprocess> p) {
    auto status = p->wait_for(std::chrono::seconds(300));
    if (!status) {
      p->terminate(std::chrono::seconds(20));
      ADD_FAILURE() << "accel run did not finish within 300 s:\n" << output();
      return -1;
    }
    return status->code();
  }
  std::string output() const { return read_file((root_ / "accel-run.out").string()); }
  fs::path run_dir() const { return root_ / "run"; }
  // Relative --report-dir: below the pods' working directory, the run directory.
  fs::path reports() const { return run_dir() / "reports"; }
  json report(const std::string& name) const {
    const std::string text = read_file((reports() / name).string());
    if (text.empty()) throw std::runtime_error("no report " + name + "\n" + output());
    return json::parse(text);
  }
  std::string pod_log(const std::string& pod) const {
    return read_file((run_dir() / "logs" / (pod + ".log")).string());
  }

  accel::testing::PerTestDir scratch_{"accel-python-test"};
  const fs::path root_ = scratch_.path();
};

TEST_F(PythonScripts, TorchrunStyleDdpScriptRunsUnchangedWithTorchrunsVariablesOnEveryRank) {
  Job j;
  j.name = "py-ddp";
  j.script = "train_ddp.py";
  j.procs_per_node = 2;
  j.args = {"--steps", "10", "--report-dir", "reports"};
  ASSERT_EQ(run(j), 0) << output();
  std::string port;
  for (int rank = 0; rank < 4; ++rank) {
    const json r = report("ddp-attempt0-rank" + std::to_string(rank) + ".json");
    const json& e = r["env"];
    const int node = rank / 2;
    SCOPED_TRACE("rank " + std::to_string(rank) + ": " + r.dump());
    EXPECT_EQ(r["rank"], rank);  // what init_process_group("env://") made of it
    EXPECT_EQ(r["world_size"], 4);
    EXPECT_EQ(r["backend"], "gloo");
    EXPECT_TRUE(r["parameters_equal_rank0"].get<bool>());  // DDP really all-reduced
    EXPECT_EQ(e["RANK"], std::to_string(rank));
    EXPECT_EQ(e["LOCAL_RANK"], std::to_string(rank % 2));
    EXPECT_EQ(e["WORLD_SIZE"], "4");
    EXPECT_EQ(e["LOCAL_WORLD_SIZE"], "2");
    EXPECT_EQ(e["GROUP_RANK"], std::to_string(node));
    EXPECT_EQ(e["GROUP_WORLD_SIZE"], "2");
    EXPECT_EQ(e["ROLE_NAME"], "default");
    EXPECT_EQ(e["ROLE_RANK"], std::to_string(rank));
    EXPECT_EQ(e["ROLE_WORLD_SIZE"], "4");
    EXPECT_EQ(e["MASTER_ADDR"], "127.0.0.1");
    EXPECT_EQ(e["TORCHELASTIC_RESTART_COUNT"], "0");
    EXPECT_EQ(e["TORCHELASTIC_RUN_ID"], "py-ddp");
    EXPECT_EQ(e["TORCHELASTIC_USE_AGENT_STORE"], "False");
    ASSERT_TRUE(e["OMP_NUM_THREADS"].is_string());
    EXPECT_GE(std::stoi(e["OMP_NUM_THREADS"].get<std::string>()), 1);
    if (rank == 0) port = e["MASTER_PORT"];
    EXPECT_EQ(e["MASTER_PORT"], port);  // one rendezvous for the whole gang
  }
}

TEST_F(PythonScripts, AccelerateScriptTrainsWithTheSpecsPrecisionAndAccumulation) {
  Job j;
  j.name = "py-accelerate";
  j.script = "train_accelerate.py";
  j.precision = "bf16";
  j.accumulation = 4;
  // 64 samples, 2 ranks, batches of 4: 8 micro-batches per rank.
  j.args = {"--samples", "64", "--batch_size", "4", "--report-dir", "reports"};
  ASSERT_EQ(run(j), 0) << output();
  for (int rank = 0; rank < 2; ++rank) {
    const json r = report("accelerate-attempt0-rank" + std::to_string(rank) + ".json");
    SCOPED_TRACE(r.dump());
    EXPECT_EQ(r["mixed_precision"], "bf16");
    EXPECT_EQ(r["gradient_accumulation_steps"], 4);
    EXPECT_EQ(r["layer_dtype"], "torch.bfloat16");  // Accelerate's autocast really ran in bf16
    EXPECT_EQ(r["micro_batches"], 8);
    EXPECT_EQ(r["optimizer_steps"], 2);  // 8 micro-batches / 4
    EXPECT_EQ(r["num_processes"], 2);
    EXPECT_EQ(r["process_index"], rank);
    EXPECT_EQ(r["distributed_type"], "DistributedType.MULTI_CPU");
  }
}

TEST_F(PythonScripts, AnAccelerateVariableTheSpecSetsInEnvIsKeptAndTheLauncherSaysSo) {
  Job j;
  j.name = "py-accelerate-env";
  j.script = "train_accelerate.py";
  j.accumulation = 4;
  j.env = "    - name: ACCELERATE_GRADIENT_ACCUMULATION_STEPS\n      value: \"2\"\n";
  j.args = {"--samples", "64", "--batch_size", "4", "--report-dir", "reports"};
  ASSERT_EQ(run(j), 0) << output();
  const json r = report("accelerate-attempt0-rank1.json");
  EXPECT_EQ(r["gradient_accumulation_steps"], 2) << r.dump();
  EXPECT_EQ(r["optimizer_steps"], 4) << r.dump();
  const std::string log = pod_log("py-accelerate-env-a0-n1");
  EXPECT_NE(
      log.find("ACCELERATE_GRADIENT_ACCUMULATION_STEPS=2 from the environment is kept; the job's 4 "
               "(environment variable ACCEL_GRADIENT_ACCUMULATION_STEPS) is not applied"),
      std::string::npos)
      << log;
}

TEST_F(PythonScripts, SigkilledPythonRankRestartsTheWholeGangWhichThenCompletes) {
  Job j;
  j.name = "py-kill";
  j.script = "train_ddp.py";
  // Attempt 0 holds at step 3 (every rank), so the kill lands mid-run; attempt 1 runs through.
  j.args = {"--steps", "6", "--hold-at-step", "3", "--report-dir", "reports"};
  auto run = start(j);
  const fs::path holding = reports() / "ddp-attempt0-rank1.holding";
  ASSERT_TRUE(eventually([&] { return fs::exists(holding); }, std::chrono::seconds(180)))
      << output();
  const pid_t victim = json::parse(read_file(holding.string()))["pid"].get<pid_t>();
  ASSERT_EQ(::kill(victim, SIGKILL), 0);

  auto status = run->wait_for(std::chrono::seconds(300));
  ASSERT_TRUE(status.has_value()) << output();
  const std::string out = output();
  EXPECT_EQ(status->code(), 0) << out;
  EXPECT_NE(out.find("phase Restarting (attempt 1, restarts 1)"), std::string::npos) << out;
  EXPECT_NE(out.find("pod py-kill-a0-n1 (node 1) exited 137"), std::string::npos) << out;
  EXPECT_NE(out.find("AccelJob py-kill Succeeded"), std::string::npos) << out;
  // The new gang is attempt 1 on both nodes, and the scripts see it.
  for (int rank = 0; rank < 2; ++rank) {
    const json r = report("ddp-attempt1-rank" + std::to_string(rank) + ".json");
    EXPECT_EQ(r["env"]["TORCHELASTIC_RESTART_COUNT"], "1") << r.dump();
    EXPECT_EQ(r["steps"], 6);
    EXPECT_FALSE(fs::exists(reports() / ("ddp-attempt0-rank" + std::to_string(rank) + ".json")));
  }
}

TEST_F(PythonScripts, APythonRanksExitCodeEndsTheJobWithItAndA78IsNotRetried) {
  Job j;
  j.name = "py-exit";
  j.script = "train_ddp.py";
  j.args = {"--exit-code", "78"};
  EXPECT_EQ(run(j), 78) << output();
  const std::string out = output();
  EXPECT_NE(out.find("AccelJob py-exit Failed"), std::string::npos) << out;
  EXPECT_EQ(out.find("attempt 1"), std::string::npos) << "a configuration error is not retried:\n"
                                                      << out;
  // Every rank exits 78 at once: the first node's launcher to see it says so, and accel run
  // then stops the other node, whose launcher may be told before its own rank is reaped.
  const std::string logs = pod_log("py-exit-a0-n0") + pod_log("py-exit-a0-n1");
  EXPECT_TRUE(logs.find("rank 0 exited with code 78") != std::string::npos ||
              logs.find("rank 1 exited with code 78") != std::string::npos)
      << logs;
}

// The AccelJobs in examples/python/ as written, run the way their comments say: the scripts'
// folder where the image would have it, `python` the venv's.
TEST_F(PythonScripts, TheExampleJobsRunAsWritten) {
  const std::string path = std::string(std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
  const std::string bin = fs::path(python()).parent_path().string();
  for (const std::string name : {"ddp-2node-cpu.yaml", "accelerate-2node-cpu.yaml"}) {
    SCOPED_TRACE(name);
    std::string text = read_file(example(name));
    ASSERT_FALSE(text.empty());
    const std::string from = "/workspace/examples/python/", to = example("");
    for (size_t at; (at = text.find(from)) != std::string::npos;) text.replace(at, from.size(), to);
    const fs::path file = root_ / name;
    std::ofstream(file) << text;
    fs::remove_all(run_dir());
    ASSERT_EQ(wait(start_file(file, {{"PATH", bin + ":" + path}})), 0) << output();
    EXPECT_NE(output().find("Succeeded"), std::string::npos) << output();
  }
  // The Accelerate example's spec: bf16, accumulation 4.
  const json r = report("accelerate-attempt0-rank1.json");
  EXPECT_EQ(r["mixed_precision"], "bf16");
  EXPECT_EQ(r["gradient_accumulation_steps"], 4);
}

}  // namespace

// Real multi-process training through `accel launch` (Gloo on CPU): data-parallel and
// accumulation equivalences, bf16, checkpoint/resume after a crash, and the exit-code table
// for hangs, stalls, rendezvous timeouts and bad configuration.
#include <filesystem>

#include "training_harness.h"

namespace accel::testing {
namespace {

const std::string kMlp = MLP_TRAINER;
const std::string kGpt = GPT_TRAINER;

// Parameters agree within this relative tolerance when the same samples are summed in a
// different order (all-reduce vs one big batch): float32 rounding only.
constexpr double kTolerance = 2e-5;

TEST(DistributedTraining, TwoRanksWithBatchBMatchOneRankWithBatch2B) {
  auto d2 = fresh_dir("ddp2"), d1 = fresh_dir("ddp1");
  auto two = launch(d2, {"--num_processes", "2", "--main_process_port", "0"}, kMlp,
                    {"--steps", "12", "--batch-size", "8", "--save-params", d2 + "/p.bin"});
  ASSERT_TRUE(two.status.success()) << two.output;
  auto one = launch(d1, {"--num_processes", "1", "--main_process_port", "0"}, kMlp,
                    {"--steps", "12", "--batch-size", "16", "--save-params", d1 + "/p.bin"});
  ASSERT_TRUE(one.status.success()) << one.output;
  auto a = read_floats(d2 + "/p.bin"), b = read_floats(d1 + "/p.bin");
  ASSERT_FALSE(a.empty());
  EXPECT_LT(max_rel_diff(a, b), kTolerance);
  // And training moved the parameters: a run with 0 steps differs.
  auto d0 = fresh_dir("ddp0");
  auto none = launch(d0, {"--num_processes", "1", "--main_process_port", "0"}, kMlp,
                     {"--steps", "0", "--batch-size", "16", "--save-params", d0 + "/p.bin"});
  ASSERT_TRUE(none.status.success()) << none.output;
  EXPECT_GT(max_rel_diff(read_floats(d0 + "/p.bin"), b), 1e-3);
}

TEST(DistributedTraining, AccumulatingKMicroBatchesEqualsOneBatchKTimesLarger) {
  auto dk = fresh_dir("acck"), d1 = fresh_dir("acc1");
  auto k = launch(dk, {"--num_processes", "2", "--main_process_port", "0",
                       "--gradient_accumulation_steps", "4"},
                  kMlp, {"--steps", "6", "--batch-size", "4", "--save-params", dk + "/p.bin"});
  ASSERT_TRUE(k.status.success()) << k.output;
  auto one = launch(d1, {"--num_processes", "2", "--main_process_port", "0"}, kMlp,
                    {"--steps", "6", "--batch-size", "16", "--save-params", d1 + "/p.bin"});
  ASSERT_TRUE(one.status.success()) << one.output;
  EXPECT_LT(max_rel_diff(read_floats(dk + "/p.bin"), read_floats(d1 + "/p.bin")), kTolerance);
}

TEST(DistributedTraining, Bf16GptLossDecreases) {
  auto d = fresh_dir("bf16");
  auto r = launch(d, {"--num_processes", "2", "--main_process_port", "0", "--mixed_precision",
                      "bf16"},
                  kGpt, {"--steps", "40", "--batch-size", "8", "--seq-len", "32", "--dim", "64",
                         "--layers", "2", "--log-every", "5"});
  ASSERT_TRUE(r.status.success()) << r.output;
  auto l = losses(r.output);
  ASSERT_GE(l.size(), 4u) << r.output;
  EXPECT_LT(l.rbegin()->second, l.begin()->second - 0.5) << r.output;
  EXPECT_NE(r.output.find("mixed_precision"), std::string::npos);
  EXPECT_NE(r.output.find("bf16"), std::string::npos);
}

TEST(DistributedTraining, KilledRankResumesFromLastCheckpointToIdenticalParameters) {
  auto ref = fresh_dir("resume-ref"), d = fresh_dir("resume");
  const std::vector<std::string> flags{"--num_processes", "2", "--main_process_port", "0",
                                       "--checkpoint_every_steps", "5"};
  auto base = launch(ref, flags, kMlp, {"--steps", "20", "--save-params", ref + "/p.bin"});
  ASSERT_TRUE(base.status.success()) << base.output;

  auto crashed = launch(d, flags, kMlp,
                        {"--steps", "20", "--crash-at-step", "13", "--fault-rank", "1"});
  EXPECT_EQ(crashed.status.code(), 128 + 9) << crashed.output;  // SIGKILL, reported as 137
  ASSERT_TRUE(std::filesystem::exists(d + "/checkpoints/checkpoint_00000010/COMPLETE"));

  auto resumed = launch(d, flags, kMlp, {"--steps", "20", "--save-params", d + "/p.bin"});
  ASSERT_TRUE(resumed.status.success()) << resumed.output;
  EXPECT_NE(resumed.output.find("resumed from"), std::string::npos) << resumed.output;
  EXPECT_NE(resumed.output.find("step 10,"), std::string::npos) << resumed.output;
  EXPECT_EQ(max_rel_diff(read_floats(d + "/p.bin"), read_floats(ref + "/p.bin")), 0.0);
}

TEST(DistributedTraining, CrashDuringSaveLeavesThePreviousCheckpointLoadable) {
  auto ref = fresh_dir("save-crash-ref"), d = fresh_dir("save-crash");
  const std::vector<std::string> flags{"--num_processes", "2", "--main_process_port", "0",
                                       "--checkpoint_every_steps", "4", "--checkpoint_keep", "2"};
  auto base = launch(ref, flags, kMlp, {"--steps", "12", "--save-params", ref + "/p.bin"});
  ASSERT_TRUE(base.status.success()) << base.output;
  // Rank 0 is killed in the middle of its 2nd save (step 8): the model file is written, the
  // checkpoint is not committed.
  auto crashed = launch(d, flags, kMlp, {"--steps", "12", "--crash-in-save", "2"});
  EXPECT_EQ(crashed.status.code(), 137) << crashed.output;
  EXPECT_TRUE(std::filesystem::exists(d + "/checkpoints/checkpoint_00000004/COMPLETE"));
  EXPECT_FALSE(std::filesystem::exists(d + "/checkpoints/checkpoint_00000008"));
  EXPECT_TRUE(std::filesystem::exists(d + "/checkpoints/checkpoint_00000008.tmp/model.pt"));

  auto resumed = launch(d, flags, kMlp, {"--steps", "12", "--save-params", d + "/p.bin"});
  ASSERT_TRUE(resumed.status.success()) << resumed.output;
  EXPECT_NE(resumed.output.find("step 4,"), std::string::npos) << resumed.output;
  EXPECT_EQ(max_rel_diff(read_floats(d + "/p.bin"), read_floats(ref + "/p.bin")), 0.0);
  // keep=2: only the newest two complete checkpoints remain, and no stale .tmp.
  std::vector<std::string> names;
  for (auto& e : std::filesystem::directory_iterator(d + "/checkpoints"))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"checkpoint_00000008", "checkpoint_00000012"}));
}

// The disk fills up during a save: a file size limit (RLIMIT_FSIZE, set with util-linux's
// prlimit on the launcher and inherited by every rank) above every small file of a checkpoint
// but below the model's size makes the model file's write fail with EFBIG, as a full disk does
// with ENOSPC. Every rank exits 84, rank 0's message names the file and the reason, nothing of
// the failed save is left, and the previous checkpoint resumes to the uninterrupted result.
TEST(DistributedTraining, AFullDiskDuringASaveExitsCheckpointWriteFailedAndKeepsThePreviousCheckpoint) {
  namespace fs = std::filesystem;
  auto ref = fresh_dir("disk-full-ref"), d = fresh_dir("disk-full");
  const std::vector<std::string> flags{"--num_processes", "2", "--main_process_port", "0",
                                       "--checkpoint_every_steps", "4"};
  auto base = launch(ref, flags, kMlp, {"--steps", "16", "--save-params", ref + "/p.bin"});
  ASSERT_TRUE(base.status.success()) << base.output;

  auto first = launch(d, flags, kMlp, {"--steps", "8"});
  ASSERT_TRUE(first.status.success()) << first.output;
  const std::string ck8 = d + "/checkpoints/checkpoint_00000008";
  const auto model = fs::file_size(ck8 + "/model.pt"), rng = fs::file_size(ck8 + "/rank_00001/rng.pt");
  ASSERT_GT(model, rng + 2);
  const auto limit = (model + rng) / 2;

  std::vector<std::string> argv{"prlimit", "--fsize=" + std::to_string(limit), "--", ACCEL_CLI,
                                "launch"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.insert(argv.end(), {"--", kMlp, "--steps", "16"});
  auto full = run_command(argv, std::chrono::seconds(300),
                          {{"ACCEL_PROJECT_DIR", d},
                           {"ACCEL_CONFIG_FILE", d + "/no-config-file.yaml"},
                           {"OMP_NUM_THREADS", "1"}});
  EXPECT_EQ(full.status.code(), 84) << full.output;
  EXPECT_NE(full.output.find("resumed from"), std::string::npos) << full.output;
  EXPECT_NE(full.output.find("cannot write " + d + "/checkpoints/checkpoint_00000012.tmp/model.pt.part: "
                             "File too large"),
            std::string::npos)
      << full.output;
  EXPECT_NE(full.output.find("another rank could not write its part"), std::string::npos)
      << "rank 1 did not give up with rank 0:\n" << full.output;
  EXPECT_NE(full.output.find("the previous checkpoint " + ck8 + " is intact"), std::string::npos)
      << full.output;
  EXPECT_FALSE(fs::exists(d + "/checkpoints/checkpoint_00000012")) << full.output;
  EXPECT_FALSE(fs::exists(d + "/checkpoints/checkpoint_00000012.tmp")) << "the partial save is left";

  auto resumed = launch(d, flags, kMlp, {"--steps", "16", "--save-params", d + "/p.bin"});
  ASSERT_TRUE(resumed.status.success()) << resumed.output;
  EXPECT_NE(resumed.output.find("step 8,"), std::string::npos) << resumed.output;
  EXPECT_EQ(max_rel_diff(read_floats(d + "/p.bin"), read_floats(ref + "/p.bin")), 0.0);
}

TEST(DistributedTraining, HungRankMakesTheOthersExitWithCollectiveTimeout) {
  auto d = fresh_dir("hang");
  // pg timeout 5 s; no stall watchdog. The command's own limit is timeout + margin.
  auto r = launch(d, {"--num_processes", "2", "--main_process_port", "0", "--pg_timeout_seconds",
                      "5", "--stall_timeout_seconds", "0"},
                  kMlp, {"--steps", "10", "--hang-at-step", "3", "--fault-rank", "1"}, {},
                  std::chrono::seconds(5 + 60));
  EXPECT_EQ(r.status.code(), 80) << r.output;
  EXPECT_NE(r.output.find("rank 0"), std::string::npos) << r.output;
}

TEST(DistributedTraining, StalledStepTriggersTheWatchdogCode) {
  auto d = fresh_dir("stall");
  auto r = launch(d, {"--num_processes", "1", "--main_process_port", "0",
                      "--stall_timeout_seconds", "3"},
                  kMlp, {"--steps", "10", "--hang-at-step", "3", "--fault-rank", "0"}, {},
                  std::chrono::seconds(3 + 60));
  EXPECT_EQ(r.status.code(), 81) << r.output;
  EXPECT_NE(r.output.find("stalled"), std::string::npos) << r.output;
}

TEST(DistributedTraining, MissingPeerEndsWithRendezvousTimeout) {
  auto d = fresh_dir("rdzv");
  // A world of 2 with only rank 0 started.
  auto r = run_command({kMlp, "--steps", "1"}, std::chrono::seconds(90),
                       {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "0"},
                        {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "0"},
                        {"ACCEL_RENDEZVOUS_TIMEOUT_SECONDS", "3"}, {"ACCEL_PROJECT_DIR", d}});
  EXPECT_EQ(r.status.code(), 79) << r.output;
  EXPECT_NE(r.output.find("rendezvous"), std::string::npos) << r.output;
}

TEST(DistributedTraining, InvalidConfigurationExitsWithConfigErrorNamingTheSource) {
  auto d = fresh_dir("badcfg");
  auto r = launch(d, {"--num_processes", "1", "--main_process_port", "0"}, kMlp, {"--steps", "1"},
                  {{"ACCEL_MIXED_PRECISION", "bf17"}});
  EXPECT_EQ(r.status.code(), 78) << r.output;
  EXPECT_NE(r.output.find("bf17"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("ACCEL_MIXED_PRECISION"), std::string::npos) << r.output;
}

// Usage errors are configuration errors (78, never retried), not CLI11's own codes (106 for a
// missing program): of the launcher, and of the trainers.
TEST(DistributedTraining, UsageErrorsOfTheLauncherAndTheTrainerExitWithConfigError) {
  auto no_program = run_command({ACCEL_CLI, "launch", "--num_processes", "1"});
  EXPECT_EQ(no_program.status.code(), 78) << no_program.output;
  EXPECT_NE(no_program.output.find("program is required"), std::string::npos) << no_program.output;
  auto bad_flag = run_command({ACCEL_CLI, "launch", "--num_processez", "1", "--", kMlp});
  EXPECT_EQ(bad_flag.status.code(), 78) << bad_flag.output;
  auto d = fresh_dir("usage");
  auto trainer = launch(d, {"--num_processes", "1", "--main_process_port", "0"}, kMlp,
                        {"--stepz", "1"});
  EXPECT_EQ(trainer.status.code(), 78) << trainer.output;
  EXPECT_NE(trainer.output.find("--stepz"), std::string::npos) << trainer.output;
  auto help = run_command({ACCEL_CLI, "launch", "--help"});
  EXPECT_EQ(help.status.code(), 0) << help.output;
}

}  // namespace
}  // namespace accel::testing

// The benchmark's limit (bench/bare/train_gpt_bare.cpp) is only a limit if it does exactly the
// training accel-train-gpt does: the same model, initialisation, sample order, accumulation,
// clipping, optimizer and schedule. Both print "step N loss L" for every step; the lines must be
// the same, for one rank and for two (the bare loop's own c10d all-reduce against libaccel's DDP).
#include "training_harness.h"

namespace accel::testing {
namespace {

const std::vector<std::string> kModel{"--steps", "12", "--log-every", "1", "--dim", "64",
                                      "--layers", "2", "--heads", "4", "--seq-len", "32",
                                      "--batch-size", "4", "--batches-per-epoch", "10"};

std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void expect_same_training(int ranks) {
  const std::string n = std::to_string(ranks);
  auto da = fresh_dir("bare-accel-" + n), db = fresh_dir("bare-loop-" + n);
  auto accel = launch(da, {"--num_processes", n, "--main_process_port", "0",
                           "--gradient_accumulation_steps", "2", "--mixed_precision", "no"},
                      GPT_TRAINER, kModel);
  ASSERT_TRUE(accel.status.success()) << accel.output;
  // `accel launch` sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT as torchrun does; the
  // bare loop reads only those.
  auto bare = launch(db, {"--num_processes", n, "--main_process_port", "0"}, BARE_GPT,
                     with(kModel, {"--gradient-accumulation-steps", "2", "--mixed-precision", "no"}));
  ASSERT_TRUE(bare.status.success()) << bare.output;
  auto a = losses(accel.output), b = losses(bare.output);
  ASSERT_EQ(a.size(), 12u) << accel.output;
  EXPECT_EQ(a, b) << "accel-train-gpt:\n" << accel.output << "\nbare loop:\n" << bare.output;
  // The batches-per-epoch of 10 (5 optimizer steps an epoch) puts two epoch boundaries into
  // the 12 steps; training moved the loss.
  EXPECT_LT(a.rbegin()->second, a.begin()->second - 0.3) << accel.output;
}

TEST(BareLoop, TrainsExactlyAsAccelTrainGptOnOneRank) { expect_same_training(1); }
TEST(BareLoop, TrainsExactlyAsAccelTrainGptOnTwoRanks) { expect_same_training(2); }

}  // namespace
}  // namespace accel::testing

// In-process checks of the Accelerator with one process (no RANK in the environment):
// autocast really changes dtypes, and the short last accumulation window is scaled by its
// real size.
#include <accel/accelerator.h>
#include <torch/torch.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

namespace accel {
namespace {

class AcceleratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/accel-unit-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    ::setenv("ACCEL_PROJECT_DIR", dir_.c_str(), 1);
    ::setenv("ACCEL_CONFIG_FILE", (dir_ + "/none.yaml").c_str(), 1);
    for (const char* v : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "ACCEL_MIXED_PRECISION",
                          "ACCEL_GRADIENT_ACCUMULATION_STEPS"})
      ::unsetenv(v);
  }
  std::string dir_;
};

TEST_F(AcceleratorTest, Bf16AutocastRunsLinearLayersInBfloat16AndRestoresAfter) {
  Accelerator acc(AcceleratorOptions().mixed_precision("bf16"));
  torch::nn::Linear lin(4, 3);
  auto x = torch::randn({2, 4});
  {
    auto scope = acc.autocast();
    EXPECT_EQ(lin->forward(x).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(lin->forward(x).scalar_type(), torch::kFloat);
  EXPECT_EQ(lin->weight.scalar_type(), torch::kFloat);  // fp32 master weights
}

TEST_F(AcceleratorTest, NoPrecisionLeavesFloat32) {
  Accelerator acc(AcceleratorOptions().mixed_precision("no"));
  torch::nn::Linear lin(4, 3);
  auto scope = acc.autocast();
  EXPECT_EQ(lin->forward(torch::randn({2, 4})).scalar_type(), torch::kFloat);
}

TEST_F(AcceleratorTest, ShortLastWindowIsScaledByItsRealSize) {
  // Epoch of 3 micro-batches with accumulation 2: windows {0, 1} and {2}. The gradient of the
  // second window must be the gradient of micro-batch 2's mean loss, not half of it.
  Accelerator acc(AcceleratorOptions().gradient_accumulation_steps(2));
  torch::manual_seed(0);
  torch::nn::Linear model(3, 1);
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1));
  acc.prepare(*model, opt);
  std::vector<torch::Tensor> xs{torch::randn({4, 3}), torch::randn({4, 3}), torch::randn({4, 3})};
  acc.begin_epoch(0, 3);
  std::vector<bool> syncs;
  for (int b = 0; b < 3; ++b) {
    auto scope = acc.accumulate();
    syncs.push_back(acc.sync_gradients());
    auto loss = model->forward(xs[b]).pow(2).mean();
    acc.backward(loss);
    if (b == 2) {
      // Reference: the plain gradient of this micro-batch's loss on a copy of the weights.
      auto w = model->weight.detach().clone().requires_grad_(true);
      auto bias = model->bias.detach().clone().requires_grad_(true);
      auto ref = torch::addmm(bias, xs[b], w.t()).pow(2).mean();
      ref.backward();
      EXPECT_TRUE(torch::allclose(model->weight.grad(), w.grad(), 1e-6, 1e-6))
          << model->weight.grad() << " vs " << w.grad();
    }
    acc.step();
  }
  EXPECT_EQ(syncs, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(acc.completed_steps(), 2);
}

TEST_F(AcceleratorTest, FullWindowAveragesOverItsMicroBatches) {
  Accelerator acc(AcceleratorOptions().gradient_accumulation_steps(2));
  torch::manual_seed(0);
  torch::nn::Linear model(3, 1);
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1));
  acc.prepare(*model, opt);
  auto x0 = torch::randn({4, 3}), x1 = torch::randn({4, 3});
  auto w = model->weight.detach().clone().requires_grad_(true);
  auto bias = model->bias.detach().clone().requires_grad_(true);
  torch::cat({torch::addmm(bias, x0, w.t()), torch::addmm(bias, x1, w.t())}).pow(2).mean().backward();
  acc.begin_epoch(0, 2);
  for (auto* x : {&x0, &x1}) {
    auto scope = acc.accumulate();
    acc.backward(model->forward(*x).pow(2).mean());
    if (acc.sync_gradients())
      EXPECT_TRUE(torch::allclose(model->weight.grad(), w.grad(), 1e-6, 1e-6));
    acc.step();
  }
  EXPECT_EQ(acc.completed_steps(), 1);
}

TEST_F(AcceleratorTest, CodeValueEqualToTheDefaultStillWinsOverEnvironment) {
  ::setenv("ACCEL_GRADIENT_ACCUMULATION_STEPS", "4", 1);
  Accelerator acc(AcceleratorOptions().gradient_accumulation_steps(1));
  EXPECT_EQ(acc.gradient_accumulation_steps(), 1);
  ::unsetenv("ACCEL_GRADIENT_ACCUMULATION_STEPS");
}

// The order accel::Batches hands out is fixed: these values are also what the Python reference
// (bench/python/gpt_common.py, EpochOrder) computes, so C++ and Python runs see the same samples.
TEST_F(AcceleratorTest, BatchesFollowTheDocumentedOrderBitForBit) {
  Accelerator acc(AcceleratorOptions().seed(42));
  accel::Batches ten(acc, 10, 10);
  EXPECT_EQ(ten.at(0, 0).indices, (std::vector<size_t>{7, 5, 6, 2, 4, 8, 0, 9, 3, 1}));
  EXPECT_EQ(ten.at(3, 0).indices, (std::vector<size_t>{2, 0, 5, 7, 9, 8, 1, 4, 3, 6}));
  accel::BatchOptions o;
  o.seed = 7;
  accel::Batches twenty(acc, 20, 3, o);
  EXPECT_EQ(twenty.at(1, 0).indices, (std::vector<size_t>{1, 15, 10}));
  EXPECT_EQ(twenty.at(1, 1).indices, (std::vector<size_t>{18, 17, 2}));
  o.shuffle = false;
  EXPECT_EQ(accel::Batches(acc, 20, 3, o).at(4, 2).indices, (std::vector<size_t>{6, 7, 8}));
}

TEST_F(AcceleratorTest, BatchesRunUntilTheStepsAcrossEpochsAndShortLastWindows) {
  // 10 samples, batch 3: 3 micro-batches per epoch; accumulation 2: windows {0,1} {2} per epoch.
  Accelerator acc(AcceleratorOptions().gradient_accumulation_steps(2));
  torch::nn::Linear model(1, 1);
  torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(0.1));
  acc.prepare(model, opt);
  accel::Batches batches(acc, 10, 3);
  std::vector<std::pair<int64_t, int64_t>> seen;
  for (const auto& mb : batches.until(4)) {
    seen.emplace_back(mb.epoch, mb.index);
    auto scope = acc.accumulate();
    acc.backward(model->forward(torch::ones({3, 1})).sum());
    acc.step();
  }
  EXPECT_EQ(acc.completed_steps(), 4);
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, int64_t>>{{0, 0}, {0, 1}, {0, 2}, {1, 0}, {1, 1}, {1, 2}}));
}

TEST_F(AcceleratorTest, PrintStreamsItsValuesOnTheMainProcess) {
  Accelerator acc;
  ::testing::internal::CaptureStdout();
  acc.print("step ", 7, " loss ", 0.25, " ok ", true);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "step 7 loss 0.25 ok 1\n");
}

}  // namespace
}  // namespace accel

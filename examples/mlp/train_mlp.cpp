// train_mlp — a small regression MLP trained with libaccel: the shortest complete loop.
//
// Synthetic data: sample i has inputs uniform in [-1, 1) drawn from a hash of i (the same on
// every rank, run and resume) and target sin(3 x0) + x1 x2.
//
//   accel launch --num_processes 2 -- accel-train-mlp --steps 100
#include <accel/accelerator.h>

#include <cmath>
#include <iostream>

#include "../support/trainer_flags.h"

namespace {

struct MLPImpl : torch::nn::Module {
  MLPImpl(int64_t in, int64_t hidden, int64_t out)
      : fc1(register_module("fc1", torch::nn::Linear(in, hidden))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, hidden))),
        fc3(register_module("fc3", torch::nn::Linear(hidden, out))) {}
  torch::Tensor forward(torch::Tensor x) {
    x = torch::relu(fc1(x));
    x = torch::relu(fc2(x));
    return fc3(x);
  }
  torch::nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(MLP);

constexpr int64_t kDims = 8;

// Inputs of the samples at `indices`, [n, kDims].
torch::Tensor inputs(const std::vector<size_t>& indices) {
  std::vector<float> v;
  v.reserve(indices.size() * kDims);
  for (size_t i : indices)
    for (int64_t d = 0; d < kDims; ++d) {
      const uint64_t k = examples::mix(examples::sample_key(7, static_cast<int64_t>(i)) +
                                       static_cast<uint64_t>(d));
      v.push_back(static_cast<float>((k >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0));
    }
  return torch::from_blob(v.data(), {static_cast<int64_t>(indices.size()), kDims}, torch::kFloat)
      .clone();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a small MLP with libaccel"};
  int64_t steps = 100, batch = 32, samples = 50 * 32 * 8, hidden = 64, log_every = 10;
  double lr = 1e-2;
  std::string save_params;
  examples::FaultFlags faults;
  app.add_option("--steps", steps);
  app.add_option("--batch-size", batch, "Samples per process per micro-batch");
  app.add_option("--samples", samples, "Samples per epoch");
  app.add_option("--hidden", hidden);
  app.add_option("--lr", lr);
  app.add_option("--log-every", log_every);
  app.add_option("--save-params", save_params);
  faults.add_to(app);
  if (auto rc = examples::parse_flags(app, argc, argv)) return *rc;

  return accel::run_main([&] {
    accel::Accelerator acc;
    faults.install(acc);
    MLP model(kDims, hidden, 1);
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(lr).momentum(0.9));
    acc.prepare(model, opt);
    acc.set_batch_shape(batch);
    acc.set_total_steps(steps);
    acc.init_trackers("mlp", {{"hidden", hidden}, {"lr", lr}});

    accel::Batches batches(acc, samples, batch);
    for (const accel::MicroBatch& mb : batches.until(steps)) {
      faults.at_micro_batch(acc);
      auto scope = acc.accumulate();
      auto x = inputs(mb.indices).to(acc.device());
      auto y = (torch::sin(3 * x.select(1, 0)) + x.select(1, 1) * x.select(1, 2)).unsqueeze(1);
      auto loss = torch::mse_loss(model->forward(x).to(torch::kFloat), y);
      acc.backward(loss);
      if (acc.step() &&
          (acc.completed_steps() % log_every == 0 || acc.completed_steps() == steps)) {
        const double mean = acc.reduce(loss.detach(), accel::ReduceOp::Mean).item<double>();
        acc.log({{"loss", mean}});
        acc.print("step ", acc.completed_steps(), " loss ", mean);
      }
    }
    acc.wait_for_everyone();
    if (acc.is_main_process() && !save_params.empty())
      examples::save_params_raw(*model, save_params);
    acc.print("done: ", acc.completed_steps(), " steps");
    acc.end_training();
  });
}

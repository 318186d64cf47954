// train_mlp — a small MLP regression trained with libaccel (the smallest complete example).
//
// Data: y = sin(3·x₀) + x₁·x₂ on inputs drawn deterministically per sample, so that any
// number of ranks and any accumulation sees the same samples per optimizer step.
#include <accel/accelerator.h>

#include <iostream>
#include <sstream>

#include "../support/trainer_flags.h"

namespace {

struct MLPImpl : torch::nn::Module {
  MLPImpl(int64_t in, int64_t hidden, int64_t out)
      : fc1(register_module("fc1", torch::nn::Linear(in, hidden))),
        fc2(register_module("fc2", torch::nn::Linear(hidden, hidden))),
        fc3(register_module("fc3", torch::nn::Linear(hidden, out))) {}
  torch::Tensor forward(torch::Tensor x) {
    return fc3(torch::relu(fc2(torch::relu(fc1(x)))));
  }
  torch::nn::Linear fc1, fc2, fc3;
};
TORCH_MODULE(MLP);

torch::Tensor sample_inputs(uint64_t seed, int64_t epoch, int64_t first, int64_t n, int64_t dims) {
  std::vector<float> v(static_cast<size_t>(n * dims));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < dims; ++d) {
      uint64_t k = examples::mix(examples::sample_key(seed, epoch, first + i) + static_cast<uint64_t>(d));
      v[static_cast<size_t>(i * dims + d)] = static_cast<float>((k >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
    }
  return torch::from_blob(v.data(), {n, dims}, torch::kFloat).clone();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a small MLP with libaccel"};
  int64_t steps = 100, batch = 32, batches_per_epoch = 50, hidden = 64, log_every = 10;
  double lr = 1e-2;
  std::string save_params;
  examples::FaultFlags faults;
  app.add_option("--steps", steps);
  app.add_option("--batch-size", batch, "Samples per process per micro-batch");
  app.add_option("--batches-per-epoch", batches_per_epoch);
  app.add_option("--hidden", hidden);
  app.add_option("--lr", lr);
  app.add_option("--log-every", log_every);
  app.add_option("--save-params", save_params);
  faults.add_to(app);
  CLI11_PARSE(app, argc, argv);

  return accel::run_main([&] {
    accel::Accelerator acc;
    const int64_t dims = 8;
    MLP model(dims, hidden, 1);
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(lr).momentum(0.9));
    acc.prepare(*model, opt);
    acc.set_batch_shape(batch);
    acc.set_total_steps(steps);
    acc.init_trackers("mlp", {{"hidden", std::to_string(hidden)}, {"lr", std::to_string(lr)}});
    const int world = acc.num_processes(), rank = acc.process_index();
    for (int64_t epoch = acc.epoch(); acc.completed_steps() < steps; ++epoch) {
      acc.begin_epoch(epoch, batches_per_epoch);
      for (int64_t b = acc.batch_in_epoch(); b < batches_per_epoch && acc.completed_steps() < steps; ++b) {
        if (b % acc.gradient_accumulation_steps() == 0) faults.maybe_inject(acc.completed_steps() + 1, rank);
        auto scope = acc.accumulate();
        auto host = sample_inputs(7, epoch, b * batch * world + rank * batch, batch, dims);
        if (acc.device().is_cuda()) host = host.pin_memory();  // async host-to-device copy
        auto x = host.to(acc.device(), /*non_blocking=*/true);
        auto y = (torch::sin(3 * x.select(1, 0)) + x.select(1, 1) * x.select(1, 2)).unsqueeze(1);
        torch::Tensor loss;
        {
          auto autocast = acc.autocast();
          loss = torch::mse_loss(model->forward(x).to(torch::kFloat), y);
        }
        auto full = acc.backward(loss);
        if (acc.step()) {
          auto mean = acc.reduce(full, accel::ReduceOp::Mean).item<double>();
          acc.log({{"loss", mean}});
          if (acc.completed_steps() % log_every == 0 || acc.completed_steps() == steps) {
            std::ostringstream line;
            line << "step " << acc.completed_steps() << " loss " << mean;
            acc.print(line.str());
          }
        }
      }
    }
    acc.wait_for_everyone();
    if (acc.is_main_process() && !save_params.empty()) examples::save_params_raw(*model, save_params);
    acc.print("done: " + std::to_string(acc.completed_steps()) + " steps");
    acc.end_training();
  });
}

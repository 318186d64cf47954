// ddp_options_trainer — a small training program for ddp_options_test: the same Accelerator
// loop as the example trainers, with models chosen to exercise one DDP option each, and a
// report of what a user can observe about the gradients.
//
//   --model deep    a chain of Linear(width, width) layers (enough bytes for several buckets)
//   --model reuse   one Linear used by two reentrant activation-checkpoint segments, so its
//                   gradient hook fires twice per backward (what ddp_static_graph is for)
//   --model branch  a residual branch used only on micro-batches whose index % 3 == 0 (what
//                   ddp_find_unused_parameters is for)
//
// Writes to --out: p_rank<R>.bin (every parameter as raw float32, after training) and
// grads_rank<R>.txt, one line per synchronising micro-batch, taken right after backward:
//   sync=<n> params=<with a gradient> storages=<distinct gradient storages>
//   max_storage_bytes=<largest such storage> largest_param_bytes=<largest gradient>
//   total_param_bytes=<sum of gradients> packed=<1 when each storage holds exactly its gradients>
//   storage_ids=<sorted storage addresses>
// Data: sample j of micro-batch b on rank r is global sample b*B*world + r*B + j, a pure function
// of that index, so 2 ranks × B and 1 rank × 2B see the same samples per optimizer step.
#include <accel/accelerator.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "support/trainer_flags.h"

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

using Segment = std::function<torch::Tensor(const torch::Tensor&)>;

// Reentrant activation checkpointing, as torch.utils.checkpoint(use_reentrant=True): forward
// without a graph, backward recomputes the segment and runs a nested backward through it. The
// parameters' gradient hooks therefore fire inside the nested backward, once per segment.
struct ReentrantCheckpoint : torch::autograd::Function<ReentrantCheckpoint> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, int64_t segment) {
    ctx->saved_data["segment"] = segment;
    ctx->save_for_backward({x});
    torch::NoGradGuard no_grad;
    return (*reinterpret_cast<const Segment*>(segment))(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto x = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    const auto* segment = reinterpret_cast<const Segment*>(ctx->saved_data["segment"].toInt());
    torch::Tensor y;
    {
      torch::AutoGradMode on(true);
      y = (*segment)(x);
    }
    torch::autograd::backward({y}, {grads[0]});
    return {x.grad(), torch::Tensor()};
  }
};

struct ProbeModel : torch::nn::Module {
  ProbeModel(const std::string& kind, int64_t dims, int64_t width, int64_t layers) : kind(kind) {
    in = register_module("in", torch::nn::Linear(dims, width));
    if (kind == "deep") {
      for (int64_t i = 0; i < layers; ++i)
        hidden.push_back(
            register_module("hidden" + std::to_string(i), torch::nn::Linear(width, width)));
    } else if (kind == "reuse") {
      shared = register_module("shared", torch::nn::Linear(width, width));
      segment = [this](const torch::Tensor& h) { return torch::tanh(shared(h)); };
    } else if (kind == "branch") {
      branch = register_module("branch", torch::nn::Linear(width, width));
    } else {
      throw std::invalid_argument("--model: '" + kind + "' is not one of deep, reuse, branch");
    }
    out = register_module("out", torch::nn::Linear(width, 1));
  }

  torch::Tensor forward(const torch::Tensor& x, bool use_branch) {
    auto h = torch::tanh(in(x));
    if (kind == "deep") {
      for (auto& l : hidden) h = torch::tanh(l(h));
    } else if (kind == "reuse") {
      const auto ptr = reinterpret_cast<int64_t>(&segment);
      h = ReentrantCheckpoint::apply(h, ptr);
      h = ReentrantCheckpoint::apply(h, ptr);
    } else if (use_branch) {
      h = h + torch::tanh(branch(h));
    }
    return out(h);
  }

  std::string kind;
  torch::nn::Linear in{nullptr}, out{nullptr}, shared{nullptr}, branch{nullptr};
  std::vector<torch::nn::Linear> hidden;
  Segment segment;
};

torch::Tensor inputs(int64_t first, int64_t n, int64_t dims) {
  std::vector<float> v(static_cast<size_t>(n * dims));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t d = 0; d < dims; ++d) {
      uint64_t k = examples::mix(examples::sample_key(11, first + i) + static_cast<uint64_t>(d));
      v[static_cast<size_t>(i * dims + d)] =
          static_cast<float>((k >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
    }
  return torch::from_blob(v.data(), {n, dims}, torch::kFloat).clone();
}

// One line describing where the gradients live (see the header comment).
std::string describe_grads(torch::nn::Module& model, int64_t sync) {
  std::map<const void*, std::pair<int64_t, int64_t>> storages;  // address → (bytes, grad bytes)
  int64_t params = 0, largest = 0, total = 0;
  for (auto& p : model.parameters()) {
    const auto& g = p.grad();
    if (!g.defined()) continue;
    ++params;
    const int64_t bytes = g.numel() * static_cast<int64_t>(g.element_size());
    largest = std::max(largest, bytes);
    total += bytes;
    auto& s = storages[g.storage().data()];
    s.first = static_cast<int64_t>(g.storage().nbytes());
    s.second += bytes;
  }
  int64_t max_storage = 0;
  bool packed = true;
  std::ostringstream ids;
  for (auto& [address, sizes] : storages) {
    max_storage = std::max(max_storage, sizes.first);
    packed = packed && sizes.first == sizes.second;
    ids << (ids.tellp() > 0 ? "," : "") << address;
  }
  std::ostringstream line;
  line << "sync=" << sync << " params=" << params << " storages=" << storages.size()
       << " max_storage_bytes=" << max_storage << " largest_param_bytes=" << largest
       << " total_param_bytes=" << total << " packed=" << (packed ? 1 : 0)
       << " storage_ids=" << ids.str();
  return line.str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Training program for the DDP option tests"};
  std::string kind = "deep", out_dir;
  int64_t steps = 4, batch = 8, width = 32, layers = 4, dims = 16;
  double lr = 0.05;
  app.add_option("--model", kind);
  app.add_option("--steps", steps, "Optimizer steps");
  app.add_option("--batch-size", batch, "Samples per process per micro-batch");
  app.add_option("--width", width);
  app.add_option("--layers", layers, "Hidden layers of --model deep");
  app.add_option("--lr", lr);
  app.add_option("--out", out_dir)->required();
  CLI11_PARSE(app, argc, argv);

  return accel::run_main([&] {
    accel::Accelerator acc;
    auto model = std::make_shared<ProbeModel>(kind, dims, width, layers);
    torch::optim::SGD opt(model->parameters(), torch::optim::SGDOptions(lr));
    acc.prepare(*model, opt);
    const int world = acc.num_processes(), rank = acc.process_index();
    const int64_t micro_batches = steps * acc.gradient_accumulation_steps();
    std::ofstream report(out_dir + "/grads_rank" + std::to_string(rank) + ".txt");
    acc.begin_epoch(0, micro_batches);
    int64_t syncs = 0;
    for (int64_t b = 0; b < micro_batches; ++b) {
      auto scope = acc.accumulate();
      auto x = inputs(b * batch * world + rank * batch, batch, dims);
      auto y = torch::sin(x.narrow(1, 0, 3).sum(1, /*keepdim=*/true));
      auto loss = torch::mse_loss(model->forward(x, b % 3 == 0), y);
      acc.backward(loss);
      if (acc.sync_gradients()) report << describe_grads(*model, ++syncs) << std::endl;
      acc.step();
    }
    acc.wait_for_everyone();
    examples::save_params_raw(*model, out_dir + "/p_rank" + std::to_string(rank) + ".bin");
    acc.print("done: " + std::to_string(acc.completed_steps()) + " steps");
    acc.end_training();
  });
}

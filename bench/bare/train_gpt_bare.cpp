// train_gpt_bare — the limit every per-step claim is measured against: accel-train-gpt's
// training written as a plain LibTorch loop, with no libaccel at all (no DDP wrapper, no
// trackers, no metrics, no watchdog, no checkpoints).
//
// The same model (examples/gpt/gpt_model.h), data (examples/gpt/text_windows.h, in the
// sample order of accel::Batches), AdamW (weight decay 0.01) + StepLR (100, 0.5), clipping at
// 1.0, loss / accumulation steps with one gradient exchange per optimizer step, bf16 autocast
// or float32, seed 42 before the model is built, and the same "step N loss L" line (the mean
// over ranks, one all-reduce per logged step, as every trainer in bench/ prints it).
//
// The host allocator as libaccel sets it (host_malloc_tuning, worker/src/core/host_memory.h:
// glibc's mmap threshold 32 MiB, trim threshold 256 MiB), so that the limit is the best plain
// loop and not one that pays for page faults libaccel avoids; --malloc default keeps glibc's.
//
// One rank: run it directly. Several: torchrun --no-python --standalone --nproc_per_node N
// train_gpt_bare ... (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT); after the last micro-batch
// of each optimizer step the gradients are flattened into one buffer and exchanged with a
// single c10d Gloo all-reduce, the least a data-parallel step must do.
#include <ATen/autocast_mode.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <malloc.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <numeric>

#include "../../examples/gpt/gpt_model.h"
#include "../../examples/gpt/text_windows.h"

namespace {

// accel::Batches' sample order (worker/src/core/data.cpp), restated so that this program
// needs no libaccel: splitmix64, Fisher–Yates from the front seeded by (seed, epoch); micro-batch
// m gives rank r the positions m*B*world + r*B .. + B-1.
uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::vector<size_t> epoch_order(uint64_t seed, int64_t epoch, size_t n) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  uint64_t state = mix(seed ^ mix(static_cast<uint64_t>(epoch)));
  for (size_t i = 0; i + 1 < n; ++i) {
    state = mix(state);
    std::swap(order[i], order[i + state % (n - i)]);
  }
  return order;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The GPT example's training as a plain LibTorch loop (the benchmark's limit)"};
  int64_t steps = 200, batch = 8, batches_per_epoch = 100, log_every = 10, accumulation = 1;
  int threads = 1;
  uint64_t seed = 42;
  double lr = 3e-3;
  std::string corpus_path = "/usr/share/common-licenses", precision = "no", malloc_mode = "tuned";
  examples::GPTConfig cfg;
  app.add_option("--steps", steps, "Optimizer steps to train");
  app.add_option("--batch-size", batch, "Sequences per process per micro-batch");
  app.add_option("--batches-per-epoch", batches_per_epoch, "Micro-batches per epoch");
  app.add_option("--gradient-accumulation-steps", accumulation);
  app.add_option("--mixed-precision", precision, "no or bf16")->check(CLI::IsMember({"no", "bf16"}));
  app.add_option("--threads", threads, "Intra-op CPU threads");
  app.add_option("--malloc", malloc_mode, "tuned (libaccel's thresholds) or default (glibc's)")
      ->check(CLI::IsMember({"tuned", "default"}));
  app.add_option("--seed", seed);
  app.add_option("--seq-len", cfg.block, "Context length");
  app.add_option("--layers", cfg.layers);
  app.add_option("--heads", cfg.heads);
  app.add_option("--dim", cfg.dim);
  app.add_option("--lr", lr);
  app.add_option("--corpus", corpus_path, "A text file or a folder of text files");
  app.add_option("--log-every", log_every);
  CLI11_PARSE(app, argc, argv);

  const int world = env_int("WORLD_SIZE", 1), rank = env_int("RANK", 0);
  at::set_num_threads(threads);
  if (malloc_mode == "tuned") {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
  }
  torch::manual_seed(seed);

  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
  if (world > 1) {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(env_int("MASTER_PORT", 29500));
    so.isServer = rank == 0;
    so.numWorkers = static_cast<size_t>(world);
    so.waitWorkers = true;
    const char* addr = std::getenv("MASTER_ADDR");
    auto store = c10::make_intrusive<c10d::TCPStore>(addr ? addr : "127.0.0.1", so);
    auto opts = c10d::ProcessGroupGloo::Options::create();
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, opts);
  }
  auto all_reduce = [&](torch::Tensor& t) {
    std::vector<torch::Tensor> ts{t};
    pg->allreduce(ts)->wait();
  };

  const examples::TextWindows data(examples::read_corpus(corpus_path), cfg.block + 1);
  examples::GPT model(cfg);
  std::vector<torch::Tensor> params = model->parameters();
  if (pg) {  // every rank starts from rank 0's parameters
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> flat{torch::cat([&] {
      std::vector<torch::Tensor> v;
      for (auto& p : params) v.push_back(p.reshape({-1}));
      return v;
    }())};
    pg->broadcast(flat)->wait();
    int64_t at = 0;
    for (auto& p : params) {
      p.copy_(flat[0].narrow(0, at, p.numel()).view_as(p));
      at += p.numel();
    }
  }
  torch::optim::AdamW opt(params, torch::optim::AdamWOptions(lr).weight_decay(0.01));
  torch::optim::StepLR sched(opt, /*step_size=*/100, /*gamma=*/0.5);

  const size_t n = static_cast<size_t>(data.size());
  const int64_t per_epoch = std::min<int64_t>(batches_per_epoch, data.size() / (batch * world));
  const bool bf16 = precision == "bf16";
  int64_t epoch = 0, index = 0, completed = 0, in_window = 0;
  std::vector<size_t> order = epoch_order(seed, epoch, n);
  std::vector<size_t> indices(static_cast<size_t>(batch));
  while (completed < steps) {
    if (index == per_epoch) {
      order = epoch_order(seed, ++epoch, n);
      index = 0;
    }
    // A window ends with the accumulation or with the epoch, as accel::Accelerator's does.
    const int64_t start = (index / accumulation) * accumulation;
    const int64_t window = std::max<int64_t>(1, std::min(accumulation, per_epoch - start));
    const int64_t first = index * batch * world + rank * batch;
    std::copy(order.begin() + first, order.begin() + first + batch, indices.begin());
    torch::Tensor loss;
    {
      at::autocast::set_autocast_enabled(at::kCPU, bf16);
      if (bf16) at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
      loss = model->loss(data.get(indices, torch::kCPU));
      at::autocast::set_autocast_enabled(at::kCPU, false);
      if (bf16) at::autocast::clear_cache();
    }
    (loss / static_cast<double>(window)).backward();
    ++index;
    if (++in_window < window) continue;
    in_window = 0;
    if (pg) {
      torch::NoGradGuard no_grad;
      std::vector<torch::Tensor> grads;
      for (auto& p : params) grads.push_back(p.grad().reshape({-1}));
      auto flat = torch::cat(grads);
      all_reduce(flat);
      flat.div_(world);
      int64_t at = 0;
      for (auto& p : params) {
        p.mutable_grad().copy_(flat.narrow(0, at, p.numel()).view_as(p));
        at += p.numel();
      }
    }
    torch::nn::utils::clip_grad_norm_(params, 1.0);
    opt.step();
    sched.step();
    opt.zero_grad(/*set_to_none=*/true);
    ++completed;
    if (completed % log_every == 0 || completed == steps) {
      auto mean = loss.detach().clone();
      if (pg) {
        all_reduce(mean);
        mean.div_(world);
      }
      if (rank == 0) std::cout << "step " << completed << " loss " << mean.item<double>() << std::endl;
    }
  }
  if (rank == 0) {
    std::cout << "done: " << completed << " steps" << std::endl;
    // What it ran with, checked by bench/worker_vs_python.sh like the Python trainers' lines.
    std::cout << "bench-summary {\"system\": \"bare\", \"world\": " << world << ", \"accumulation\": "
              << accumulation << ", \"precision\": \"" << precision << "\", \"torch_threads\": "
              << at::get_num_threads() << ", \"malloc\": \"" << malloc_mode << "\"}" << std::endl;
  }
  return 0;
}

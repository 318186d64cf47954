// train_gpt — a small GPT-style byte-level language model trained with libaccel.
//
// Corpus: the license texts Debian ships in every system (/usr/share/common-licenses, from
// base-files), ~300 KB of real English prose. Written against the public API only.
//
//   accel launch --num_processes 2 --mixed_precision bf16 -- accel-train-gpt --steps 200
#include <accel/accelerator.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "../support/trainer_flags.h"
#include "gpt_model.h"

namespace fs = std::filesystem;

namespace {

std::string read_corpus(const std::string& path) {
  std::vector<fs::path> files;
  if (fs::is_directory(path)) {
    for (auto& e : fs::directory_iterator(path))
      if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::string text;
  for (auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text += ss.str();
  }
  if (text.size() < 1024) throw std::runtime_error("corpus too small: " + path);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train a small GPT-style language model with libaccel"};
  int64_t steps = 200, batch = 8, batches_per_epoch = 100, log_every = 10;
  double lr = 3e-3;
  std::string corpus_path = "/usr/share/common-licenses", save_params, project = "gpt-tiny";
  examples::GPTConfig cfg;
  examples::FaultFlags faults;
  app.add_option("--steps", steps, "Optimizer steps to train");
  app.add_option("--batch-size", batch, "Sequences per process per micro-batch");
  app.add_option("--batches-per-epoch", batches_per_epoch, "Micro-batches per epoch");
  app.add_option("--seq-len", cfg.block, "Context length");
  app.add_option("--layers", cfg.layers);
  app.add_option("--heads", cfg.heads);
  app.add_option("--dim", cfg.dim);
  app.add_option("--dropout", cfg.dropout);
  app.add_option("--lr", lr);
  app.add_option("--corpus", corpus_path, "A text file or a folder of text files");
  app.add_option("--log-every", log_every);
  app.add_option("--save-params", save_params, "Write final parameters (float32) here");
  app.add_option("--project", project, "Tracker project name");
  faults.add_to(app);
  CLI11_PARSE(app, argc, argv);

  return accel::run_main([&] {
    accel::Accelerator acc;
    const std::string text = read_corpus(corpus_path);
    auto corpus = torch::from_blob(const_cast<char*>(text.data()), {int64_t(text.size())}, torch::kUInt8)
                      .to(torch::kLong);
    const int64_t span = cfg.block + 1;
    const int64_t positions = corpus.size(0) - span;

    examples::GPT model(cfg);
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(lr).weight_decay(0.01));
    torch::optim::StepLR sched(opt, /*step_size=*/100, /*gamma=*/0.5);
    acc.prepare(*model, opt, &sched);
    acc.set_batch_shape(batch, batch * cfg.block);
    acc.set_total_steps(steps);
    acc.init_trackers(project, {{"layers", std::to_string(cfg.layers)},
                                {"dim", std::to_string(cfg.dim)},
                                {"batch_size", std::to_string(batch)},
                                {"lr", std::to_string(lr)},
                                {"mixed_precision", acc.mixed_precision()},
                                {"gradient_accumulation_steps", std::to_string(acc.gradient_accumulation_steps())}});
    const int world = acc.num_processes(), rank = acc.process_index();
    const uint64_t seed = 1234;
    bool reported_dtype = false;

    for (int64_t epoch = acc.epoch(); acc.completed_steps() < steps; ++epoch) {
      acc.begin_epoch(epoch, batches_per_epoch);
      for (int64_t b = acc.batch_in_epoch(); b < batches_per_epoch && acc.completed_steps() < steps; ++b) {
        if (b % acc.gradient_accumulation_steps() == 0) faults.maybe_inject(acc.completed_steps() + 1, rank);
        auto scope = acc.accumulate();
        std::vector<torch::Tensor> rows;
        for (int64_t j = 0; j < batch; ++j) {
          const int64_t g = b * batch * world + rank * batch + j;
          const int64_t start = static_cast<int64_t>(examples::sample_key(seed, epoch, g) % uint64_t(positions));
          rows.push_back(corpus.narrow(0, start, span));
        }
        // On CUDA: a page-locked host batch copied asynchronously, overlapping the previous
        // step's kernels (on CPU both are no-ops).
        auto host = torch::stack(rows);
        if (acc.device().is_cuda()) host = host.pin_memory();
        auto tokens = host.to(acc.device(), /*non_blocking=*/true);
        torch::Tensor loss;
        {
          auto autocast = acc.autocast();
          loss = model->loss(tokens);
        }
        if (!reported_dtype) {
          acc.print(std::string("compute dtype ") + c10::toString(model->compute_dtype) + " on " +
                    acc.device().str());
          reported_dtype = true;
        }
        auto full = acc.backward(loss);
        if (acc.sync_gradients()) acc.clip_grad_norm(1.0);
        if (acc.step()) {
          auto mean = acc.reduce(full, accel::ReduceOp::Mean).item<double>();
          acc.log({{"loss", mean}, {"lr", opt.param_groups()[0].options().get_lr()}});
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

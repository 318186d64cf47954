// train_gpt — a small GPT-style byte-level language model trained with libaccel.
//
// Corpus: the license texts Debian ships in every system (/usr/share/common-licenses, from
// base-files), ~300 KB of real English prose. Written against the public API only.
//
//   accel launch --num_processes 2 --mixed_precision bf16 -- accel-train-gpt --steps 200
#include <accel/accelerator.h>

#include <iostream>

#include "../support/trainer_flags.h"
#include "gpt_model.h"
#include "text_windows.h"

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
  if (auto rc = examples::parse_flags(app, argc, argv)) return *rc;

  return accel::run_main([&] {
    accel::Accelerator acc;
    faults.install(acc);
    const examples::TextWindows data(examples::read_corpus(corpus_path), cfg.block + 1);
    examples::GPT model(cfg);
    torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(lr).weight_decay(0.01));
    torch::optim::StepLR sched(opt, /*step_size=*/100, /*gamma=*/0.5);
    acc.prepare(model, opt, sched);
    acc.set_batch_shape(batch, batch * cfg.block);
    acc.set_total_steps(steps);
    acc.init_trackers(project, {{"layers", cfg.layers}, {"dim", cfg.dim}, {"batch_size", batch}, {"lr", lr},
                                {"mixed_precision", acc.mixed_precision()},
                                {"gradient_accumulation_steps", acc.gradient_accumulation_steps()}});

    accel::BatchOptions order;
    order.batches_per_epoch = batches_per_epoch;
    accel::Batches batches(acc, data.size(), batch, order);
    for (const accel::MicroBatch& mb : batches.until(steps)) {
      faults.at_micro_batch(acc);
      auto scope = acc.accumulate();
      auto loss = model->loss(data.get(mb.indices, acc.device()));
      acc.backward(loss);
      acc.clip_grad_norm(1.0);
      if (acc.step() && (acc.completed_steps() % log_every == 0 || acc.completed_steps() == steps)) {
        const double mean = acc.reduce(loss.detach(), accel::ReduceOp::Mean).item<double>();
        acc.log({{"loss", mean}, {"lr", opt.param_groups()[0].options().get_lr()}});
        acc.print("step ", acc.completed_steps(), " loss ", mean);
      }
    }
    acc.print("compute dtype ", c10::toString(model->compute_dtype), " on ", acc.device().str());
    acc.wait_for_everyone();
    if (acc.is_main_process() && !save_params.empty()) examples::save_params_raw(*model, save_params);
    acc.print("done: ", acc.completed_steps(), " steps");
    acc.end_training();
  });
}

// trainer_flags.h — what the example trainers share: deterministic synthetic values,
// fault-injection flags used by the tests, and writing parameters for comparisons.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <accel/accelerator.h>

#include <memory>
#include <optional>

namespace examples {

// Parses the trainer's flags. A usage error is a configuration error: CLI11's message and exit
// code 78 (never retried by the operator), not CLI11's own 100-115; --help exits 0.
//   if (auto rc = examples::parse_flags(app, argc, argv)) return *rc;
inline std::optional<int> parse_flags(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 78;
  }
}

// A deterministic pseudo-random value of (seed, index): synthetic samples that are a pure
// function of their index, so every run, rank count and resume sees the same data.
inline uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
inline uint64_t sample_key(uint64_t seed, int64_t index) { return mix(mix(seed) ^ static_cast<uint64_t>(index)); }

// Faults for the tests, on the public API only: --crash-at-step / --hang-at-step act when
// that optimizer step begins on --fault-rank; --crash-in-save N kills rank 0 in the middle of
// its N-th checkpoint save (through a state registered for checkpointing, so the model and
// optimizer files are written, the checkpoint not yet committed); --slow-save-seconds S makes
// every checkpoint save take S seconds longer (a large model on a slow volume);
// --eval-every N --eval-seconds S spends S seconds in Accelerator::evaluating() before every
// N-th step (a validation pass).
struct FaultFlags {
  int64_t crash_at_step = -1;
  int64_t hang_at_step = -1;
  int64_t crash_in_save = -1;
  double slow_save_seconds = 0;
  int64_t eval_every = 0;
  double eval_seconds = 0;
  int rank = 0;

  void add_to(CLI::App& app) {
    app.add_option("--crash-at-step", crash_at_step, "Testing: SIGKILL --fault-rank at this step");
    app.add_option("--hang-at-step", hang_at_step, "Testing: hang --fault-rank at this step");
    app.add_option("--fault-rank", rank, "Testing: the rank that --crash/--hang-at-step applies to");
    app.add_option("--crash-in-save", crash_in_save, "Testing: SIGKILL rank 0 during its N-th checkpoint save");
    app.add_option("--slow-save-seconds", slow_save_seconds, "Testing: every checkpoint save takes this much longer");
    app.add_option("--eval-every", eval_every, "Testing: an evaluation before every N-th step");
    app.add_option("--eval-seconds", eval_seconds, "Testing: how long each evaluation takes");
  }
  // Before prepare().
  void install(accel::Accelerator& acc) {
    if (slow_save_seconds > 0 && acc.is_main_process()) {
      const auto pause = std::chrono::duration<double>(slow_save_seconds);
      acc.register_for_checkpointing(
          "slow-save",
          [pause] {
            std::this_thread::sleep_for(pause);
            return std::string();
          },
          [](const std::string&) {});
    }
    if (crash_in_save < 0 || !acc.is_main_process()) return;
    auto saves = std::make_shared<int64_t>(0);
    const int64_t n = crash_in_save;
    acc.register_for_checkpointing(
        "fault-injection",
        [saves, n] {
          if (++*saves == n) std::raise(SIGKILL);
          return std::string();
        },
        [](const std::string&) {});
  }
  // At every micro-batch, before accumulate().
  void at_micro_batch(accel::Accelerator& acc) const {
    if (acc.batch_in_epoch() % acc.gradient_accumulation_steps() != 0) return;
    const int64_t step = acc.completed_steps() + 1;
    if (eval_every > 0 && step % eval_every == 0) {
      auto evaluation = acc.evaluating();
      std::this_thread::sleep_for(std::chrono::duration<double>(eval_seconds));
    }
    if (acc.process_index() != rank) return;
    if (step == crash_at_step) std::raise(SIGKILL);
    if (step == hang_at_step)
      for (;;) std::this_thread::sleep_for(std::chrono::seconds(60));
  }
};

// Writes every parameter, in registration order, as raw little-endian float32.
inline void save_params_raw(torch::nn::Module& m, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  for (auto& p : m.parameters()) {
    auto t = p.detach().to(torch::kCPU, torch::kFloat).contiguous();
    out.write(reinterpret_cast<const char*>(t.data_ptr<float>()),
              static_cast<std::streamsize>(t.numel() * sizeof(float)));
  }
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace examples

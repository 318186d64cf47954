// trainer_flags.h — what the example trainers share: deterministic data addressing,
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

namespace examples {

// Sample j of a micro-batch is a pure function of (seed, epoch, global sample index), where the
// global index counts samples of the whole job in order: micro-batch m of rank r holds
// m*B*world + r*B + j. So 2 ranks × B and 1 rank × 2B, or k micro-batches × B and one batch of
// k×B, see exactly the same samples per optimizer step, and a resumed run sees what an
// uninterrupted one would have.
inline uint64_t mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}
inline uint64_t sample_key(uint64_t seed, int64_t epoch, int64_t global_index) {
  return mix(mix(seed ^ mix(static_cast<uint64_t>(epoch))) ^ static_cast<uint64_t>(global_index));
}

struct FaultFlags {
  int64_t crash_at_step = -1;  // SIGKILL this rank when this optimizer step begins
  int64_t hang_at_step = -1;   // sleep forever when this optimizer step begins
  int rank = 0;                // which rank the fault applies to

  void add_to(CLI::App& app) {
    app.add_option("--crash-at-step", crash_at_step, "Testing: SIGKILL --fault-rank at this step");
    app.add_option("--hang-at-step", hang_at_step, "Testing: hang --fault-rank at this step");
    app.add_option("--fault-rank", rank, "Testing: the rank that --crash/--hang-at-step applies to");
  }
  // Called at the start of each optimizer step (first micro-batch of a window).
  void maybe_inject(int64_t step, int my_rank) const {
    if (my_rank != rank) return;
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

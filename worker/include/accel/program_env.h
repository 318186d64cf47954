// accel/program_env.h — the job's settings under the names an unchanged training program reads
// itself: OMP_NUM_THREADS (as torchrun sets it) and the ACCELERATE_* variables Hugging Face
// Accelerate 1.15 honours. worker/README.md ("Python programs under accel launch") lists which
// Accelerate reads, where in its source, and which settings it has no variable for.
//
// Precedence. A variable the launcher's own environment already has (the pod's spec.env, the
// shell) is the user's explicit choice for that program and is kept, with one line in the
// launcher's log when the job asked for another value; only a launch flag (layer 4, above the
// environment in accel/config.h's order) replaces it, also said in one line. Nothing is
// exported for a key no layer set (its built-in default): the program's own defaults and code
// then decide, as they would under torchrun.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace accel {

struct ResolvedConfig;

// One variable the launcher may hand to every rank.
struct ProgramSetting {
  std::string name;    // ACCELERATE_MIXED_PRECISION
  std::string value;   // bf16
  std::string origin;  // where Accel's value came from, in words ("environment variable ACCEL_...")
  bool from_launch_flag = false;  // replaces a value the environment already has
  // Accel's built-in default: a value in the environment is kept without a note.
  bool from_default = false;
};

// The settings of `config` for `nproc` processes per node:
//   OMP_NUM_THREADS = num_cpu_threads_per_process, 0 -> max(1, cores / nproc) (always);
//   ACCELERATE_MIXED_PRECISION = mixed_precision, ACCELERATE_GRADIENT_ACCUMULATION_STEPS =
//   gradient_accumulation_steps (each when a layer set it), ACCELERATE_USE_CPU = true (when cpu
//   is true); ACCELERATE_DYNAMO_BACKEND / _MODE / _USE_FULLGRAPH / _USE_DYNAMIC from the dynamo_*
//   keys (each when a layer set it); TORCH_NCCL_ASYNC_ERROR_HANDLING = 1 (as torchrun; the
//   environment's value wins).
std::vector<ProgramSetting> program_settings(const ResolvedConfig& config, int nproc);

struct ProgramEnv {
  std::map<std::string, std::string> env;  // what to add to every rank's environment
  std::vector<std::string> notes;          // one line per kept or replaced variable that differs
};

// Applies the precedence rule above to `settings` against the launcher's `environment`.
ProgramEnv decide_program_env(const std::vector<ProgramSetting>& settings,
                              const std::map<std::string, std::string>& environment);

}  // namespace accel

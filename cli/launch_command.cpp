#include "launch_command.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "accel/config.h"
#include "accel/launcher.h"
#include "accel/numa_binding.h"
#include "accel/program_env.h"

namespace accel {

namespace {

std::vector<int> parse_gpu_ids(const std::string& ids) {
  std::vector<int> out;
  if (ids.empty() || ids == "all") return out;
  std::stringstream ss(ids);
  std::string part;
  while (std::getline(ss, part, ',')) out.push_back(std::stoi(part));
  return out;
}

struct LaunchCommand {
  LaunchFlags flags;
  std::vector<std::string> program;
  std::string log_dir;
  int grace_seconds = -1;  // -1: termination_grace_seconds - 1
};

}  // namespace

void add_launch_command(CLI::App& app) {
  auto state = std::make_shared<LaunchCommand>();
  auto* sub = app.add_subcommand(
      "launch",
      "Run this node's ranks of a training program: accel launch [flags] -- PROGRAM [ARGS...]. "
      "Flags override the config file and ACCEL_* environment; the program's own code overrides "
      "flags. SIGTERM, SIGINT and SIGHUP are forwarded to every rank (then SIGKILL after "
      "--grace_seconds); the launcher exits 82 when every rank stopped with a checkpoint, else "
      "128+N; if a rank fails, the others are stopped and the launcher exits with that rank's "
      "code (api/EXIT_CODES.md). Each rank also gets torchrun's variables (GROUP_RANK, "
      "TORCHELASTIC_RESTART_COUNT, ...) and the job's precision and accumulation as "
      "ACCELERATE_* (a variable already in the environment is kept unless a flag sets it), so "
      "unchanged torchrun and Accelerate scripts run (worker/README.md).");
  add_launch_flags(*sub, state->flags);
  sub->add_option("--log_dir", state->log_dir, "Write each rank's output to LOG_DIR/rank_N.log");
  sub->add_option("--grace_seconds", state->grace_seconds,
                  "Seconds between the stopping signal (SIGTERM, or the signal forwarded) and "
                  "SIGKILL when the gang stops; default: termination_grace_seconds - 1 after a "
                  "signal (the ranks checkpoint in it, and are gone before the pod's grace period "
                  "ends), 10 after a rank failed");
  sub->add_option("program", state->program, "The training program and its arguments")
      ->required();
  sub->prefix_command();
  sub->callback([state, sub] {
    auto& s = *state;
    // CLI11 hands back the `--` that ended the launcher's own flags among the remaining
    // arguments (after the program's); it is not the program's: argparse rejects a stray `--`.
    bool separator_dropped = false;
    for (auto& extra : sub->remaining()) {
      if (extra == "--" && !separator_dropped) {
        separator_dropped = true;
        continue;
      }
      s.program.push_back(extra);
    }
    ConfigInputs in = ConfigInputs::from_process();
    in.launch_flags = s.flags.values;
    in.config_file = s.flags.config_file;
    in.config_file_origin = "--config_file";
    ResolvedConfig cfg = resolve_config(in);

    LaunchPlan plan;
    plan.program = s.program;
    plan.nproc = cfg.get_int("num_processes");
    plan.nnodes = cfg.get_int("num_machines");
    plan.node_rank = cfg.get_int("machine_rank");
    plan.master_addr = cfg.get_string("main_process_ip");
    plan.master_port = cfg.get_int("main_process_port");
    // The operator's env contract names the rendezvous directly (MASTER_ADDR/PORT, NNODES,
    // NODE_RANK); those describe the same values and are honoured as environment.
    if (!cfg.get_bool("cpu")) plan.gpu_ids = parse_gpu_ids(cfg.get_string("gpu_ids"));
    plan.env = s.flags.to_env();
    plan.environment = in.env;
    plan.settings = program_settings(cfg, plan.nproc);
    plan.restart_count = cfg.restart_count();
    if (!cfg.job_name().empty()) plan.run_id = cfg.job_name();
    if (cfg.numa_binding()) {
      // ACCEL_SYSFS_ROOT: a fake topology for tests (accel/numa_binding.h).
      auto root = in.env.find("ACCEL_SYSFS_ROOT");
      NumaBinding numa = plan_numa_binding(root == in.env.end() ? "/" : root->second, plan.nproc,
                                           plan.gpu_ids, !cfg.cpu(), allowed_cpus());
      std::cerr << ("[accel launch] " + numa.summary + "\n") << std::flush;
      plan.rank_cpus = numa.cpus;
    }
    plan.log_dir = s.log_dir;
    plan.grace = std::chrono::seconds(
        s.grace_seconds >= 0 ? s.grace_seconds
                             : std::max(1, cfg.get_int("termination_grace_seconds") - 1));
    if (s.grace_seconds >= 0) plan.failure_grace = plan.grace;
    std::exit(launch_gang(plan));
  });
}

}  // namespace accel

// accel/launcher.h — `accel launch`: run one node's share of a training gang.
//
// Starts `nproc` copies of the training program with the env contract (RANK, LOCAL_RANK,
// WORLD_SIZE, LOCAL_WORLD_SIZE, NODE_RANK, NNODES, MASTER_ADDR, MASTER_PORT,
// CUDA_VISIBLE_DEVICES, plus ACCEL_LAUNCH_* for launch flags), everything else torchrun gives a
// rank (GROUP_RANK, ROLE_RANK, ROLE_NAME, ROLE_WORLD_SIZE, GROUP_WORLD_SIZE,
// TORCHELASTIC_RESTART_COUNT, TORCHELASTIC_RUN_ID, TORCHELASTIC_USE_AGENT_STORE), and the job's
// settings under the names programs read themselves (OMP_NUM_THREADS, ACCELERATE_*: see
// accel/program_env.h), so an unchanged torchrun or Accelerate script runs as one of its ranks;
// with numa_binding each rank runs on its GPU's NUMA node's CPUs (accel/numa_binding.h). It
// watches them, and:
//  - when one exits non-zero or is killed, stops the others (SIGTERM, then SIGKILL after the
//    grace period): the gang fails together, and the launcher exits with that first failure's
//    code (a signal N reports 128+N), per api/EXIT_CODES.md;
//  - forwards SIGTERM/SIGINT/SIGHUP to every rank (the signal received, to each rank's process
//    group), SIGKILLs what is left after the grace period, and exits 83 when a rank gave up its
//    checkpoint (libaccel's answer to SIGTERM/SIGINT when a peer is gone), else 82 when every
//    rank stopped with one, else 128+signal (143 for SIGTERM, 130 for SIGINT, 129 for SIGHUP);
//  - a rank that exits 82/83 on its own (a stop signal reached another node: every rank stops
//    after the same step) is not a failure to stop the others for: they get the grace period;
//  - exits 0 when every rank exited 0;
//  - once a rank has ended, SIGKILLs whatever is left in its process group (processes the rank
//    started), so nothing outlives the gang.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "accel/program_env.h"

namespace accel {

struct LaunchPlan {
  std::vector<std::string> program;  // argv of the training program
  int nproc = 1;                     // processes on this node
  int nnodes = 1;
  int node_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;           // 0: a free port (single node only)
  std::vector<int> gpu_ids;          // empty: no GPU pinning
  std::map<std::string, std::string> env;  // added to every rank (ACCEL_LAUNCH_*, ...)
  // Job settings under the program's own names (OMP_NUM_THREADS, ACCELERATE_*), applied against
  // `environment` by decide_program_env (a variable the environment already has is kept unless
  // the setting came from a launch flag).
  std::vector<ProgramSetting> settings;
  std::map<std::string, std::string> environment;  // the launcher's own (what ranks inherit)
  // torchrun's TORCHELASTIC_RESTART_COUNT: gang starts before this one (ACCEL_RESTART_COUNT,
  // the operator's attempt). TORCHELASTIC_RUN_ID: the job's name, "none" (torchrun's default
  // --rdzv-id) without one.
  int restart_count = 0;
  std::string run_id = "none";
  // CPUs of each local rank (index = local rank; empty or missing: inherited). See
  // accel/numa_binding.h for how `accel launch --numa_binding` fills it.
  std::vector<std::vector<int>> rank_cpus;
  // SIGTERM to SIGKILL: after a signal the launcher forwarded (the ranks checkpoint in it), and
  // after a rank failed (the others cannot checkpoint without it: they only need to end).
  std::chrono::milliseconds grace{std::chrono::seconds(10)};
  std::chrono::milliseconds failure_grace{std::chrono::seconds(10)};
  std::string log_dir;               // empty: ranks inherit stdout/stderr
};

// Runs the gang to completion; returns the launcher's exit code.
int launch_gang(const LaunchPlan& plan);

// The env a rank gets on top of the launcher's own (exposed for tests): plan.env, the torchrun
// variables, the settings decide_program_env applies, CUDA_VISIBLE_DEVICES.
std::map<std::string, std::string> rank_env(const LaunchPlan& plan, int local_rank,
                                            int master_port);

// A free TCP port on loopback.
int pick_free_port();

}  // namespace accel

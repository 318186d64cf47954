// process_group.h — rendezvous and the c10d process group of one rank.
//
// Rendezvous goes through c10d's TCPStore at MASTER_ADDR:MASTER_PORT (rank 0 serves it). The
// process group wraps a Gloo backend for CPU tensors and, in CUDA builds, an NCCL backend for
// CUDA tensors, like torch.distributed's init_process_group. The user's timeout is always
// passed to the backend (never dropped because it equals some default).
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

namespace accel {

// Thrown when the world did not assemble within the rendezvous timeout (exit code 79).
struct RendezvousTimeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// Thrown when a collective did not finish within the process-group timeout (exit code 80).
struct CollectiveTimeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ProcessGroupOptions {
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int rank = 0;
  int world_size = 1;
  std::string backend = "gloo";  // "gloo" or "nccl" (already resolved from "auto")
  std::chrono::milliseconds timeout{std::chrono::minutes(30)};
  std::chrono::milliseconds rendezvous_timeout{std::chrono::minutes(5)};
  int device_index = -1;  // CUDA device for NCCL
  std::string gloo_interface;  // GLOO_SOCKET_IFNAME; empty: by master_addr (loopback) or default
};

struct DistributedContext {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  // A second, Gloo-only group for libaccel's own small messages (the per-step stop flag), so
  // they never queue behind or between the training's collectives, on any backend.
  c10::intrusive_ptr<c10d::Backend> control;
};

// Rendezvous and build the process group. Throws RendezvousTimeout when the world did not
// assemble in time, std::runtime_error for other failures (with the address in the message).
DistributedContext init_process_group(const ProcessGroupOptions& options);

// True when an exception thrown by c10d/gloo/NCCL reports a timed-out or aborted collective.
bool is_collective_timeout(const std::exception& e);

}  // namespace accel

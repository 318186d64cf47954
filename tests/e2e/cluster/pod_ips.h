// pod_ips.h — the loopback addresses the test kubelet (node_agent.h) gives its pods.
//
// Each pod gets its own 127.A.B.C (all of 127.0.0.0/8 is loopback on Linux), so that pods on
// one host can bind the same port, as they would in network namespaces of their own. An
// address must not be handed out again while anything a pod started may still hold it (a
// listener of a child that outlived the pod, a connection in TIME_WAIT), so:
//   - a block hands out each address of its 127.A.0.0/16 once, and never again;
//   - every NodeAgent of a process draws from the same block (PodIpBlock::of_this_process());
//   - a block is claimed against other processes (two test binaries, two worktrees on one
//     machine) by an flock on <lock_dir>/127.A.lock. That descriptor is not close-on-exec:
//     every process started after the claim inherits it, pods and their children included,
//     so the block stays claimed until the last of them has exited, even when the process
//     that claimed it died first.
#pragma once

#include <mutex>
#include <string>

namespace accel::testing {

class PodIpBlock {
 public:
  // Second octets a block may have: [kFirstOctet, kFirstOctet + kOctets).
  static constexpr int kFirstOctet = 100, kOctets = 150;
  // Addresses per block: 127.A.B.C with B in 0..255 and C in 2..251.
  static constexpr int kAddresses = 256 * 250;

  // Claims the block of the first free octet from `first_octet` on (wrapping within the
  // range above), its lock file in `lock_dir` (created if missing). Throws
  // std::runtime_error naming lock_dir when every block is claimed.
  PodIpBlock(const std::string& lock_dir, int first_octet);
  // Closes this process's descriptor of the claim (children that inherited it keep it).
  ~PodIpBlock();
  PodIpBlock(const PodIpBlock&) = delete;
  PodIpBlock& operator=(const PodIpBlock&) = delete;

  // The block this process's NodeAgents share: lock files in /tmp/accel-pod-ips, the first
  // octet tried derived from the pid. Claimed on first use, held until the process exits.
  static PodIpBlock& of_this_process();

  int octet() const { return octet_; }
  // "127.A."
  std::string prefix() const;
  // The next address never handed out before (thread-safe). Throws std::runtime_error once
  // all kAddresses are used.
  std::string next();

 private:
  int fd_ = -1;
  int octet_ = 0;
  std::mutex mu_;
  int next_ = 0;
};

}  // namespace accel::testing

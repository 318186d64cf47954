// leader_elector.h — leader election on a coordination.k8s.io/v1 Lease (like client-go's
// leaderelection with a LeaseLock).
//
// Every retry_period the elector reads the Lease. Free (absent, holderIdentity empty, or not
// renewed within its leaseDurationSeconds as observed on the local clock since the record last
// changed — no cross-node clock comparison) → it takes it: creates the Lease, or updates it
// with its identity, acquireTime, renewTime and leaseTransitions+1. Held by itself → renews
// renewTime. Writes carry the read resourceVersion, so of two candidates racing exactly one
// wins (the other gets 409 and tries again next period). A leader that cannot renew for
// renew_deadline stops leading. stop() releases a held lease (holderIdentity cleared,
// leaseDurationSeconds 1) so that a successor takes over without waiting the lease out.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "accel/kube/client.h"

namespace accel::kube {

struct LeaderElectionConfig {
  std::string lease_namespace;
  std::string lease_name;
  std::string identity;  // unique per candidate, e.g. the pod name
  std::chrono::milliseconds lease_duration{15000};  // written as whole seconds (min 1)
  std::chrono::milliseconds renew_deadline{10000};  // < lease_duration
  std::chrono::milliseconds retry_period{2000};
};

// Run on the elector's thread; keep them short (start workers, don't run them here).
struct LeaderCallbacks {
  std::function<void()> on_started_leading;
  std::function<void()> on_stopped_leading;
  std::function<void(const std::string& identity)> on_new_leader;  // observed holder changed
};

class LeaderElector {
 public:
  // Throws std::invalid_argument naming the field when a name/identity is empty or
  // renew_deadline >= lease_duration. `client` must outlive the elector.
  LeaderElector(Client& client, LeaderElectionConfig config, LeaderCallbacks callbacks);
  ~LeaderElector();  // stop()

  void start();
  // Stops trying; if leading, releases the lease and calls on_stopped_leading. Joins.
  void stop();
  bool is_leader() const;
  std::string observed_leader() const;  // holderIdentity last read ("" = none)

 private:
  void run();
  bool try_acquire_or_renew();
  void release();
  void set_leading(bool leading);
  nlohmann::json lease_spec(const nlohmann::json& old_spec, bool acquiring) const;

  Client& client_;
  LeaderElectionConfig config_;
  LeaderCallbacks callbacks_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool leading_ = false;
  std::string observed_holder_;
  std::string observed_record_;  // holder + renewTime + duration, to detect changes
  std::chrono::steady_clock::time_point observed_time_{};
  std::chrono::seconds observed_duration_{0};
  std::chrono::steady_clock::time_point last_renew_{};
  std::thread thread_;
};

}  // namespace accel::kube

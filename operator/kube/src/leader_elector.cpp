#include "accel/kube/leader_elector.h"

#include <stdexcept>

#include "accel/kube/errors.h"
#include "accel/kube/log.h"
#include "time_format.h"

namespace accel::kube {

namespace {
long long whole_seconds(std::chrono::milliseconds d) {
  long long s = (d.count() + 999) / 1000;
  return s < 1 ? 1 : s;
}
}  // namespace

LeaderElector::LeaderElector(Client& client, LeaderElectionConfig config, LeaderCallbacks callbacks)
    : client_(client), config_(std::move(config)), callbacks_(std::move(callbacks)) {
  if (config_.lease_namespace.empty())
    throw std::invalid_argument("LeaderElectionConfig.lease_namespace is empty");
  if (config_.lease_name.empty())
    throw std::invalid_argument("LeaderElectionConfig.lease_name is empty");
  if (config_.identity.empty())
    throw std::invalid_argument("LeaderElectionConfig.identity is empty");
  if (config_.renew_deadline >= config_.lease_duration)
    throw std::invalid_argument("LeaderElectionConfig.renew_deadline (" +
                                std::to_string(config_.renew_deadline.count()) +
                                " ms) must be shorter than lease_duration (" +
                                std::to_string(config_.lease_duration.count()) + " ms)");
  if (config_.retry_period.count() <= 0)
    throw std::invalid_argument("LeaderElectionConfig.retry_period must be positive");
}

LeaderElector::~LeaderElector() { stop(); }

void LeaderElector::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void LeaderElector::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool LeaderElector::is_leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return leading_;
}

std::string LeaderElector::observed_leader() const {
  std::lock_guard<std::mutex> lock(mu_);
  return observed_holder_;
}

void LeaderElector::set_leading(bool leading) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (leading_ == leading) return;
    leading_ = leading;
  }
  log(LogLevel::Info, "leader election " + config_.lease_namespace + "/" + config_.lease_name +
                          ": " + config_.identity + (leading ? " started" : " stopped") +
                          " leading");
  try {
    if (leading && callbacks_.on_started_leading) callbacks_.on_started_leading();
    if (!leading && callbacks_.on_stopped_leading) callbacks_.on_stopped_leading();
  } catch (const std::exception& e) {
    log(LogLevel::Error, std::string("leader election callback threw: ") + e.what());
  }
}

nlohmann::json LeaderElector::lease_spec(const nlohmann::json& old, bool acquiring) const {
  auto now = detail::format_micro_time(std::chrono::system_clock::now());
  nlohmann::json spec = old.is_object() ? old : nlohmann::json::object();
  spec["holderIdentity"] = config_.identity;
  spec["leaseDurationSeconds"] = whole_seconds(config_.lease_duration);
  spec["renewTime"] = now;
  if (acquiring || !spec.contains("acquireTime")) spec["acquireTime"] = now;
  long long transitions = spec.value("leaseTransitions", 0LL);
  if (acquiring && old.is_object()) transitions++;
  spec["leaseTransitions"] = transitions;
  return spec;
}

bool LeaderElector::try_acquire_or_renew() {
  const auto lease_res = resources::leases();
  const auto now = std::chrono::steady_clock::now();
  nlohmann::json lease;
  try {
    lease = client_.get(lease_res, config_.lease_namespace, config_.lease_name);
  } catch (const NotFoundError&) {
    nlohmann::json obj = {
        {"metadata", {{"name", config_.lease_name}, {"namespace", config_.lease_namespace}}},
        {"spec", lease_spec(nullptr, true)}};
    try {
      client_.create(lease_res, config_.lease_namespace, obj);
      std::lock_guard<std::mutex> lock(mu_);
      observed_holder_ = config_.identity;
      return true;
    } catch (const std::exception& e) {
      log(LogLevel::Debug, std::string("leader election: create lease: ") + e.what());
      return false;
    }
  } catch (const std::exception& e) {
    log(LogLevel::Warning, std::string("leader election: read lease: ") + e.what());
    return false;
  }

  nlohmann::json spec = lease.value("spec", nlohmann::json::object());
  std::string holder = spec.value("holderIdentity", "");
  long long duration = spec.value("leaseDurationSeconds", 0LL);
  std::string record = holder + "|" + spec.value("renewTime", "") + "|" + std::to_string(duration);
  std::string previous_holder;
  bool holder_changed = false;
  if (record != observed_record_) {
    observed_record_ = record;
    observed_time_ = now;
    observed_duration_ = std::chrono::seconds(duration);
    std::lock_guard<std::mutex> lock(mu_);
    holder_changed = observed_holder_ != holder;
    observed_holder_ = holder;
  }
  if (holder_changed && !holder.empty() && callbacks_.on_new_leader) {
    try {
      callbacks_.on_new_leader(holder);
    } catch (const std::exception& e) {
      log(LogLevel::Error, std::string("on_new_leader threw: ") + e.what());
    }
  }
  const bool mine = holder == config_.identity;
  const bool valid = now < observed_time_ + observed_duration_;
  if (!holder.empty() && !mine && valid) return false;  // someone else holds a live lease

  lease["spec"] = lease_spec(spec, !mine);
  try {
    client_.update(lease_res, lease);  // carries the read resourceVersion: 409 if it moved
  } catch (const ConflictError&) {
    return false;
  } catch (const std::exception& e) {
    log(LogLevel::Warning, std::string("leader election: update lease: ") + e.what());
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  observed_holder_ = config_.identity;
  return true;
}

void LeaderElector::release() {
  const auto lease_res = resources::leases();
  try {
    auto lease = client_.get(lease_res, config_.lease_namespace, config_.lease_name);
    auto& spec = lease["spec"];
    if (!spec.is_object() || spec.value("holderIdentity", "") != config_.identity) return;
    auto now = detail::format_micro_time(std::chrono::system_clock::now());
    spec.erase("holderIdentity");
    spec["leaseDurationSeconds"] = 1;
    spec["renewTime"] = now;
    spec["acquireTime"] = now;
    client_.update(lease_res, lease);
  } catch (const std::exception& e) {
    log(LogLevel::Warning, std::string("leader election: release lease: ") + e.what());
  }
}

void LeaderElector::run() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    bool ok = try_acquire_or_renew();
    auto now = std::chrono::steady_clock::now();
    if (ok) {
      last_renew_ = now;
      set_leading(true);
    } else if (is_leader()) {
      std::string holder = observed_leader();
      bool taken = !holder.empty() && holder != config_.identity;
      if (taken || now - last_renew_ > config_.renew_deadline) set_leading(false);
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, config_.retry_period, [&] { return stopping_; });
  }
  if (is_leader()) {
    release();
    set_leading(false);
  }
}

}  // namespace accel::kube

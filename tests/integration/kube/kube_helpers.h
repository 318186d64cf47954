// Helpers shared by the accel::kube integration tests.
#pragma once

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "accel/kube/client.h"
#include "control_plane.h"

namespace accel::kube::testing {

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Polls `pred` every 50 ms until it holds or `timeout` passes (a bound, not an assertion on
// speed). Returns the last result.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

// Creates namespace `name` (a fresh one per test keeps tests on a shared control plane apart).
inline std::string make_namespace(Client& c, const std::string& name) {
  c.create(resources::namespaces(), "", {{"metadata", {{"name", name}}}});
  return name;
}

}  // namespace accel::kube::testing

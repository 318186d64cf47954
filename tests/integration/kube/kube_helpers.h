// Helpers shared by the accel::kube integration tests.
#pragma once

#include <string>

#include "accel/kube/client.h"
#include "control_plane.h"
#include "eventually.h"
#include "files.h"

namespace accel::kube::testing {

using accel::testing::eventually;
using accel::testing::read_file;

// The control plane of this test binary: started on first use, stopped at exit.
inline accel::testing::ControlPlane& cp() {
  static accel::testing::ControlPlane plane;
  return plane;
}

// Creates namespace `name` (a fresh one per test keeps tests on a shared control plane apart).
inline std::string make_namespace(Client& c, const std::string& name) {
  c.create(resources::namespaces(), "", {{"metadata", {{"name", name}}}});
  return name;
}

}  // namespace accel::kube::testing

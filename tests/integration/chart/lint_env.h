// lint_env.h — where the chart tests find the real checkers: the Python venv of
// scripts/setup-lint.sh, holding hadolint (bin/hadolint) and Grafana's dashboard schema models
// (grafana-foundation-sdk).
#pragma once

#include <chrono>
#include <string>

#include "venv.h"

namespace accel::testing {

// The venv: $ACCEL_LINT_VENV, else whatever scripts/setup-lint.sh prints last (it installs once,
// then only prints the path). Throws, with the script's output, when neither works.
inline std::string lint_venv() {
  static const std::string venv = venv_from_script("ACCEL_LINT_VENV", "scripts/setup-lint.sh",
                                                   "bin/hadolint", std::chrono::minutes(10));
  return venv;
}

}  // namespace accel::testing

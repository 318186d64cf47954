// lint_env.h — where the chart tests find the real checkers: the Python venv of
// scripts/setup-lint.sh, holding hadolint (bin/hadolint) and Grafana's dashboard schema models
// (grafana-foundation-sdk).
#pragma once

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "accel/subprocess.h"

namespace accel::testing {

// The venv: $ACCEL_LINT_VENV, else whatever scripts/setup-lint.sh prints last (it installs once,
// then only prints the path). Throws, with the script's output, when neither works.
inline std::string lint_venv() {
  static const std::string venv = [] {
    if (const char* v = std::getenv("ACCEL_LINT_VENV"); v && *v) return std::string(v);
    auto r = run_command({"bash", std::string(ACCEL_SOURCE_DIR) + "/scripts/setup-lint.sh"},
                         std::chrono::minutes(10));
    if (!r.status.success())
      throw std::runtime_error("scripts/setup-lint.sh failed (" + r.status.describe() + "):\n" +
                               r.output);
    std::string out = r.output;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    const std::string last =
        out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
    if (!std::filesystem::exists(last + "/bin/hadolint"))
      throw std::runtime_error("scripts/setup-lint.sh did not print a venv path:\n" + r.output);
    return last;
  }();
  return venv;
}

}  // namespace accel::testing

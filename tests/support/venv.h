// venv.h — the Python venvs that scripts/setup-*.sh build for the tests' real checkers and
// readers.
#pragma once

#include <chrono>
#include <string>

namespace accel::testing {

// The venv in $`env_var` when set, else the last line `script` (relative to the repository root,
// run with bash) prints: such scripts install once, then only print the path. Throws
// std::runtime_error, with the script's output, when the script fails or the venv it names has
// no `must_exist` (a path inside it, such as "bin/python").
std::string venv_from_script(const std::string& env_var, const std::string& script,
                             const std::string& must_exist, std::chrono::minutes timeout);

}  // namespace accel::testing

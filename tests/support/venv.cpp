#include "venv.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "accel/subprocess.h"
#include "control_plane.h"

namespace accel::testing {

std::string venv_from_script(const std::string& env_var, const std::string& script,
                             const std::string& must_exist, std::chrono::minutes timeout) {
  if (const char* v = std::getenv(env_var.c_str()); v && *v) return v;
  auto r = run_command({"bash", source_dir() + "/" + script}, timeout);
  if (!r.status.success())
    throw std::runtime_error(script + " failed (" + r.status.describe() + "):\n" + r.output);
  std::string out = r.output;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const auto nl = out.rfind('\n');
  const std::string last = nl == std::string::npos ? out : out.substr(nl + 1);
  if (!std::filesystem::exists(last + "/" + must_exist))
    throw std::runtime_error(script + " did not print a venv path:\n" + r.output);
  return last;
}

}  // namespace accel::testing

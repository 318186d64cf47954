#include "http.h"

#include <chrono>
#include <cstdlib>

#include "accel/subprocess.h"

namespace accel::testing {

std::string http_get(const std::string& url, int* code) {
  // -w appends "\n<status>" ("000" when nothing answered) after the body.
  auto r = run_command({"curl", "-s", "--max-time", "5", "-w", "\n%{http_code}", url},
                       std::chrono::seconds(10));
  const auto nl = r.output.rfind('\n');
  const int status = nl == std::string::npos ? 0 : std::atoi(r.output.c_str() + nl + 1);
  std::string body = nl == std::string::npos ? r.output : r.output.substr(0, nl);
  if (code) {
    *code = status;
    return body;
  }
  return r.status.success() && status > 0 && status < 400 ? body : "";
}

}  // namespace accel::testing

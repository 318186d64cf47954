// reader_env.h — what the tracker integration tests share: the Python venv holding the REAL
// readers (scripts/setup-python.sh), running them, scratch directories and probes of the
// servers they start (eventually and free ports come from tests/support).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/subprocess.h"
#include "eventually.h"
#include "ports.h"
#include "venv.h"

namespace accel::trackers_test {

using accel::testing::eventually;
using accel::testing::free_port;

// The venv: $ACCEL_PY_VENV, else whatever scripts/setup-python.sh prints (it installs once,
// then only prints the path). Throws when neither works.
inline std::string python_venv() {
  static const std::string venv = accel::testing::venv_from_script(
      "ACCEL_PY_VENV", "scripts/setup-python.sh", "bin/python", std::chrono::minutes(30));
  return venv;
}

// Runs a reader script (tests/integration/trackers/<script>) with the venv's Python and
// returns its stdout+stderr; fails the test (throws) when it exits non-zero.
inline std::string run_reader(const std::string& script, const std::vector<std::string>& args,
                              std::chrono::milliseconds timeout = std::chrono::minutes(3)) {
  std::vector<std::string> argv = {python_venv() + "/bin/python",
                                   std::string(ACCEL_SOURCE_DIR) +
                                       "/tests/integration/trackers/" + script};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, timeout, {{"PYTHONDONTWRITEBYTECODE", "1"}});
  if (!r.status.success())
    throw std::runtime_error(script + " failed (" + r.status.describe() + "):\n" + r.output);
  return r.output;
}

// The last line of a reader's output that is a JSON object (readers print one at the end;
// libraries may print warnings before it).
inline nlohmann::json last_json(const std::string& output) {
  std::string line;
  nlohmann::json found;
  bool have = false;
  size_t start = 0;
  while (start <= output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    line = output.substr(start, end - start);
    if (!line.empty() && line[0] == '{') {
      try {
        found = nlohmann::json::parse(line);
        have = true;
      } catch (const std::exception&) {
      }
    }
    start = end + 1;
  }
  if (!have) throw std::runtime_error("no JSON object in the reader's output:\n" + output);
  return found;
}

// A fresh scratch directory, removed when the object goes away.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("accel-" + tag + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!std::getenv("ACCEL_KEEP_TEST_DIRS")) std::filesystem::remove_all(path_, ec);
  }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// Whether something accepts TCP connections on 127.0.0.1:<port>.
inline bool tcp_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Whether GET http://127.0.0.1:<port><path> answers 200 (one attempt, 2 s at most).
inline bool http_ok(int port, const std::string& path) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1:" +
                            std::to_string(port) + "\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
      char buf[64] = {0};
      const ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
      ok = n > 12 && std::string(buf, static_cast<size_t>(n)).find(" 200 ") != std::string::npos;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace accel::trackers_test

// ports.cpp — see ports.h.
#include "ports.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace accel::testing {
namespace {

// Shared by every test process on the host (not TMPDIR, which a test may point elsewhere).
const char* const kLockDir = "/tmp/accel-test-ports";

// Ports this process holds claims on -> the descriptor that holds the flock. Never closed: a
// claim lasts as long as the process.
std::mutex g_mu;
std::map<int, int>& claims() {
  static std::map<int, int> c;
  return c;
}

// Takes the lock file of `port`; the descriptor, or -1 when someone holds it.
int lock_port(int port) {
  if (::mkdir(kLockDir, 0777) == 0) ::chmod(kLockDir, 0777);  // every user's tests share it
  const std::string path = std::string(kLockDir) + "/" + std::to_string(port) + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) throw std::runtime_error("free_port: cannot open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Ports outside the ephemeral range: those above it (nothing conventional lives at
// 61000-65535 with Linux's default range) and those below it from 10000 on, but none near
// 29500 (c10d's and the operator's rendezvous port).
bool is_candidate(int port) {
  static const std::pair<int, int> range = ephemeral_port_range();
  if (port > 65535 || (port >= range.first && port <= range.second)) return false;
  return port >= 10000 && (port < 29400 || port >= 29600);
}

// Every candidate, in order (free_port() starts at a random one).
std::vector<int> candidates() {
  std::vector<int> out;
  for (int p = ephemeral_port_range().second + 1; p <= 65535; ++p)
    if (is_candidate(p)) out.push_back(p);
  for (int p = 10000; p < ephemeral_port_range().first; ++p)
    if (is_candidate(p)) out.push_back(p);
  return out;
}

}  // namespace

bool port_is_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::pair<int, int> ephemeral_port_range() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int first = 32768, last = 60999;  // Linux's default, if the file cannot be read
  in >> first >> last;
  return {first, last};
}

bool claim_port(int port) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (claims().count(port)) return false;
  const int fd = lock_port(port);
  if (fd < 0) return false;
  claims()[port] = fd;
  return true;
}

int free_port(bool pair) {
  static const std::vector<int> ports = candidates();
  if (ports.empty())
    throw std::runtime_error(
        "free_port: net.ipv4.ip_local_port_range leaves no port outside the ephemeral range");
  std::lock_guard<std::mutex> lock(g_mu);
  std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  const std::size_t start = std::uniform_int_distribution<std::size_t>(0, ports.size() - 1)(rng);
  for (std::size_t i = 0; i < ports.size(); ++i) {
    const int port = ports[(start + i) % ports.size()];
    const int n = pair ? 2 : 1;
    if (!is_candidate(port + n - 1)) continue;
    std::vector<int> fds;
    bool ok = true;
    for (int k = 0; k < n && ok; ++k) {
      const int fd = claims().count(port + k) ? -1 : lock_port(port + k);
      if (fd >= 0) fds.push_back(fd);
      // Free also of anyone outside this scheme (a service, a test not using free_port()).
      ok = fd >= 0 && port_is_free(port + k);
    }
    if (ok) {
      for (int k = 0; k < n; ++k) claims()[port + k] = fds[k];
      return port;
    }
    for (int fd : fds) ::close(fd);  // releases the lock
  }
  throw std::runtime_error(std::string("free_port: every port outside the ephemeral range is "
                                       "taken or claimed by another test process (") +
                           kLockDir + ")");
}

}  // namespace accel::testing

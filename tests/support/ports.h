// ports.h — free TCP ports for the processes a test starts (operators, ranks, Prometheus).
// A port is checked by binding it on every interface, so it is free for loopback listeners and
// for the e2e pods that bind their own 127.x addresses. Another process may still take it
// before the test's process binds it; tests keep that window short.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace accel::testing {

// Whether `port` can be bound on every interface right now.
inline bool port_is_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// A port the kernel says is free; with `pair`, port + 1 is free too (rank r of a node serves
// metrics on metrics_port + r).
inline int free_port(bool pair = false) {
  for (int tries = 0; tries < 100; ++tries) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    const int port = ntohs(a.sin_port);
    if (!pair || (port < 65535 && port_is_free(port + 1))) return port;
  }
  throw std::runtime_error("no free TCP port (pair) found");
}

}  // namespace accel::testing

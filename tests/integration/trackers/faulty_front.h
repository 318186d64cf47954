// faulty_front.h — a TCP front for a real server that can misbehave the ways a tracking
// server (or the load balancer before it) does: answer every HTTP request with 500, accept
// connections and never answer, or forward bytes to the real server behind it. The mode is
// read when a request arrives, so a test switches a running client between them.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace accel::trackers_test {

class FaultyFront {
 public:
  enum class Mode { Error500, Hang, Forward };

  // Listens on 127.0.0.1:<ephemeral>; Forward connects to 127.0.0.1:upstream_port.
  explicit FaultyFront(int upstream_port, Mode mode) : upstream_(upstream_port), mode_(mode) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(listen_fd_, 64) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error(std::string("FaultyFront: ") + std::strerror(errno));
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  ~FaultyFront() {
    stop_ = true;
    acceptor_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : handlers_) t.join();
    ::close(listen_fd_);
  }
  FaultyFront(const FaultyFront&) = delete;
  FaultyFront& operator=(const FaultyFront&) = delete;

  int port() const { return port_; }
  std::string uri() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void set_mode(Mode m) { mode_ = m; }
  int answered_500() const { return answered_500_; }
  int hung_now() const { return hung_now_; }  // requests held without an answer right now
  int hung_total() const { return hung_total_; }

 private:
  // Waits up to 100 ms for `fd` to be readable; false on timeout.
  bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 100) > 0;
  }

  void accept_loop() {
    while (!stop_) {
      if (!readable(listen_fd_)) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      handlers_.emplace_back([this, fd] {
        serve(fd);
        ::close(fd);
      });
    }
  }

  // One connection: requests until the client closes it, or Forward's pipe ends.
  void serve(int fd) {
    std::string buf;
    char chunk[65536];
    while (!stop_) {
      // Wait for a request's first bytes before deciding what to do with it.
      while (!stop_ && buf.empty()) {
        if (!readable(fd)) continue;
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) return;
        buf.append(chunk, static_cast<size_t>(n));
      }
      if (stop_) return;
      switch (mode_.load()) {
        case Mode::Forward:
          return forward(fd, buf);
        case Mode::Hang:
          return hang(fd);
        case Mode::Error500:
          if (!read_request(fd, buf)) return;
          static const std::string body = R"({"error_code":"INTERNAL_ERROR","message":"boom"})";
          const std::string reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: "
                                    "application/json\r\nContent-Length: " +
                                    std::to_string(body.size()) + "\r\n\r\n" + body;
          if (::write(fd, reply.data(), reply.size()) != static_cast<ssize_t>(reply.size())) return;
          ++answered_500_;
          break;
      }
    }
  }

  // Reads the rest of one request (headers, Content-Length body) and removes it from `buf`.
  bool read_request(int fd, std::string& buf) {
    char chunk[65536];
    auto more = [&] {
      while (!stop_) {
        if (!readable(fd)) continue;
        const ssize_t n = ::read(fd, chunk, sizeof chunk);
        if (n <= 0) return false;
        buf.append(chunk, static_cast<size_t>(n));
        return true;
      }
      return false;
    };
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos)
      if (!more()) return false;
    size_t length = 0;
    std::string headers = buf.substr(0, end);
    for (auto& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (auto at = headers.find("content-length:"); at != std::string::npos)
      length = std::stoul(headers.substr(at + 15));
    while (buf.size() < end + 4 + length)
      if (!more()) return false;
    buf.erase(0, end + 4 + length);
    return true;
  }

  // Holds the request unanswered until the client gives up (closes) or the front stops.
  void hang(int fd) {
    ++hung_now_;
    ++hung_total_;
    char chunk[4096];
    while (!stop_) {
      if (!readable(fd)) continue;
      if (::read(fd, chunk, sizeof chunk) <= 0) break;
    }
    --hung_now_;
  }

  // Pipes bytes both ways between the client and the real server until either side closes.
  void forward(int fd, const std::string& first) {
    const int up = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(upstream_));
    if (up < 0 || ::connect(up, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::write(up, first.data(), first.size()) != static_cast<ssize_t>(first.size())) {
      if (up >= 0) ::close(up);
      return;
    }
    char chunk[65536];
    pollfd p[2] = {{fd, POLLIN, 0}, {up, POLLIN, 0}};
    while (!stop_) {
      if (::poll(p, 2, 100) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = ::read(p[i].fd, chunk, sizeof chunk);
        if (n <= 0 || ::write(p[1 - i].fd, chunk, static_cast<size_t>(n)) != n) {
          ::close(up);
          return;
        }
      }
    }
    ::close(up);
  }

  int upstream_;
  std::atomic<Mode> mode_;
  int listen_fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_500_{0}, hung_now_{0}, hung_total_{0};
  std::mutex mu_;
  std::vector<std::thread> handlers_;
  std::thread acceptor_;
};

}  // namespace accel::trackers_test

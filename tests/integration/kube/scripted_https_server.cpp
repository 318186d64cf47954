// scripted_https_server.cpp — see scripted_https_server.h.
#include "scripted_https_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace accel::kube::testing {
namespace {

constexpr int kTickMs = 50;  // longest wait before the stop flag is looked at again

std::string tls_error(const std::string& what) {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  return "scripted HTTPS server: " + what + ": " + buf;
}

// Whether `fd` became ready for `events` within one tick.
bool ready(int fd, short events) {
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, kTickMs) > 0;
}

const char* reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
  }
  return "Scripted";
}

// The Content-Length of a request head (0 when it has none).
std::size_t content_length(std::string head) {
  std::transform(head.begin(), head.end(), head.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto at = head.find("\r\ncontent-length:");
  return at == std::string::npos ? 0 : std::stoul(head.substr(at + 17));
}

}  // namespace

ScriptedHttpsServer::ScriptedHttpsServer(const std::string& cert_file, const std::string& key_file,
                                         std::vector<Answer> script)
    : script_(std::move(script)) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) throw std::runtime_error(tls_error("SSL_CTX_new"));
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    const std::string why = tls_error("loading " + cert_file + " and " + key_file);
    SSL_CTX_free(ctx);
    throw std::runtime_error(why);
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(fd, 16) != 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    SSL_CTX_free(ctx);
    throw std::runtime_error("scripted HTTPS server: cannot listen on 127.0.0.1");
  }
  tls_ = ctx;
  listen_fd_ = fd;
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { serve(); });
}

ScriptedHttpsServer::~ScriptedHttpsServer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  ::close(listen_fd_);
  SSL_CTX_free(static_cast<SSL_CTX*>(tls_));
}

void ScriptedHttpsServer::serve() {
  // A thread per connection (a client may open a second one while its first is still open),
  // each joined before this returns.
  std::vector<std::thread> connections;
  while (!stop_) {
    if (!ready(listen_fd_, POLLIN)) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) connections.emplace_back([this, fd] { serve_connection(fd); });
  }
  for (auto& t : connections) t.join();
}

void ScriptedHttpsServer::serve_connection(int fd) {
  // OpenSSL writes with plain send(): a client gone mid-answer must give EPIPE, not a SIGPIPE
  // that ends the test process (blocked in this thread only; the signal dies with it).
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  SSL* ssl = SSL_new(static_cast<SSL_CTX*>(tls_));
  SSL_set_fd(ssl, fd);
  // Runs one TLS call to completion, waiting on the socket as TLS asks; its result, or -1 when
  // the peer closed, the connection failed or the server stops.
  auto call = [&](auto op) -> int {
    while (!stop_) {
      const int r = op();
      if (r > 0) return r;
      const int err = SSL_get_error(ssl, r);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) return -1;
      ready(fd, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT);
    }
    return -1;
  };
  auto read_more = [&](std::string& in) {
    char buf[4096];
    const int n = call([&] { return SSL_read(ssl, buf, sizeof buf); });
    if (n > 0) in.append(buf, static_cast<std::size_t>(n));
    return n > 0;
  };
  bool open = call([&] { return SSL_accept(ssl); }) > 0;
  std::string in;  // what the client sent that is not answered yet
  while (open && !stop_) {
    std::size_t head_end;
    while (open && (head_end = in.find("\r\n\r\n")) == std::string::npos) open = read_more(in);
    if (!open) break;
    const std::size_t request_end = head_end + 4 + content_length(in.substr(0, head_end));
    while (open && in.size() < request_end) open = read_more(in);
    if (!open) break;
    in.erase(0, request_end);
    const std::string out = answer_next();
    open = call([&] { return SSL_write(ssl, out.data(), static_cast<int>(out.size())); }) > 0;
  }
  SSL_free(ssl);
  ::close(fd);
  ERR_clear_error();  // this thread's queue of what failed (a peer closing is no error here)
}

std::string ScriptedHttpsServer::answer_next() {
  std::lock_guard<std::mutex> lock(mu_);
  const int n = calls_.load();
  const bool scripted = n < static_cast<int>(script_.size());
  const int status = scripted ? script_[n].status : 200;
  const std::string body = scripted
                               ? R"({"kind":"Status","message":"busy","reason":"TooManyRequests"})"
                               : R"({"metadata":{"name":"x"}})";
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n";
  if (scripted && !script_[n].retry_after.empty())
    out += "Retry-After: " + script_[n].retry_after + "\r\n";
  ++calls_;  // before the answer leaves: the client cannot count more answers than calls()
  return out + "\r\n" + body;
}

}  // namespace accel::kube::testing

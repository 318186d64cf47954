// http_server.h — the small HTTP server every Accel process embeds for fixed GET paths:
// a rank's /metrics and /progress, the operator's /metrics, /healthz and /readyz.
//
// On libmicrohttpd (Debian's libmicrohttpd12). Its threads get the default stack size, which
// matters in the CUDA build: the CUDA libraries' static TLS (~190 KB) does not fit in the
// 100 KB stacks civetweb's Debian build asks for, so civetweb could not start a thread there.
// Slow or idle clients are cut off after `connection_timeout` and at most `max_connections`
// are served at once, so one bad client cannot hold the endpoint.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace accel::http {

struct Response {
  int code = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
// Runs on one of the server's threads; an exception becomes a 500 with its message.
using Handler = std::function<Response()>;

struct ServerOptions {
  std::string
      host;      // "" or "0.0.0.0": every IPv4 interface; "::": every interface; else an address
  int port = 0;  // 0: an ephemeral port (see Server::port())
  int threads = 2;
  std::chrono::seconds connection_timeout{10};
  int max_connections = 32;
};

class Server {
 public:
  // Starts serving `handlers` (exact paths; anything else is 404, any method but GET/HEAD 405).
  // Throws std::runtime_error naming host:port and why when it cannot (port in use, bad address).
  Server(const ServerOptions& options, std::map<std::string, Handler> handlers);
  ~Server();  // stops, waiting for requests in flight
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  int port() const;

  struct Impl;  // public only for libmicrohttpd's C callbacks

 private:
  std::unique_ptr<Impl> impl_;
};

// "host:port" or ":port" (every interface), as controller-runtime's --*-bind-address flags spell
// it; "[v6]:port" for IPv6. nullopt for "0" (off). Throws std::invalid_argument naming `flag` and
// the value when it is not of that form.
std::optional<std::pair<std::string, int>> parse_bind_address(const std::string& value,
                                                              const std::string& flag);

}  // namespace accel::http

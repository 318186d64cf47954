#include "http_server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>

namespace accel::http {

struct Server::Impl {
  std::map<std::string, Handler> handlers;
  MHD_Daemon* daemon = nullptr;
  int port = -1;
  std::mutex log_mu;
  std::string last_error;  // what libmicrohttpd logged while starting
};

namespace {

void log_error(void* cls, const char* fmt, va_list ap) {
  auto* impl = static_cast<Server::Impl*>(cls);
  char buf[512];
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  std::string line(buf);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  std::lock_guard<std::mutex> lock(impl->log_mu);
  impl->last_error = line;
}

MHD_Result reply(MHD_Connection* c, const Response& r) {
  MHD_Response* resp = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  const MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(r.code), resp);
  MHD_destroy_response(resp);
  return ok;
}

MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method,
                      const char*, const char*, size_t* upload_size, void** state) {
  auto* impl = static_cast<Server::Impl*>(cls);
  // The first call only announces the request (headers read); answer on the second.
  if (*state == nullptr) {
    *state = impl;
    return MHD_YES;
  }
  if (*upload_size != 0) {  // a body we do not want: drop it
    *upload_size = 0;
    return MHD_YES;
  }
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0)
    return reply(c, {405, "text/plain; charset=utf-8", "only GET\n"});
  auto it = impl->handlers.find(url ? url : "");
  if (it == impl->handlers.end())
    return reply(c, {404, "text/plain; charset=utf-8", "not found\n"});
  Response r;
  try {
    r = it->second();
  } catch (const std::exception& e) {
    r = {500, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
  }
  return reply(c, r);
}

}  // namespace

Server::Server(const ServerOptions& o, std::map<std::string, Handler> handlers)
    : impl_(std::make_unique<Impl>()) {
  impl_->handlers = std::move(handlers);
  const std::string where =
      (o.host.empty() ? std::string("0.0.0.0") : o.host) + ":" + std::to_string(o.port);
  if (o.port < 0 || o.port > 65535)
    throw std::runtime_error("cannot serve HTTP on " + where + ": not a port");

  // The address to bind, through getaddrinfo so that names and IPv6 literals work as well.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const char* host = o.host.empty() ? "0.0.0.0" : o.host.c_str();
  if (int rc = ::getaddrinfo(host, std::to_string(o.port).c_str(), &hints, &found); rc != 0)
    throw std::runtime_error("cannot serve HTTP on " + where + ": " + gai_strerror(rc));
  sockaddr_storage addr{};
  std::memcpy(&addr, found->ai_addr, found->ai_addrlen);
  const bool v6 = found->ai_family == AF_INET6;
  ::freeaddrinfo(found);

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (v6) flags |= MHD_USE_IPv6;
  impl_->daemon = MHD_start_daemon(
      flags, static_cast<uint16_t>(o.port), nullptr, nullptr, &on_request, impl_.get(),
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&addr), MHD_OPTION_THREAD_POOL_SIZE,
      static_cast<unsigned>(std::max(1, o.threads)), MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned>(o.connection_timeout.count()), MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned>(std::max(1, o.max_connections)), MHD_OPTION_EXTERNAL_LOGGER, &log_error,
      impl_.get(), MHD_OPTION_END);
  if (!impl_->daemon) {
    std::lock_guard<std::mutex> lock(impl_->log_mu);
    throw std::runtime_error("cannot serve HTTP on " + where + ": " +
                             (impl_->last_error.empty() ? "port in use?" : impl_->last_error));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(impl_->daemon, MHD_DAEMON_INFO_BIND_PORT);
  impl_->port = info ? static_cast<int>(info->port) : o.port;
}

Server::~Server() {
  if (impl_->daemon) MHD_stop_daemon(impl_->daemon);
}

int Server::port() const { return impl_->port; }

std::optional<std::pair<std::string, int>> parse_bind_address(const std::string& value,
                                                              const std::string& flag) {
  if (value == "0") return std::nullopt;
  const auto colon = value.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument(flag + ": '" + value +
                                "' is not host:port or :port (or 0 to turn it off)");
  std::string host = value.substr(0, colon);
  const std::string port = value.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  bool digits = !port.empty() && port.size() <= 5;
  for (char c : port) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (!digits || std::stol(port) > 65535)
    throw std::invalid_argument(flag + ": port '" + port + "' of '" + value +
                                "' is not a number 0..65535");
  return std::make_pair(host, static_cast<int>(std::stol(port)));
}

}  // namespace accel::http

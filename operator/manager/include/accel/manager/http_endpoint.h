// http_endpoint.h — one small HTTP listener (civetweb) serving fixed paths: the operator's
// /metrics and /healthz, /readyz.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace accel::op {

struct HttpResponse {
  int code = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};
using HttpHandler = std::function<HttpResponse()>;

// "host:port" or ":port" (all interfaces) as controller-runtime spells it, to civetweb's
// "listening_ports" value ("port" or "host:port"). Throws std::invalid_argument naming `flag`
// and the value when it is not of that form. "0" means off: returns "".
std::string civetweb_listen_spec(const std::string& bind_address, const std::string& flag);

class HttpEndpoint {
 public:
  // Starts listening on `listen` (civetweb form, see above). Throws std::runtime_error naming
  // the address when it cannot listen (port in use). Handlers run on civetweb's threads.
  HttpEndpoint(const std::string& listen, std::map<std::string, HttpHandler> handlers);
  ~HttpEndpoint();  // stops the listener, waiting for in-flight requests
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;
  int port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel::op

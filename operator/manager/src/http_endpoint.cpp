#include "accel/manager/http_endpoint.h"

#include <civetweb.h>

#include <cctype>
#include <stdexcept>

namespace accel::op {

std::string civetweb_listen_spec(const std::string& bind_address, const std::string& flag) {
  if (bind_address == "0") return "";
  auto colon = bind_address.rfind(':');
  if (colon == std::string::npos)
    throw std::invalid_argument(flag + ": '" + bind_address +
                                "' is not host:port or :port (or 0 to turn it off)");
  std::string host = bind_address.substr(0, colon);
  std::string port = bind_address.substr(colon + 1);
  bool digits = !port.empty();
  for (char c : port) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (!digits || std::stol(port) > 65535)
    throw std::invalid_argument(flag + ": port '" + port + "' of '" + bind_address +
                                "' is not a number 0..65535");
  return host.empty() ? port : host + ":" + port;
}

struct HttpEndpoint::Impl {
  mg_context* ctx = nullptr;
  std::map<std::string, HttpHandler> handlers;
  int port = -1;
};

namespace {
int handle(mg_connection* c, void* data) {
  auto* handler = static_cast<HttpHandler*>(data);
  HttpResponse r;
  try {
    r = (*handler)();
  } catch (const std::exception& e) {
    r = {500, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
  }
  const char* status = r.code == 200 ? "OK" : r.code == 503 ? "Service Unavailable" : "Error";
  mg_printf(c,
            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
            r.code, status, r.content_type.c_str(), r.body.size());
  mg_write(c, r.body.data(), r.body.size());
  return r.code;
}
}  // namespace

HttpEndpoint::HttpEndpoint(const std::string& listen, std::map<std::string, HttpHandler> handlers)
    : impl_(std::make_unique<Impl>()) {
  impl_->handlers = std::move(handlers);
  mg_init_library(0);
  const char* options[] = {"listening_ports", listen.c_str(), "num_threads", "4", nullptr};
  mg_callbacks callbacks{};
  impl_->ctx = mg_start(&callbacks, nullptr, options);
  if (!impl_->ctx) throw std::runtime_error("cannot listen on '" + listen + "' (port in use?)");
  for (auto& [path, handler] : impl_->handlers)
    mg_set_request_handler(impl_->ctx, path.c_str(), handle, &handler);
  mg_server_port ports[4];
  int n = mg_get_server_ports(impl_->ctx, 4, ports);
  impl_->port = n > 0 ? ports[0].port : -1;
}

HttpEndpoint::~HttpEndpoint() {
  if (impl_->ctx) mg_stop(impl_->ctx);
}

int HttpEndpoint::port() const { return impl_->port; }

}  // namespace accel::op

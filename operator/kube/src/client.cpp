#include "accel/kube/client.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

#include <boost/asio/ssl.hpp>
#include <cpprest/http_client.h>
#include <cpprest/uri.h>

#include "accel/kube/log.h"
#include "accel/kube/token_source.h"
#include "http_watch.h"

namespace accel::kube {

namespace http = web::http;
using http::client::http_client;
using http::client::http_client_config;

std::string encode_query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    q += q.empty() ? "?" : "&";
    q += k + "=" + web::uri::encode_data_string(v);
  }
  return q;
}

namespace {

// Loads the trust root and client identity into a TLS context. The cluster CA, when given,
// REPLACES the default trust store that cpprestsdk loaded, so only it can vouch for the server.
void configure_tls(boost::asio::ssl::context& ctx, const ClientConfig& c) {
  if (!c.ca_pem.empty()) {
    X509_STORE* store = X509_STORE_new();
    SSL_CTX_set_cert_store(ctx.native_handle(), store);  // takes ownership, frees the old one
    try {
      ctx.add_certificate_authority(boost::asio::buffer(c.ca_pem));
    } catch (const std::exception& e) {
      throw std::invalid_argument("certificate authority from " + c.source +
                                  " does not load as PEM: " + e.what());
    }
  }
  if (!c.client_cert_pem.empty()) {
    try {
      ctx.use_certificate_chain(boost::asio::buffer(c.client_cert_pem));
    } catch (const std::exception& e) {
      throw std::invalid_argument("client certificate from " + c.source +
                                  " does not load as PEM: " + e.what());
    }
    try {
      ctx.use_private_key(boost::asio::buffer(c.client_key_pem), boost::asio::ssl::context::pem);
    } catch (const std::exception& e) {
      // Never print the key itself.
      throw std::invalid_argument("client key from " + c.source +
                                  " does not load or does not match the certificate: " + e.what());
    }
  }
}

std::string content_type_of(PatchType t) {
  switch (t) {
    case PatchType::Merge: return "application/merge-patch+json";
    case PatchType::JsonPatch: return "application/json-patch+json";
    case PatchType::StrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::Apply: return "application/apply-patch+yaml";
  }
  return "application/json";
}

std::string meta(const nlohmann::json& obj, const char* key) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto v = m->find(key);
  return v != m->end() && v->is_string() ? v->get<std::string>() : "";
}

struct Answer {
  int status = 0;
  std::string phrase, body, retry_after;
};

}  // namespace

struct Client::Impl {
  ClientConfig config;
  ClientOptions options;
  TokenSource tokens;
  std::unique_ptr<http_client> http;

  Impl(ClientConfig c, ClientOptions o)
      : config(std::move(c)), options(std::move(o)), tokens(config.token, config.token_file) {
    if (config.server.rfind("https://", 0) != 0)
      throw std::invalid_argument("server '" + config.server + "' from " + config.source +
                                  " is not an https:// URL (TLS is required)");
    boost::asio::ssl::context probe(boost::asio::ssl::context::sslv23);
    configure_tls(probe, config);  // fail now, naming the field, not at the first request
    http = std::make_unique<http_client>(web::uri(config.server), make_config(options.request_timeout));
  }

  http_client_config make_config(std::chrono::milliseconds timeout) const {
    http_client_config cfg;
    cfg.set_timeout(timeout);
    cfg.set_validate_certificates(true);
    ClientConfig tls = config;  // the callback outlives no one: copied in
    cfg.set_ssl_context_callback(
        [tls](boost::asio::ssl::context& ctx) { configure_tls(ctx, tls); });
    return cfg;
  }

  http::http_request make_request(const std::string& method, const std::string& path,
                                  const std::optional<std::string>& body,
                                  const std::string& content_type) {
    http::http_request req(method);
    req.set_request_uri(web::uri(path));
    req.headers().add("Accept", "application/json");
    req.headers().add("User-Agent", options.user_agent);
    if (!tokens.empty()) req.headers().add("Authorization", "Bearer " + tokens.current());
    if (body) {
      req.set_body(*body, content_type);
      req.headers().set_content_type(content_type);
    }
    return req;
  }

  Answer send_once(const std::string& method, const std::string& path,
                   const std::optional<std::string>& body, const std::string& content_type) {
    const std::string what = method + " " + path;
    try {
      auto resp = http->request(make_request(method, path, body, content_type)).get();
      Answer a;
      a.status = resp.status_code();
      a.phrase = resp.reason_phrase();
      auto ra = resp.headers().find("Retry-After");
      if (ra != resp.headers().end()) a.retry_after = ra->second;
      a.body = resp.extract_utf8string(true).get();
      return a;
    } catch (const http::http_exception& e) {
      throw TransportError(what + " to " + config.server + ": " + e.what() + " (" +
                           e.error_code().message() + ")");
    } catch (const std::invalid_argument&) {
      throw;
    } catch (const std::exception& e) {
      throw TransportError(what + " to " + config.server + ": " + e.what());
    }
  }

  std::chrono::milliseconds backoff(int attempt) const {
    auto d = options.backoff_initial * (1LL << std::min(attempt, 20));
    return std::min<std::chrono::milliseconds>(d, options.backoff_max);
  }

  nlohmann::json call(const std::string& method, const std::string& path,
                      const std::optional<nlohmann::json>& body, const std::string& content_type) {
    std::optional<std::string> text;
    if (body) text = body->dump();
    for (int attempt = 0;; ++attempt) {
      Answer a;
      try {
        a = send_once(method, path, text, content_type);
      } catch (const TransportError& e) {
        if (method != "GET" || attempt >= options.max_retries) throw;
        log(LogLevel::Debug, std::string(e.what()) + "; retrying");
        std::this_thread::sleep_for(backoff(attempt));
        continue;
      }
      if (a.status >= 200 && a.status < 300) {
        if (a.body.empty()) return nullptr;
        auto j = nlohmann::json::parse(a.body, nullptr, false);
        if (j.is_discarded())
          throw TransportError(method + " " + path + ": answer " + std::to_string(a.status) +
                               " is not JSON: " + a.body.substr(0, 200));
        return j;
      }
      bool retryable = a.status == 429 || (a.status >= 500 && a.status <= 599 && a.status != 501);
      if (retryable && attempt < options.max_retries) {
        auto delay = backoff(attempt);
        if (auto ra = parse_retry_after(a.retry_after))
          delay = std::min<std::chrono::milliseconds>(*ra, options.retry_after_cap);
        log(LogLevel::Debug, method + " " + path + ": " + std::to_string(a.status) +
                                 ", retrying in " + std::to_string(delay.count()) + " ms");
        std::this_thread::sleep_for(delay);
        continue;
      }
      throw_api_error(a.status, a.phrase, a.body, method + " " + path, a.retry_after);
    }
  }
};

Client::Client(ClientConfig config, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(config), std::move(options))) {}
Client::~Client() = default;

const ClientConfig& Client::config() const { return impl_->config; }

nlohmann::json Client::request(const std::string& method, const std::string& path,
                               const std::optional<nlohmann::json>& body,
                               const std::string& content_type) {
  return impl_->call(method, path, body, content_type);
}

nlohmann::json Client::get(const Resource& r, const std::string& ns, const std::string& name) {
  return request("GET", r.object_path(ns, name));
}

ListResult Client::list(const Resource& r, const std::string& ns, const ListOptions& o) {
  std::string q = encode_query({{"labelSelector", o.label_selector},
                                {"fieldSelector", o.field_selector},
                                {"resourceVersion", o.resource_version},
                                {"limit", o.limit > 0 ? std::to_string(o.limit) : ""},
                                {"continue", o.continue_token}});
  auto j = request("GET", r.collection_path(ns) + q);
  ListResult out;
  if (j.contains("items") && j["items"].is_array())
    for (auto& item : j["items"]) out.items.push_back(std::move(item));
  if (auto m = j.find("metadata"); m != j.end() && m->is_object()) {
    out.resource_version = m->value("resourceVersion", "");
    out.continue_token = m->value("continue", "");
  }
  // List items carry no apiVersion/kind; fill them so items look like fetched objects.
  std::string kind = j.value("kind", "");
  if (kind.size() > 4 && kind.compare(kind.size() - 4, 4, "List") == 0) {
    kind.resize(kind.size() - 4);
    for (auto& item : out.items) {
      if (!item.contains("kind")) item["kind"] = kind;
      if (!item.contains("apiVersion")) item["apiVersion"] = j.value("apiVersion", r.api_version());
    }
  }
  return out;
}

nlohmann::json Client::create(const Resource& r, const std::string& ns, const nlohmann::json& obj) {
  nlohmann::json body = obj;
  if (!body.contains("apiVersion")) body["apiVersion"] = r.api_version();
  if (!body.contains("kind") && !r.kind.empty()) body["kind"] = r.kind;
  return request("POST", r.collection_path(ns), body);
}

nlohmann::json Client::update(const Resource& r, const nlohmann::json& obj) {
  return request("PUT", r.object_path(meta(obj, "namespace"), meta(obj, "name")), obj);
}

nlohmann::json Client::update_status(const Resource& r, const nlohmann::json& obj) {
  return request("PUT", r.object_path(meta(obj, "namespace"), meta(obj, "name")) + "/status", obj);
}

nlohmann::json Client::patch(const Resource& r, const std::string& ns, const std::string& name,
                             PatchType type, const nlohmann::json& body, const PatchOptions& o) {
  if (type == PatchType::Apply && o.field_manager.empty())
    throw std::invalid_argument("patch " + r.plural + "/" + name +
                                ": server-side apply needs PatchOptions.field_manager");
  std::string path = r.object_path(ns, name);
  if (!o.subresource.empty()) path += "/" + o.subresource;
  path += encode_query({{"fieldManager", o.field_manager},
                        {"force", type == PatchType::Apply && o.force ? "true" : ""}});
  return request("PATCH", path, body, content_type_of(type));
}

nlohmann::json Client::remove(const Resource& r, const std::string& ns, const std::string& name,
                              const DeleteOptions& o) {
  nlohmann::json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!o.propagation_policy.empty()) body["propagationPolicy"] = o.propagation_policy;
  if (o.grace_period_seconds) body["gracePeriodSeconds"] = *o.grace_period_seconds;
  if (!o.precondition_uid.empty()) body["preconditions"]["uid"] = o.precondition_uid;
  if (!o.precondition_resource_version.empty())
    body["preconditions"]["resourceVersion"] = o.precondition_resource_version;
  return request("DELETE", r.object_path(ns, name), body);
}

std::unique_ptr<Watch> Client::watch(const Resource& r, const std::string& ns,
                                     const WatchOptions& o) {
  std::string path =
      r.collection_path(ns) +
      encode_query({{"watch", "1"},
                    {"allowWatchBookmarks", o.allow_bookmarks ? "true" : ""},
                    {"labelSelector", o.label_selector},
                    {"fieldSelector", o.field_selector},
                    {"resourceVersion", o.resource_version},
                    {"timeoutSeconds", o.timeout_seconds > 0 ? std::to_string(o.timeout_seconds) : ""}});
  const std::string what = "GET " + path;
  // Own client per watch: its inactivity timeout must exceed the server's timeoutSeconds.
  auto timeout = std::chrono::seconds(std::max(o.timeout_seconds, 1) + 30);
  auto client = std::make_unique<http_client>(web::uri(impl_->config.server),
                                              impl_->make_config(timeout));
  pplx::cancellation_token_source cancel;
  http::http_response resp;
  try {
    resp = client->request(impl_->make_request("GET", path, std::nullopt, ""), cancel.get_token())
               .get();
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw TransportError(what + " to " + impl_->config.server + ": " + e.what());
  }
  if (resp.status_code() != 200) {
    std::string body;
    try {
      body = resp.extract_utf8string(true).get();
    } catch (const std::exception&) {
    }
    auto ra = resp.headers().find("Retry-After");
    throw_api_error(resp.status_code(), resp.reason_phrase(), body, what,
                    ra != resp.headers().end() ? ra->second : "");
  }
  return std::make_unique<detail::HttpWatch>(std::move(client), std::move(resp), std::move(cancel),
                                             what);
}

}  // namespace accel::kube

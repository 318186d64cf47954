#include "mlflow_rest.h"

#include <cpprest/http_client.h>
#include <cpprest/uri_builder.h>

#include <cstdlib>
#include <future>
#include <stdexcept>

namespace accel::tracking {

struct MlflowRest::Impl {
  std::string base;  // without a trailing slash, for messages
  std::string authorization;
  std::unique_ptr<web::http::client::http_client> client;
  std::chrono::milliseconds timeout;

  nlohmann::json call(const web::http::method& method, const std::string& endpoint,
                      const std::string& query, const std::string* body) {
    const std::string path = "api/2.0/mlflow/" + endpoint;
    const std::string what = method + " " + base + "/" + path;
    web::http::http_request req(method);
    req.set_request_uri(web::uri(path + (query.empty() ? "" : "?" + query)));
    if (!authorization.empty()) req.headers().add("Authorization", authorization);
    if (body) req.set_body(*body, "application/json");
    auto status_holder = std::make_shared<int>(0);  // outlives this call if the task does
    int status = 0;
    std::string text;
    try {
      auto task = client->request(req).then([status_holder](web::http::http_response resp) {
        *status_holder = resp.status_code();
        return resp.extract_string(true);
      });
      // cpprestsdk enforces the configured timeout itself; this bounded wait is a backstop.
      auto done = std::make_shared<std::promise<void>>();
      auto finished = done->get_future();
      task.then([done](pplx::task<std::string> t) {
        try {
          t.get();  // observe the error here too, in case nobody else does
        } catch (...) {
        }
        done->set_value();
      });
      if (finished.wait_for(timeout + std::chrono::seconds(5)) != std::future_status::ready) {
        throw MlflowError(what + ": no answer within " + std::to_string(timeout.count()) + " ms",
                          false, 0, "");
      }
      text = task.get();
      status = *status_holder;
    } catch (const MlflowError&) {
      throw;
    } catch (const std::exception& e) {
      throw MlflowError(what + ": " + e.what(), false, 0, "");
    }
    nlohmann::json j;
    try {
      j = text.empty() ? nlohmann::json::object() : nlohmann::json::parse(text);
    } catch (const std::exception&) {
      if (status >= 200 && status < 300)
        throw MlflowError(what + ": the answer is not JSON: " + text.substr(0, 200), false, status,
                          "");
    }
    if (status >= 200 && status < 300) return j;
    std::string code, message;
    if (j.is_object()) {
      code = j.value("error_code", "");
      message = j.value("message", "");
    }
    if (message.empty()) message = text.substr(0, 300);
    const bool retryable = status == 408 || status == 429 || status >= 500;
    throw MlflowError(what + ": HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code) +
                          ": " + message,
                      !retryable, status, code);
  }
};

MlflowRest::MlflowRest(const std::string& tracking_uri, const std::string& source,
                       std::chrono::milliseconds timeout, const MlflowAuth& auth)
    : impl_(std::make_unique<Impl>()) {
  const bool https = tracking_uri.rfind("https://", 0) == 0;
  if (!https && tracking_uri.rfind("http://", 0) != 0)
    throw std::invalid_argument("tracker mlflow: tracking URI '" + tracking_uri + "' (from " +
                                source +
                                ") is not supported: only http:// and https:// tracking "
                                "servers are (start one with `mlflow server`)");
  std::string base = tracking_uri;
  while (!base.empty() && base.back() == '/') base.pop_back();
  web::uri parsed;
  try {
    parsed = web::uri(base + "/");
  } catch (const std::exception& e) {
    throw std::invalid_argument("tracker mlflow: tracking URI '" + tracking_uri + "' (from " +
                                source + ") is not a valid URI: " + e.what());
  }
  // Messages name the server but never credentials written into the URI (user:secret@host).
  std::string shown = base;
  if (auto scheme = shown.find("://"), at = shown.find('@');
      at != std::string::npos && at > scheme && shown.find('/', scheme + 3) > at)
    shown = shown.substr(0, scheme + 3) + "***@" + shown.substr(at + 1);
  impl_->base = shown;
  impl_->timeout = timeout;
  web::http::client::http_client_config cfg;
  cfg.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(timeout));
  cfg.set_validate_certificates(!auth.insecure_tls);
  impl_->client = std::make_unique<web::http::client::http_client>(parsed, cfg);
  if (!auth.token.empty()) {
    impl_->authorization = "Bearer " + auth.token;
  } else if (!auth.username.empty()) {
    const std::string pair = auth.username + ":" + auth.password;
    impl_->authorization =
        "Basic " + utility::conversions::to_utf8string(
                       utility::conversions::to_base64(std::vector<unsigned char>(pair.begin(), pair.end())));
  }
}

MlflowRest::~MlflowRest() = default;

nlohmann::json MlflowRest::post(const std::string& endpoint, const nlohmann::json& body) {
  const std::string text = body.dump();
  return impl_->call(web::http::methods::POST, endpoint, "", &text);
}

nlohmann::json MlflowRest::get(const std::string& endpoint,
                               const std::map<std::string, std::string>& query) {
  std::string q;
  for (const auto& [k, v] : query)
    q += (q.empty() ? "" : "&") + web::uri::encode_data_string(k) + "=" +
         web::uri::encode_data_string(v);
  return impl_->call(web::http::methods::GET, endpoint, q, nullptr);
}

}  // namespace accel::tracking

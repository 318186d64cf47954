// Client retries, through real HTTPS: an in-process cpprestsdk listener on 127.0.0.1 serving
// with the control plane's generated serving certificate (so the client verifies it against
// that CA) answers 429 with Retry-After, or 5xx, then success. The control plane is started
// only for its PKI; the answers come from the listener so that 429/5xx can be forced.
#include <gtest/gtest.h>

#include <atomic>

#include <boost/asio/ssl.hpp>
#include <cpprest/http_listener.h>

#include "accel/kube/client.h"
#include "control_plane.h"
#include "kube_helpers.h"
#include "ports.h"

namespace accel::kube {
namespace {

using accel::testing::ControlPlane;
using accel::testing::free_port;
using namespace web::http;
using namespace accel::kube::testing;

// Answers each GET with the next scripted status; 200 once the script is used up.
class ScriptedServer {
 public:
  ScriptedServer(const ControlPlane& cp, std::vector<std::pair<int, std::string>> script)
      : script_(std::move(script)) {
    url_ = "https://127.0.0.1:" + std::to_string(free_port());
    experimental::listener::http_listener_config conf;
    std::string pki = cp.dir() + "/pki";
    conf.set_ssl_context_callback([pki](boost::asio::ssl::context& ctx) {
      ctx.use_certificate_chain_file(pki + "/apiserver.crt");
      ctx.use_private_key_file(pki + "/apiserver.key", boost::asio::ssl::context::pem);
    });
    listener_ = std::make_unique<experimental::listener::http_listener>(url_, conf);
    listener_->support(methods::GET, [this](http_request req) {
      int n = calls_++;
      if (n < static_cast<int>(script_.size())) {
        http_response resp(static_cast<status_code>(script_[n].first));
        if (!script_[n].second.empty()) resp.headers().add("Retry-After", script_[n].second);
        resp.set_body(std::string(R"({"kind":"Status","message":"busy","reason":"TooManyRequests"})"),
                      "application/json");
        req.reply(resp).wait();
        return;
      }
      req.reply(status_codes::OK, std::string(R"({"metadata":{"name":"x"}})"), "application/json")
          .wait();
    });
    listener_->open().wait();
  }
  ~ScriptedServer() { listener_->close().wait(); }
  const std::string& url() const { return url_; }
  int calls() const { return calls_.load(); }

 private:
  std::vector<std::pair<int, std::string>> script_;
  std::string url_;
  std::unique_ptr<experimental::listener::http_listener> listener_;
  std::atomic<int> calls_{0};
};

ClientConfig config_for(const ScriptedServer& s) {
  ClientConfig c;
  c.server = s.url();
  c.ca_pem = read_file(cp().ca_file());
  c.token = "unused";
  c.source = "test";
  return c;
}

TEST(KubeClientRetry, HonoursRetryAfterOn429ThenSucceeds) {
  ScriptedServer s(cp(), {{429, "1"}, {429, "0"}});
  ClientOptions o;
  o.backoff_initial = std::chrono::milliseconds(1);
  Client c(config_for(s), o);
  auto t0 = std::chrono::steady_clock::now();
  auto obj = c.get(resources::config_maps(), "ns", "x");
  auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(obj["metadata"]["name"], "x");
  EXPECT_EQ(s.calls(), 3);
  // The 1 s Retry-After was honoured (a lower bound, not a speed assertion).
  EXPECT_GE(waited, std::chrono::seconds(1));
}

TEST(KubeClientRetry, GivesUpOn429AfterMaxRetriesWithTheTypedError) {
  ScriptedServer s(cp(), {{429, "0"}, {429, "0"}, {429, "0"}, {429, "0"}});
  ClientOptions o;
  o.max_retries = 2;
  Client c(config_for(s), o);
  try {
    c.get(resources::config_maps(), "ns", "x");
    FAIL() << "expected TooManyRequestsError";
  } catch (const TooManyRequestsError& e) {
    EXPECT_EQ(e.code(), 429);
    ASSERT_TRUE(e.retry_after());
  }
  EXPECT_EQ(s.calls(), 3);  // first try + 2 retries
}

TEST(KubeClientRetry, RetriesServerErrorsWithBackoffThenSucceeds) {
  ScriptedServer s(cp(), {{503, ""}, {500, ""}});
  ClientOptions o;
  o.backoff_initial = std::chrono::milliseconds(10);
  Client c(config_for(s), o);
  EXPECT_EQ(c.get(resources::config_maps(), "ns", "x")["metadata"]["name"], "x");
  EXPECT_EQ(s.calls(), 3);
}

TEST(KubeClientRetry, ServerErrorSurfacesWhenRetriesRunOut) {
  ScriptedServer s(cp(), {{500, ""}, {500, ""}});
  ClientOptions o;
  o.max_retries = 1;
  o.backoff_initial = std::chrono::milliseconds(1);
  Client c(config_for(s), o);
  EXPECT_THROW(c.get(resources::config_maps(), "ns", "x"), ServerError);
  EXPECT_EQ(s.calls(), 2);
}

}  // namespace
}  // namespace accel::kube

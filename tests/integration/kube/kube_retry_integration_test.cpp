// Client retries, through real HTTPS: a scripted server of the test's own on 127.0.0.1
// (scripted_https_server.h) serving with the control plane's generated serving certificate (so
// the client verifies it against that CA) answers 429 with Retry-After, or 5xx, then success.
// The control plane is started only for its PKI; the answers come from the scripted server so
// that 429/5xx can be forced.
#include <gtest/gtest.h>

#include "accel/kube/client.h"
#include "control_plane.h"
#include "kube_helpers.h"
#include "scripted_https_server.h"

namespace accel::kube {
namespace {

using namespace accel::kube::testing;

// A file of the control plane's PKI (the apiserver's serving certificate and key).
std::string pki(const std::string& file) { return cp().dir() + "/pki/" + file; }

ClientConfig config_for(const ScriptedHttpsServer& s) {
  ClientConfig c;
  c.server = s.url();
  c.ca_pem = read_file(cp().ca_file());
  c.token = "unused";
  c.source = "test";
  return c;
}

TEST(KubeClientRetry, HonoursRetryAfterOn429ThenSucceeds) {
  ScriptedHttpsServer s(pki("apiserver.crt"), pki("apiserver.key"), {{429, "1"}, {429, "0"}});
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
  ScriptedHttpsServer s(pki("apiserver.crt"), pki("apiserver.key"),
                        {{429, "0"}, {429, "0"}, {429, "0"}, {429, "0"}});
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
  ScriptedHttpsServer s(pki("apiserver.crt"), pki("apiserver.key"), {{503, ""}, {500, ""}});
  ClientOptions o;
  o.backoff_initial = std::chrono::milliseconds(10);
  Client c(config_for(s), o);
  EXPECT_EQ(c.get(resources::config_maps(), "ns", "x")["metadata"]["name"], "x");
  EXPECT_EQ(s.calls(), 3);
}

TEST(KubeClientRetry, ServerErrorSurfacesWhenRetriesRunOut) {
  ScriptedHttpsServer s(pki("apiserver.crt"), pki("apiserver.key"), {{500, ""}, {500, ""}});
  ClientOptions o;
  o.max_retries = 1;
  o.backoff_initial = std::chrono::milliseconds(1);
  Client c(config_for(s), o);
  EXPECT_THROW(c.get(resources::config_maps(), "ns", "x"), ServerError);
  EXPECT_EQ(s.calls(), 2);
}

}  // namespace
}  // namespace accel::kube

// The MLflow client verifies https servers' certificates by default. Starts a real TLS server
// (`openssl s_server`, loopback only) with a self-signed certificate: by default the client
// refuses the handshake; with MLFLOW_TRACKING_INSECURE_TLS=true it gets through TLS (and then
// finds that the server is no MLflow, which proves the handshake happened).
#include <cstdlib>

#include "accel/tracking.h"
#include "reader_env.h"

using namespace accel;
using namespace accel::trackers_test;
using namespace std::chrono_literals;

namespace {

class TlsServer {
 public:
  explicit TlsServer(const std::string& dir) : port_(free_port()) {
    auto cert = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                             dir + "/key.pem", "-out", dir + "/cert.pem", "-days", "1", "-subj",
                             "/CN=127.0.0.1"},
                            60s);
    if (!cert.status.success()) throw std::runtime_error("openssl req failed:\n" + cert.output);
    SubprocessOptions o;
    o.argv = {"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port_), "-cert",
              dir + "/cert.pem", "-key", dir + "/key.pem", "-www", "-quiet"};
    o.stdout_path = dir + "/s_server.log";
    o.stderr_path = "=stdout";
    proc_ = std::make_unique<Subprocess>(o);
    if (!eventually([&] { return tcp_open(port_); }, 30s))
      throw std::runtime_error("openssl s_server did not listen; see " + dir + "/s_server.log");
  }
  ~TlsServer() { proc_->terminate(2s); }
  std::string uri() const { return "https://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::unique_ptr<Subprocess> proc_;
};

TrackerReport run_against(const std::string& dir, const std::string& uri,
                          std::map<std::string, std::string> environment = {}) {
  TrackerSettings s;
  s.environment = std::move(environment);
  s.logging_dir = dir;
  s.run_name = "tls";
  s.per_tracker["mlflow"] = {{"tracking_uri", uri}, {"timeout_seconds", "5"}};
  HubOptions o;
  o.initial_backoff = 100ms;
  o.warn = [](const std::string&) {};
  TrackerHub hub(make_trackers({"mlflow"}, s), true, o);
  hub.start("tls", {});
  hub.log({{"x", 1}}, 0);
  return hub.finish(true, 3s)[0];
}

}  // namespace

TEST(MlflowTls, RefusesASelfSignedCertificateByDefault) {
  ScratchDir dir("mlflow-tls");
  TlsServer server(dir.str());
  auto r = run_against(dir.str(), server.uri());
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.dropped, 1u);
  EXPECT_EQ(r.error.find("not JSON"), std::string::npos) << r.error;  // never got past TLS
  EXPECT_NE(r.error.find(server.uri()), std::string::npos) << r.error;
}

TEST(MlflowTls, InsecureTlsSettingSkipsTheCertificateCheck) {
  ScratchDir dir("mlflow-tls-insecure");
  TlsServer server(dir.str());
  auto r = run_against(dir.str(), server.uri(), {{"MLFLOW_TRACKING_INSECURE_TLS", "true"}});
  EXPECT_FALSE(r.started);
  EXPECT_NE(r.error.find("not JSON"), std::string::npos) << r.error;  // TLS worked, no MLflow
}

// ClientConfig: kubeconfig parsing (inline -data and file paths, token vs client cert,
// contexts, refusals) and in-cluster config with an injected service-account folder,
// including token rotation. Files live in a fresh temporary folder.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <optional>
#include <fstream>
#include <thread>

#include "accel/kube/client_config.h"
#include "accel/kube/token_source.h"

namespace accel::kube {
namespace {

class TempDir {
 public:
  TempDir() {
    std::string t = "/tmp/accel-kube-test-XXXXXX";
    path_ = ::mkdtemp(t.data());
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// base64("CA-PEM") etc., so decoding is checked exactly.
constexpr const char* kCaB64 = "Q0EtUEVN";        // CA-PEM
constexpr const char* kCertB64 = "Q0VSVC1QRU0=";  // CERT-PEM
constexpr const char* kKeyB64 = "S0VZLVBFTQ==";   // KEY-PEM

TEST(Kubeconfig, ReadsInlineDataForCurrentContext) {
  TempDir d;
  auto path = d.write("kc", std::string(R"(apiVersion: v1
kind: Config
current-context: b
clusters:
- name: c1
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority-data: )") + kCaB64 + R"(
contexts:
- name: a
  context: {cluster: c1, user: nobody}
- name: b
  context: {cluster: c1, user: admin, namespace: team}
users:
- name: admin
  user:
    client-certificate-data: )" + kCertB64 + R"(
    client-key-data: )" + kKeyB64 + "\n");
  auto c = ClientConfig::from_kubeconfig(path);
  EXPECT_EQ(c.server, "https://10.0.0.1:6443");
  EXPECT_EQ(c.ca_pem, "CA-PEM");
  EXPECT_EQ(c.client_cert_pem, "CERT-PEM");
  EXPECT_EQ(c.client_key_pem, "KEY-PEM");
  EXPECT_TRUE(c.token.empty());
  EXPECT_EQ(c.default_namespace, "team");
  EXPECT_NE(c.source.find("context b"), std::string::npos);
}

TEST(Kubeconfig, ResolvesFilePathsRelativeToTheKubeconfig) {
  TempDir d;
  d.write("ca.crt", "CA FROM FILE");
  d.write("u.crt", "CERT FROM FILE");
  d.write("u.key", "KEY FROM FILE");
  auto path = d.write("kc", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", certificate-authority: ca.crt}}]
users: [{name: u, user: {client-certificate: u.crt, client-key: )" + d.path() + R"(/u.key}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)");
  auto c = ClientConfig::from_kubeconfig(path);
  EXPECT_EQ(c.ca_pem, "CA FROM FILE");
  EXPECT_EQ(c.client_cert_pem, "CERT FROM FILE");
  EXPECT_EQ(c.client_key_pem, "KEY FROM FILE");
  EXPECT_EQ(c.default_namespace, "default");
}

TEST(Kubeconfig, ReadsABearerTokenUserAndANamedContext) {
  TempDir d;
  auto path = d.write("kc", std::string(R"(current-context: certs
clusters: [{name: c, cluster: {server: "https://k:443", certificate-authority-data: )") +
                                kCaB64 + R"(}}]
users:
- {name: t, user: {token: abc123}}
- {name: f, user: {tokenFile: tok}}
contexts:
- {name: certs, context: {cluster: c, user: missing}}
- {name: tok, context: {cluster: c, user: t}}
- {name: file, context: {cluster: c, user: f}}
)");
  auto c = ClientConfig::from_kubeconfig(path, "tok");
  EXPECT_EQ(c.token, "abc123");
  EXPECT_TRUE(c.client_cert_pem.empty());
  auto f = ClientConfig::from_kubeconfig(path, "file");
  EXPECT_EQ(f.token_file, d.path() + "/tok");
}

TEST(Kubeconfig, MissingUserEntryIsNamedInTheError) {
  TempDir d;
  auto path = d.write("kc", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://k"}}]
contexts: [{name: x, context: {cluster: c, user: ghost}}]
)");
  try {
    ClientConfig::from_kubeconfig(path);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("users entry named 'ghost'"), std::string::npos) << m;
    EXPECT_NE(m.find(path), std::string::npos) << m;
  }
}

TEST(Kubeconfig, RefusesInsecureSkipTlsVerify) {
  TempDir d;
  auto path = d.write("kc", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://k", insecure-skip-tls-verify: true}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  try {
    ClientConfig::from_kubeconfig(path);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("insecure-skip-tls-verify"), std::string::npos);
  }
}

TEST(Kubeconfig, BadBase64NamesTheKey) {
  TempDir d;
  auto path = d.write("kc", R"(current-context: x
clusters: [{name: c, cluster: {server: "https://k", certificate-authority-data: "!!notb64"}}]
contexts: [{name: x, context: {cluster: c}}]
)");
  try {
    ClientConfig::from_kubeconfig(path);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("certificate-authority-data"), std::string::npos)
        << e.what();
  }
}

TEST(Kubeconfig, NoCurrentContextIsAnError) {
  TempDir d;
  auto path = d.write("kc", "clusters: []\n");
  EXPECT_THROW(ClientConfig::from_kubeconfig(path), std::runtime_error);
}

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(InCluster, ReadsServiceAccountFilesAndEnvironment) {
  TempDir d;
  d.write("ca.crt", "CLUSTER CA");
  d.write("token", "tok-1\n");
  d.write("namespace", "accel-system\n");
  ScopedEnv host("KUBERNETES_SERVICE_HOST", "10.96.0.1");
  ScopedEnv port("KUBERNETES_SERVICE_PORT", "443");
  auto c = ClientConfig::in_cluster(d.path());
  EXPECT_EQ(c.server, "https://10.96.0.1:443");
  EXPECT_EQ(c.ca_pem, "CLUSTER CA");
  EXPECT_EQ(c.token_file, d.path() + "/token");
  EXPECT_EQ(c.default_namespace, "accel-system");
  TokenSource tokens(c.token, c.token_file);
  EXPECT_EQ(tokens.current(), "tok-1");
}

TEST(InCluster, OutsideAPodSaysWhichVariablesAreMissing) {
  TempDir d;
  ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
  try {
    ClientConfig::in_cluster(d.path());
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("KUBERNETES_SERVICE_HOST"), std::string::npos);
  }
}

TEST(TokenSource, PicksUpARotatedTokenFile) {
  TempDir d;
  auto file = d.write("token", "first");
  TokenSource tokens("", file);
  EXPECT_EQ(tokens.current(), "first");
  // Rotation replaces the file (new size and mtime); the next call sees it.
  d.write("token.new", "second-token");
  ASSERT_EQ(::rename((d.path() + "/token.new").c_str(), file.c_str()), 0);
  EXPECT_EQ(tokens.current(), "second-token");
}

TEST(TokenSource, KeepsTheLastGoodTokenWhenTheFileVanishes) {
  TempDir d;
  auto file = d.write("token", "good");
  TokenSource tokens("", file);
  EXPECT_EQ(tokens.current(), "good");
  ::unlink(file.c_str());
  EXPECT_EQ(tokens.current(), "good");
  TokenSource never("", d.path() + "/absent");
  EXPECT_THROW(never.current(), std::runtime_error);
}

TEST(TokenSource, StaticTokenWins) {
  TokenSource tokens("static", "/nonexistent");
  EXPECT_EQ(tokens.current(), "static");
}

}  // namespace
}  // namespace accel::kube

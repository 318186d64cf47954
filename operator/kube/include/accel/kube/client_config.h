// client_config.h — where the API server is and how to authenticate to it.
//
// Sources: a kubeconfig file (its current context, or a named one) or the in-cluster service
// account. TLS server verification is always on: the cluster's CA (certificate-authority or
// -data) is the only trust root when given, else the system roots; the server's hostname/IP
// is checked against its certificate. `insecure-skip-tls-verify: true` is refused.
// Secrets (token, client key) are held here but never printed: there is no to_string.
#pragma once

#include <string>

namespace accel::kube {

inline constexpr const char* kServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

struct ClientConfig {
  std::string server;           // "https://host:port" (no trailing slash)
  std::string ca_pem;           // PEM bundle of the cluster CA; empty = system trust roots
  std::string client_cert_pem;  // client certificate auth (both or neither)
  std::string client_key_pem;
  std::string token;            // static bearer token
  std::string token_file;       // bearer token re-read whenever the file changes (rotation)
  std::string default_namespace = "default";
  std::string source;           // "kubeconfig /path (context x)" or "in-cluster" — for messages

  // Reads `path` (YAML). `context` "" = current-context. Relative file paths resolve against
  // the kubeconfig's folder. Throws std::runtime_error naming the file, the context/cluster/
  // user entry and the key when something is missing or malformed.
  static ClientConfig from_kubeconfig(const std::string& path, const std::string& context = "");
  // The same, from the kubeconfig's text; `path` is only where it came from: it names the file
  // in errors and its folder is the base of relative file paths.
  static ClientConfig from_kubeconfig_text(const std::string& text, const std::string& path,
                                           const std::string& context = "");

  // The pod's service account: KUBERNETES_SERVICE_HOST/PORT from the environment, token,
  // ca.crt and namespace from `service_account_dir` (injectable for tests). The token is
  // referenced by file so that a rotated token is picked up. Throws std::runtime_error when
  // not running in a cluster (env unset) or a file is unreadable, naming it.
  static ClientConfig in_cluster(const std::string& service_account_dir = kServiceAccountDir);

  // KUBECONFIG (first file) if set, else in-cluster if KUBERNETES_SERVICE_HOST is set, else
  // ~/.kube/config.
  static ClientConfig load_default();
};

}  // namespace accel::kube

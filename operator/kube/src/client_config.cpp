#include "accel/kube/client_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

#include "base64.h"

namespace accel::kube {

namespace {

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(what + ": cannot read file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p[0] == '/') return p;
  return base_dir + "/" + p;
}

// The `inner` map of the list entry `list[*].name == name` (e.g. clusters[].cluster).
YAML::Node find_named(const YAML::Node& root, const std::string& list, const std::string& inner,
                      const std::string& name, const std::string& where) {
  const YAML::Node& items = root[list];
  if (items && items.IsSequence())
    for (const auto& item : items)
      if (item["name"] && item["name"].as<std::string>() == name) {
        YAML::Node n = item[inner];
        if (!n || !n.IsMap())
          throw std::runtime_error(where + ": " + list + " entry '" + name + "' has no '" + inner +
                                   "' map");
        return n;
      }
  throw std::runtime_error(where + ": no " + list + " entry named '" + name + "'");
}

std::string str(const YAML::Node& map, const std::string& key) {
  const YAML::Node& n = map[key];
  if (!n || n.IsNull()) return "";
  if (!n.IsScalar()) throw std::runtime_error("key '" + key + "' is not a string");
  return n.as<std::string>();
}

// `<key>-data` (base64) or `<key>` (a file path relative to the kubeconfig).
std::string data_or_file(const YAML::Node& map, const std::string& key, const std::string& base,
                         const std::string& where) {
  std::string data = str(map, key + "-data");
  if (!data.empty()) {
    try {
      return detail::base64_decode(data);
    } catch (const std::exception& e) {
      throw std::runtime_error(where + ": " + key + "-data: " + e.what());
    }
  }
  std::string file = str(map, key);
  if (file.empty()) return "";
  return read_file(resolve(base, file), where + ": " + key);
}

bool truthy(const YAML::Node& map, const std::string& key) {
  const YAML::Node& n = map[key];
  return n && n.IsScalar() && n.as<std::string>() == "true";
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

ClientConfig ClientConfig::from_kubeconfig(const std::string& path, const std::string& context) {
  return from_kubeconfig_text(read_file(path, "kubeconfig"), path, context);
}

ClientConfig ClientConfig::from_kubeconfig_text(const std::string& text, const std::string& path,
                                                const std::string& context) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("kubeconfig " + path + ": " + e.what());
  }
  if (!root.IsMap()) throw std::runtime_error("kubeconfig " + path + ": not a YAML map");
  std::string ctx_name = context;
  if (ctx_name.empty()) {
    ctx_name = str(root, "current-context");
    if (ctx_name.empty())
      throw std::runtime_error("kubeconfig " + path +
                               ": current-context is not set and no context was named");
  }
  std::string where = "kubeconfig " + path + " (context " + ctx_name + ")";
  try {
    YAML::Node ctx = find_named(root, "contexts", "context", ctx_name, "kubeconfig " + path);
    std::string cluster_name = str(ctx, "cluster"), user_name = str(ctx, "user");
    if (cluster_name.empty()) throw std::runtime_error("context has no 'cluster'");
    YAML::Node cluster = find_named(root, "clusters", "cluster", cluster_name, where);
    std::string base = dir_of(path);

    ClientConfig c;
    c.source = where;
    c.server = str(cluster, "server");
    if (c.server.empty())
      throw std::runtime_error("cluster '" + cluster_name + "' has no 'server'");
    while (!c.server.empty() && c.server.back() == '/') c.server.pop_back();
    if (truthy(cluster, "insecure-skip-tls-verify"))
      throw std::runtime_error("cluster '" + cluster_name +
                               "': insecure-skip-tls-verify is not supported; give "
                               "certificate-authority or certificate-authority-data");
    c.ca_pem = data_or_file(cluster, "certificate-authority", base,
                            where + " cluster '" + cluster_name + "'");
    if (!user_name.empty()) {
      YAML::Node user = find_named(root, "users", "user", user_name, where);
      std::string uw = where + " user '" + user_name + "'";
      c.client_cert_pem = data_or_file(user, "client-certificate", base, uw);
      c.client_key_pem = data_or_file(user, "client-key", base, uw);
      if (c.client_cert_pem.empty() != c.client_key_pem.empty())
        throw std::runtime_error(uw + ": client-certificate and client-key must be given together");
      c.token = str(user, "token");
      std::string token_file = str(user, "tokenFile");
      if (!token_file.empty()) c.token_file = resolve(base, token_file);
      if (user["exec"] || user["auth-provider"])
        if (c.token.empty() && c.token_file.empty() && c.client_cert_pem.empty())
          throw std::runtime_error(uw + ": exec / auth-provider credentials are not supported");
    }
    std::string ns = str(ctx, "namespace");
    if (!ns.empty()) c.default_namespace = ns;
    return c;
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(where + ": " + e.what());
  } catch (const std::runtime_error& e) {
    std::string m = e.what();
    if (m.rfind("kubeconfig ", 0) == 0) throw;
    throw std::runtime_error(where + ": " + m);
  }
}

ClientConfig ClientConfig::in_cluster(const std::string& sa_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port)
    throw std::runtime_error(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set "
        "(not running in a pod?)");
  ClientConfig c;
  c.source = "in-cluster (" + sa_dir + ")";
  std::string h = host;
  if (h.find(':') != std::string::npos) h = "[" + h + "]";  // IPv6
  c.server = "https://" + h + ":" + port;
  c.ca_pem = read_file(sa_dir + "/ca.crt", "in-cluster config");
  c.token_file = sa_dir + "/token";
  read_file(c.token_file, "in-cluster config");  // fail now, not at the first call
  std::ifstream ns_in(sa_dir + "/namespace");
  if (ns_in) {
    std::stringstream ss;
    ss << ns_in.rdbuf();
    std::string ns = trim(ss.str());
    if (!ns.empty()) c.default_namespace = ns;
  }
  return c;
}

ClientConfig ClientConfig::load_default() {
  if (const char* kc = std::getenv("KUBECONFIG"); kc && *kc) {
    std::string first = kc;
    auto colon = first.find(':');
    if (colon != std::string::npos) first = first.substr(0, colon);
    return from_kubeconfig(first);
  }
  if (const char* h = std::getenv("KUBERNETES_SERVICE_HOST"); h && *h) return in_cluster();
  const char* home = std::getenv("HOME");
  if (!home) throw std::runtime_error("no KUBECONFIG, not in a cluster, and HOME is unset");
  return from_kubeconfig(std::string(home) + "/.kube/config");
}

}  // namespace accel::kube

#include "kwok.h"

#include <algorithm>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "eventually.h"

namespace accel::testing {

using nlohmann::json;

KwokNodes::KwokNodes(const ControlPlane& cp) : cp_(cp) {
  auto r = run_command({"bash", source_dir() + "/scripts/controlplane.sh", "start-kwok", cp.dir()},
                       std::chrono::seconds(30));
  if (!r.status.success()) throw std::runtime_error("kwok did not start: " + r.output);
}

KwokNodes::~KwokNodes() {
  for (const auto& n : nodes_) cp_.kubectl({"delete", "node", n, "--wait=false", "--ignore-not-found"});
}

void KwokNodes::add_node(const std::string& name, const std::map<std::string, std::string>& labels,
                         const std::map<std::string, std::string>& resources) {
  std::map<std::string, std::string> all{{"cpu", "32"}, {"memory", "256Gi"}, {"pods", "110"}};
  for (const auto& [k, v] : resources) all[k] = v;
  json node_labels = labels;
  node_labels["kubernetes.io/hostname"] = name;
  json node = {{"apiVersion", "v1"},
               {"kind", "Node"},
               {"metadata",
                {{"name", name},
                 {"labels", node_labels},
                 {"annotations", {{"kwok.x-k8s.io/node", "fake"}}}}}};
  const std::string path = cp_.dir() + "/node-" + name + ".json";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw std::runtime_error("cannot write " + path);
    const std::string text = node.dump();
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  auto created = cp_.kubectl({"create", "-f", path});
  if (!created.status.success()) throw std::runtime_error("node " + name + ": " + created.output);
  nodes_.push_back(name);
  // KWOK initializes a node's status keeping the allocatable it finds, so the order of this
  // patch and KWOK's first write does not matter.
  const json status = {{"status", {{"allocatable", all}, {"capacity", all}}}};
  auto patched = cp_.kubectl(
      {"patch", "node", name, "--subresource=status", "--type=merge", "-p", status.dump()});
  if (!patched.status.success()) throw std::runtime_error("node " + name + ": " + patched.output);
  const bool ready = eventually(
      [&] {
        auto r = cp_.kubectl({"get", "node", name, "-o", "json"});
        if (!r.status.success()) return false;
        const json n = json::parse(r.output);
        const json& st = n["status"];
        bool is_ready = false;
        for (const auto& c : st.value("conditions", json::array()))
          if (c.value("type", "") == "Ready" && c.value("status", "") == "True") is_ready = true;
        for (const auto& [k, v] : resources)
          if (st.value("allocatable", json::object()).value(k, "") != v) return false;
        return is_ready;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(200));
  if (!ready) throw std::runtime_error("KWOK never reported node " + name + " Ready");
}

void KwokNodes::remove_node(const std::string& name) {
  cp_.kubectl({"delete", "node", name, "--ignore-not-found"});
  nodes_.erase(std::remove(nodes_.begin(), nodes_.end(), name), nodes_.end());
}

}  // namespace accel::testing

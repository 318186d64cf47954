// numa_binding.cpp — plan_numa_binding(); see accel/numa_binding.h.
#include "accel/numa_binding.h"

#include <sched.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace accel {

namespace {

namespace fs = std::filesystem;

std::optional<std::string> read_trimmed(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

// The GPUs' PCI addresses in bus order, and where they were found.
std::vector<std::string> find_gpus(const fs::path& root, std::string& source) {
  std::vector<std::string> out;
  std::error_code ec;
  const fs::path driver = root / "proc/driver/nvidia/gpus";
  if (fs::is_directory(driver, ec)) {
    source = driver.string();
    for (const auto& e : fs::directory_iterator(driver, ec))
      out.push_back(e.path().filename().string());
  } else {
    const fs::path pci = root / "sys/bus/pci/devices";
    source = pci.string() + " (vendor 0x10de)";
    for (const auto& e : fs::directory_iterator(pci, ec)) {
      const auto vendor = read_trimmed(e.path() / "vendor");
      const auto cls = read_trimmed(e.path() / "class");
      if (!vendor || !cls || *vendor != "0x10de") continue;
      if (cls->rfind("0x0300", 0) == 0 || cls->rfind("0x0302", 0) == 0)
        out.push_back(e.path().filename().string());
    }
  }
  // The driver writes bus ids in lower case; compare the same way whatever the folder says.
  for (auto& bdf : out)
    for (auto& c : bdf) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::sort(out.begin(), out.end());
  return out;
}

// NUMA node -> its CPUs, for nodes that have CPUs.
std::map<int, std::vector<int>> find_nodes(const fs::path& root) {
  std::map<int, std::vector<int>> nodes;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root / "sys/devices/system/node", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("node", 0) != 0 || name.size() == 4 ||
        name.find_first_not_of("0123456789", 4) != std::string::npos)
      continue;
    const auto list = read_trimmed(e.path() / "cpulist");
    if (!list || list->empty()) continue;  // a memory-only node
    try {
      nodes[std::stoi(name.substr(4))] = parse_cpu_list(*list);
    } catch (const std::invalid_argument&) {
      continue;  // unreadable: this node is unknown
    }
  }
  return nodes;
}

}  // namespace

bool NumaBinding::bound_any() const {
  return std::any_of(cpus.begin(), cpus.end(), [](const auto& c) { return !c.empty(); });
}

std::vector<int> parse_cpu_list(const std::string& text) {
  std::vector<int> out;
  std::string s;
  for (char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) s += c;
  if (s.empty()) return out;
  std::stringstream ss(s);
  std::string part;
  auto number = [&](const std::string& n) {
    if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos)
      throw std::invalid_argument("not a CPU list: '" + text + "'");
    return std::stoi(n);
  };
  while (std::getline(ss, part, ',')) {
    const auto dash = part.find('-');
    const int lo = number(part.substr(0, dash));
    const int hi = dash == std::string::npos ? lo : number(part.substr(dash + 1));
    if (hi < lo) throw std::invalid_argument("not a CPU list: '" + text + "'");
    for (int c = lo; c <= hi; ++c) out.push_back(c);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string format_cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    out += (out.empty() ? "" : ",") + std::to_string(cpus[i]);
    if (j > i) out += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

std::set<int> allowed_cpus() {
  std::set<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) out.insert(c);
  return out;
}

NumaBinding plan_numa_binding(const std::string& root_dir, int nproc,
                              const std::vector<int>& gpu_ids, bool uses_gpus,
                              const std::set<int>& allowed) {
  NumaBinding b;
  b.cpus.assign(std::max(0, nproc), {});
  const std::string prefix = "numa_binding: ";
  if (!uses_gpus) {
    b.summary = prefix + "no-op, the ranks use no GPU (cpu)";
    return b;
  }
  const fs::path root = root_dir.empty() ? fs::path("/") : fs::path(root_dir);
  const auto nodes = find_nodes(root);
  if (nodes.size() <= 1) {
    b.summary = prefix + "no-op, " +
                (nodes.empty() ? std::string("no NUMA node found in ") +
                                     (root / "sys/devices/system/node").string()
                               : "this machine has one NUMA node");
    return b;
  }
  std::string gpu_source;
  const auto gpus = find_gpus(root, gpu_source);
  if (gpus.empty()) {
    b.summary = prefix + "no-op, no GPU found in " + gpu_source;
    return b;
  }
  std::string bound, unbound;
  for (int i = 0; i < nproc; ++i) {
    const int gpu = gpu_ids.empty() ? i : (i < static_cast<int>(gpu_ids.size()) ? gpu_ids[i] : -1);
    std::string why;
    if (gpu < 0 || gpu >= static_cast<int>(gpus.size())) {
      why = "no GPU " + (gpu < 0 ? std::string("listed") : std::to_string(gpu));
    } else {
      const auto node_text = read_trimmed(root / "sys/bus/pci/devices" / gpus[gpu] / "numa_node");
      int node = -1;
      try {
        if (node_text) node = std::stoi(*node_text);
      } catch (const std::exception&) {
        node = -1;
      }
      auto it = nodes.find(node);
      if (it == nodes.end()) {
        why = "GPU " + std::to_string(gpu) + " (" + gpus[gpu] + ") has no known NUMA node";
      } else {
        for (int c : it->second)
          if (allowed.count(c)) b.cpus[i].push_back(c);
        if (b.cpus[i].empty())
          why = "none of node " + std::to_string(node) + "'s CPUs (" + format_cpu_list(it->second) +
                ") is allowed here";
        else
          bound += (bound.empty() ? "" : "; ") + std::string("local rank ") + std::to_string(i) +
                   " -> GPU " + std::to_string(gpu) + " (" + gpus[gpu] + ") node " +
                   std::to_string(node) + " CPUs " + format_cpu_list(b.cpus[i]);
      }
    }
    if (!why.empty())
      unbound += (unbound.empty() ? "" : "; ") + std::string("local rank ") + std::to_string(i) +
                 " unbound: " + why;
  }
  b.summary =
      prefix + (bound.empty() ? "no rank bound" : bound) + (unbound.empty() ? "" : "; " + unbound);
  return b;
}

}  // namespace accel

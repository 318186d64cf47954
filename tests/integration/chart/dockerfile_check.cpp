#include "dockerfile_check.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace accel::testing {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// Replaces ${NAME} and $NAME with the ARG defaults known so far (unknown names stay).
std::string expand(const std::string& s, const std::map<std::string, std::string>& args) {
  static const std::regex var(R"(\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*))");
  std::string out;
  auto it = std::sregex_iterator(s.begin(), s.end(), var);
  size_t last = 0;
  for (; it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    out += s.substr(last, m.position() - last);
    const std::string name = m[1].matched ? m[1].str() : m[2].str();
    auto found = args.find(name);
    out += found != args.end() ? found->second : m.str();
    last = m.position() + m.length();
  }
  return out + s.substr(last);
}

bool is_exec_form(const std::string& args) {
  const std::string a = trim(args);
  return a.size() >= 2 && a.front() == '[' && a.back() == ']';
}

}  // namespace

std::vector<DockerInstruction> parse_dockerfile(const std::string& text) {
  std::vector<DockerInstruction> out;
  std::istringstream in(text);
  std::string line, pending;
  int n = 0, start = 0;
  while (std::getline(in, line)) {
    ++n;
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;  // comments (and directives) may sit in continuations
    if (pending.empty()) start = n;
    if (t.back() == '\\') {
      pending += trim(t.substr(0, t.size() - 1)) + " ";
      continue;
    }
    pending += t;
    const auto sp = pending.find_first_of(" \t");
    DockerInstruction ins;
    ins.line = start;
    ins.keyword = upper(pending.substr(0, sp));
    ins.args = sp == std::string::npos ? "" : trim(pending.substr(sp));
    out.push_back(ins);
    pending.clear();
  }
  return out;
}

std::vector<DockerFinding> check_dockerfile(const std::string& text) {
  std::vector<DockerFinding> f;
  auto add = [&](int line, const char* rule, const std::string& msg) {
    f.push_back({line, rule, msg});
  };
  const auto ins = parse_dockerfile(text);

  std::map<std::string, std::string> global_args;  // ARG defaults before the first FROM
  std::set<std::string> stages;                    // names of stages so far
  std::map<std::string, bool> stage_pipefail;      // per named stage: SHELL has pipefail
  int stage_count = 0;
  bool pipefail = false;
  std::string current_stage;
  std::string last_user;
  int last_user_line = 0, last_from_line = 0;

  for (const auto& i : ins) {
    const auto w = words(i.args);
    if (i.keyword == "ARG" && stage_count == 0) {
      const auto eq = i.args.find('=');
      if (eq != std::string::npos)
        global_args[trim(i.args.substr(0, eq))] = trim(i.args.substr(eq + 1));
    } else if (i.keyword == "FROM") {
      ++stage_count;
      last_from_line = i.line;
      last_user.clear();
      size_t k = 0;
      while (k < w.size() && w[k].rfind("--", 0) == 0) ++k;  // --platform=...
      if (k >= w.size()) {
        add(i.line, "DF001", "FROM names no image");
        continue;
      }
      const std::string image = expand(w[k], global_args);
      std::string name;
      if (k + 2 < w.size() && upper(w[k + 1]) == "AS") name = w[k + 2];
      if (stages.count(image)) {
        pipefail = stage_pipefail[image];  // an earlier stage: inherits its SHELL
      } else {
        pipefail = false;
        const auto colon = image.rfind(':');
        const auto slash = image.rfind('/');
        const bool tagged =
            colon != std::string::npos && (slash == std::string::npos || colon > slash);
        if (image.find('$') != std::string::npos)
          add(i.line, "DF001", "FROM " + w[k] + ": an ARG without a default before the first FROM");
        else if (image != "scratch" && image.find('@') == std::string::npos && !tagged)
          add(i.line, "DF001",
              "FROM " + image +
                  " has no tag and names no earlier stage: pin a tag (e.g. "
                  "debian:bookworm)");
        else if (tagged && image.substr(colon + 1) == "latest")
          add(i.line, "DF001", "FROM " + image + ": pin a tag other than latest");
      }
      current_stage = name;
      if (!name.empty()) {
        if (stages.count(name)) add(i.line, "DF009", "stage name " + name + " is used twice");
        stages.insert(name);
        stage_pipefail[name] = pipefail;
      }
    } else if (i.keyword == "SHELL") {
      pipefail = i.args.find("pipefail") != std::string::npos;
      if (!current_stage.empty()) stage_pipefail[current_stage] = pipefail;
    } else if (i.keyword == "USER") {
      last_user = w.empty() ? "" : w[0];
      last_user_line = i.line;
    } else if (i.keyword == "ENTRYPOINT" || i.keyword == "CMD") {
      if (!is_exec_form(i.args))
        add(i.line, "DF003",
            i.keyword +
                " uses the shell form: write it as a JSON array so "
                "signals reach the process");
    } else if (i.keyword == "ADD") {
      add(i.line, "DF005", "ADD: use COPY (and fetch remote files in a RUN with a checksum)");
    } else if (i.keyword == "COPY") {
      for (const auto& a : w)
        if (a.rfind("--from=", 0) == 0) {
          const std::string from = a.substr(7);
          if (!stages.count(from))
            add(i.line, "DF006", "COPY " + a + ": no earlier stage is named " + from);
        }
    } else if (i.keyword == "WORKDIR") {
      if (w.empty() || (w[0][0] != '/' && w[0][0] != '$'))
        add(i.line, "DF007", "WORKDIR " + i.args + " is relative: use an absolute path");
    } else if (i.keyword == "RUN") {
      const std::string& r = i.args;
      if (std::regex_search(r, std::regex(R"(apt-get\s+(-\S+\s+)*(dist-)?upgrade)")))
        add(i.line, "DF004", "apt-get upgrade: take updates from a newer base image");
      if (std::regex_search(r, std::regex(R"(apt-get\s+(-\S+\s+)*install)"))) {
        if (r.find("--no-install-recommends") == std::string::npos)
          add(i.line, "DF004", "apt-get install without --no-install-recommends");
        if (!std::regex_search(r, std::regex(R"(apt-get\s+(-\S+\s+)*install\s+(\S+\s+)*-y\b)")) &&
            r.find("install -y") == std::string::npos)
          add(i.line, "DF004", "apt-get install without -y");
        if (r.find("rm -rf /var/lib/apt/lists") == std::string::npos)
          add(i.line, "DF004",
              "apt-get install without `rm -rf /var/lib/apt/lists/*` in the same RUN");
      }
      if (std::regex_search(r, std::regex(R"((^|[\s;&|])sudo\s)")))
        add(i.line, "DF008", "sudo in RUN: the build runs as root; drop it");
      if (std::regex_search(r, std::regex(R"((curl|wget)\b[^|;&]*\|\s*(ba)?sh\b)")))
        add(i.line, "DF008", "piping a download into a shell: download, verify a checksum, run");
      // A pipe (not ||) hides a failing left side unless pipefail is on.
      if (std::regex_search(r, std::regex(R"([^|]\|[^|])")) && !pipefail)
        add(i.line, "DF010",
            "RUN with a pipe but no SHELL [\"/bin/bash\", \"-o\", \"pipefail\", \"-c\"] in this "
            "stage");
    }
  }
  if (stage_count < 2) add(1, "DF011", "one stage: build in one stage, run in a slim one");
  if (stage_count > 0) {
    const bool numeric =
        !last_user.empty() && std::all_of(last_user.begin(), last_user.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c)) || c == ':';
        });
    if (last_user.empty())
      add(last_from_line, "DF002", "the final stage sets no USER: it would run as root");
    else if (!numeric || last_user == "0" || last_user.rfind("0:", 0) == 0)
      add(last_user_line, "DF002",
          "USER " + last_user +
              ": use a numeric non-root UID (Kubernetes' runAsNonRoot "
              "cannot verify a name)");
  }
  return f;
}

}  // namespace accel::testing

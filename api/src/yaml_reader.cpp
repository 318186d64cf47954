// yaml_reader.cpp — YAML -> JSON with the scalar typing kubectl uses (YAML 1.1, as
// sigs.k8s.io/yaml reads it), then the strict JSON reader. Errors get the YAML line appended.
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "accel/api/acceljob.h"
#include "accel/api/yaml_bounds.h"
#include "yaml_scalar.h"

namespace accel::api {
namespace {

using json = nlohmann::json;

}  // namespace

json resolve_plain_scalar(const std::string& s) {
  static const char* kTrue[] = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static const char* kFalse[] = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  for (const char* t : kTrue)
    if (s == t) return true;
  for (const char* f : kFalse)
    if (s == f) return false;
  static const std::regex kInt("[-+]?(0|[1-9][0-9_]*)");
  static const std::regex kHex("[-+]?0x[0-9a-fA-F_]+");
  static const std::regex kFloat("[-+]?([0-9][0-9_]*)?\\.?[0-9_]*([eE][-+]?[0-9]+)?");
  std::string digits;
  for (char c : s)
    if (c != '_') digits += c;
  if (std::regex_match(s, kInt) || std::regex_match(s, kHex)) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(digits.c_str(), &end, 0);
    if (errno == 0 && end && *end == '\0') return static_cast<std::int64_t>(v);
    return s;  // out of range: keep the text, the typed reader reports it
  }
  if (s == ".inf" || s == "+.inf" || s == ".Inf" || s == ".INF") return s;  // not JSON-representable
  if (std::regex_match(s, kFloat) && s.find_first_of("0123456789") != std::string::npos) {
    char* end = nullptr;
    double d = std::strtod(digits.c_str(), &end);
    if (end && *end == '\0') return d;
  }
  return s;
}

namespace {

std::string mark_of(const YAML::Node& n) {
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return "";
  return "line " + std::to_string(m.line + 1) + ", column " + std::to_string(m.column + 1);
}

json convert(const YAML::Node& n, const std::string& path, std::map<std::string, std::string>* marks) {
  if (marks) (*marks)[path] = mark_of(n);
  switch (n.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return nullptr;
    case YAML::NodeType::Scalar: {
      if (!is_utf8(n.Scalar()))
        throw SpecError(path, (path.empty() ? std::string("document") : path) +
                                  ": the value is not UTF-8 once read as YAML (an escape or a "
                                  "control character)" +
                                  (mark_of(n).empty() ? "" : " (" + mark_of(n) + ")"));
      const std::string& tag = n.Tag();
      if (tag == "!" || tag == "tag:yaml.org,2002:str") return n.Scalar();
      return resolve_plain_scalar(n.Scalar());
    }
    case YAML::NodeType::Sequence: {
      json a = json::array();
      std::size_t i = 0;
      for (const auto& item : n) {
        a.push_back(convert(item, path + "[" + std::to_string(i) + "]", marks));
        ++i;
      }
      return a;
    }
    case YAML::NodeType::Map: {
      json o = json::object();
      for (const auto& kv : n) {
        if (!kv.first.IsScalar()) {
          std::string where = mark_of(kv.first);
          throw SpecError(path, (path.empty() ? std::string("document") : path) +
                                    ": keys must be strings" + (where.empty() ? "" : " (" + where + ")"));
        }
        std::string key = kv.first.Scalar();
        if (!is_utf8(key)) {
          std::string where = mark_of(kv.first);
          throw SpecError(path, (path.empty() ? std::string("document") : path) +
                                    ": a key is not UTF-8 once read as YAML" +
                                    (where.empty() ? "" : " (" + where + ")"));
        }
        std::string p = path.empty() ? key : path + "." + key;
        if (o.contains(key)) {
          std::string where = mark_of(kv.first);
          throw SpecError(p, p + ": duplicate field \"" + key + "\"" + (where.empty() ? "" : " (" + where + ")"));
        }
        o[key] = convert(kv.second, p, marks);
      }
      return o;
    }
  }
  return nullptr;
}

// The line of the deepest known prefix of an error path.
std::string where(const std::map<std::string, std::string>& marks, std::string path) {
  while (!path.empty()) {
    auto it = marks.find(path);
    if (it != marks.end() && !it->second.empty()) return it->second;
    auto cut = path.find_last_of(".[");
    if (cut == std::string::npos) break;
    path.resize(cut);
  }
  return "";
}

AccelJob from_yaml(const YAML::Node& node) {
  std::map<std::string, std::string> marks;
  json j = yaml_to_json(node, &marks);
  if (!j.is_object()) throw SpecError("", "expected an AccelJob object at the top of the YAML document");
  try {
    return j.get<AccelJob>();
  } catch (const SpecError& e) {
    std::string w = where(marks, e.path());
    if (w.empty()) throw;
    throw SpecError(e.path(), std::string(e.what()) + " (" + w + ")");
  }
}

}  // namespace

json yaml_to_json(const YAML::Node& node, std::map<std::string, std::string>* marks) {
  return convert(node, "", marks);
}

AccelJob parse_acceljob_yaml(const YAML::Node& node) { return from_yaml(node); }

AccelJob parse_acceljob_yaml(const std::string& text) {
  std::vector<YAML::Node> docs;
  try {
    check_yaml_text(text);
    docs = YAML::LoadAll(text);
    for (const auto& d : docs) check_yaml_tree(d);
  } catch (const YamlBoundsError& e) {
    throw SpecError("", std::string("the YAML ") + e.what() +
                            (e.line() > 0 ? " (line " + std::to_string(e.line()) + ")" : ""));
  } catch (const YAML::Exception& e) {
    throw SpecError("", "invalid YAML at line " + std::to_string(e.mark.line + 1) + ", column " +
                            std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  std::vector<YAML::Node> objects;
  for (const auto& d : docs)
    if (!d.IsNull()) objects.push_back(d);
  if (objects.size() != 1)
    throw SpecError("", "expected exactly one YAML document with an AccelJob, found " +
                            std::to_string(objects.size()) + " (one AccelJob per file)");
  return from_yaml(objects.front());
}

AccelJob load_acceljob_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SpecError("", path + ": cannot open the job file");
  // At most one byte past the limit is read: a huge file (or /dev/zero) costs nothing.
  std::string text(YamlBounds{}.max_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  try {
    return parse_acceljob_yaml(text);
  } catch (const SpecError& e) {
    throw SpecError(e.path(), path + ": " + e.what());
  }
}

}  // namespace accel::api

// config_file.cpp — the YAML config file: where it lives, reading it, writing it.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "accel/api/yaml_bounds.h"
#include "accel/config.h"

namespace accel {

namespace {

std::string where_in(const std::string& path, const YAML::Mark& mark) {
  if (mark.is_null()) return path;
  return path + ":" + std::to_string(mark.line + 1);
}

}  // namespace

std::string default_config_path(const std::map<std::string, std::string>& env) {
  std::string base;
  auto xdg = env.find("XDG_CONFIG_HOME");
  if (xdg != env.end() && !xdg->second.empty() && xdg->second.front() == '/') {
    base = xdg->second;  // the XDG spec ignores a relative XDG_CONFIG_HOME
  } else {
    auto home = env.find("HOME");
    if (home == env.end() || home->second.empty()) return "";
    base = home->second + "/.config";
  }
  if (base.back() == '/') base.pop_back();
  return base + "/accel/default_config.yaml";
}

std::map<std::string, std::string> read_config_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ConfigError("config file '" + path + "' cannot be read");
  // At most one byte past the size limit is read (check_yaml_text then refuses the file).
  std::string bytes(api::YamlBounds{}.max_bytes + 1, '\0');
  f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (f.bad()) throw ConfigError("config file '" + path + "' cannot be read");
  bytes.resize(static_cast<std::size_t>(f.gcount()));
  return parse_config_file_text(bytes, path);
}

std::map<std::string, std::string> parse_config_file_text(const std::string& text,
                                                          const std::string& path) {
  YAML::Node root;
  try {
    api::check_yaml_text(text);
    std::vector<YAML::Node> docs;
    for (const auto& d : YAML::LoadAll(text))
      if (!d.IsNull()) docs.push_back(d);
    if (docs.size() > 1)
      throw ConfigError("config file " + path + " holds " + std::to_string(docs.size()) +
                        " YAML documents; it must be one mapping of key: value");
    if (!docs.empty()) root = docs.front();
    api::check_yaml_tree(root);
  } catch (const api::YamlBoundsError& e) {
    throw ConfigError("config file " + path + (e.line() > 0 ? ":" + std::to_string(e.line()) : "") + " " +
                      e.what());
  } catch (const YAML::Exception& e) {
    throw ConfigError("config file " + where_in(path, e.mark) + " is not valid YAML: " + e.msg);
  }
  std::map<std::string, std::string> out;
  if (root.IsNull()) return out;  // an empty file sets nothing
  if (!root.IsMap())
    throw ConfigError("config file " + path + " must be a mapping of key: value, not a " +
                      (root.IsSequence() ? "list" : "single value"));
  for (const auto& entry : root) {
    if (!entry.first.IsScalar())
      throw ConfigError("config file " + where_in(path, entry.first.Mark()) +
                        " has a key that is not plain text");
    const std::string key = entry.first.Scalar();
    const KeySpec& spec = require_config_key(key, "config file " + path);
    const YAML::Node& value = entry.second;
    if (value.IsNull()) continue;  // "key:" with nothing sets nothing
    if (value.IsScalar()) {
      out[key] = value.Scalar();
    } else if (value.IsSequence() && (spec.type == KeyType::List || spec.type == KeyType::GpuIds)) {
      std::string joined;
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].IsScalar())
          throw ConfigError(key + ": an item in config file " + where_in(path, value[i].Mark()) +
                            " is not a single value");
        joined += (i ? "," : "") + value[i].Scalar();
      }
      out[key] = joined;
    } else {
      throw ConfigError(key + ": the value in config file " + where_in(path, value.Mark()) +
                        " is a " + (value.IsSequence() ? "list" : "mapping") + ", expected " +
                        describe_allowed(spec));
    }
  }
  return out;
}

void write_config_file(const std::string& path, const std::map<std::string, std::string>& values) {
  std::map<std::string, std::string> canonical;
  for (const auto& [key, raw] : values) {
    const KeySpec& spec = require_config_key(key, "the values to write to " + path);
    canonical[key] = normalize_value(spec, raw, "the value to write to " + path);
  }

  YAML::Emitter y;
  y << YAML::Comment(
      "accel configuration (written by `accel config`). Precedence, lowest to highest: "
      "defaults < this file < ACCEL_<KEY> environment < `accel launch --<key>` < code. "
      "See worker/CONFIG.md.");
  y << YAML::Newline << YAML::BeginMap;
  bool first = true;
  for (const KeySpec& spec : config_keys()) {
    auto it = canonical.find(spec.name);
    if (it == canonical.end()) continue;
    if (!first) y << YAML::Newline;  // keeps each help comment on its own line
    first = false;
    y << YAML::Comment(spec.help);
    y << YAML::Key << spec.name << YAML::Value;
    switch (spec.type) {
      case KeyType::Bool:
      case KeyType::Int:
      case KeyType::Choice:
        y << it->second;
        break;
      case KeyType::List:
        y << YAML::Flow << split_list(it->second);
        break;
      case KeyType::GpuIds:
      case KeyType::String:
        y << YAML::DoubleQuoted << it->second;
        break;
    }
  }
  y << YAML::EndMap;
  if (!y.good()) throw ConfigError("cannot write config file " + path + ": " + y.GetLastError());

  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec)
    throw ConfigError("cannot create directory " + parent.string() +
                      " for config file: " + ec.message());
  // Write a sibling and rename: a crash never leaves a half-written config behind.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << y.c_str() << "\n";
    f.close();
    if (!f) throw ConfigError("cannot write config file " + path + " (writing " + tmp + " failed)");
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw ConfigError("cannot write config file " + path + ": " + ec.message());
}

}  // namespace accel

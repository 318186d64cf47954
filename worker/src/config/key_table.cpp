// key_table.cpp — the configuration keys (see accel/config/key_table.h and worker/CONFIG.md).
#include "accel/config/key_table.h"

#include "accel/api/acceljob.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace accel {

namespace {

using Values = std::map<std::string, std::string>;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

// --- the builders keys.def is written in ---------------------------------------------------
constexpr std::int64_t kMax = INT32_MAX;

struct Key {
  KeySpec k;
  Key& help(std::string h) {
    k.help = std::move(h);
    return *this;
  }
  Key& ask(std::string q) {
    k.question = std::move(q);
    return *this;
  }
  Key& when(std::function<bool(const Values&)> f) {
    k.ask_if = std::move(f);
    return *this;
  }
  Key& derived(std::string derivation) {
    k.derived_default = std::move(derivation);
    k.default_value.clear();
    return *this;
  }
  Key& empty_ok() {
    k.allow_empty = true;
    return *this;
  }
};

Key Int(std::int64_t def, std::int64_t min, std::int64_t max = kMax) {
  Key b;
  b.k.type = KeyType::Int;
  b.k.default_value = std::to_string(def);
  b.k.min_value = min;
  b.k.max_value = max;
  return b;
}
Key Bool(bool def) {
  Key b;
  b.k.type = KeyType::Bool;
  b.k.default_value = def ? "true" : "false";
  return b;
}
Key Text(std::string def) {
  Key b;
  b.k.type = KeyType::String;
  b.k.default_value = std::move(def);
  return b;
}
Key Choice(std::string def, std::vector<std::string> choices) {
  Key b;
  b.k.type = KeyType::Choice;
  b.k.default_value = std::move(def);
  b.k.choices = std::move(choices);
  return b;
}
Key List(std::vector<std::string> choices) {
  Key b;
  b.k.type = KeyType::List;
  b.k.choices = std::move(choices);
  return b;
}
Key GpuIds(std::string def) {
  Key b;
  b.k.type = KeyType::GpuIds;
  b.k.default_value = std::move(def);
  return b;
}

// Conditions of `accel config`'s questions.
bool more_than_one_machine(const Values& v) {
  auto it = v.find("num_machines");
  return it != v.end() && it->second != "1";
}
bool unless_cpu(const Values& v) {
  auto it = v.find("cpu");
  return it == v.end() || it->second != "true";
}
bool when_checkpointing(const Values& v) {
  auto it = v.find("checkpoint_every_steps");
  return it != v.end() && it->second != "0";
}

// The tracker types, as the AccelJob API names them (api::TrackerType).
std::vector<std::string> tracker_names() {
  std::vector<std::string> names;
  for (api::TrackerType t : api::all_tracker_types()) names.push_back(api::to_string(t));
  return names;
}

std::vector<KeySpec> build_table() {
  std::vector<KeySpec> t;
#define ACCEL_KEY(key, kind, ...) \
  t.push_back((__VA_ARGS__).k);   \
  t.back().name = #key;
#include "accel/config/keys.def"
#undef ACCEL_KEY
  return t;
}

[[noreturn]] void invalid(const KeySpec& key, const std::string& raw, const std::string& where,
                          const std::string& problem) {
  throw ConfigError(key.name + ": '" + raw + "' from " + where + " " + problem);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

bool parse_int(const std::string& s, std::int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  std::int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = s[0] == '-' ? -v : v;
  return true;
}

// Levenshtein distance, for "did you mean".
size_t distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const std::vector<KeySpec>& config_keys() {
  static const std::vector<KeySpec> table = build_table();
  return table;
}

std::vector<std::string> config_key_names() {
  std::vector<std::string> names;
  for (const auto& k : config_keys()) names.push_back(k.name);
  return names;
}

const KeySpec* find_config_key(const std::string& name) {
  for (const auto& k : config_keys())
    if (k.name == name) return &k;
  return nullptr;
}

const KeySpec& require_config_key(const std::string& name, const std::string& where) {
  if (const KeySpec* k = find_config_key(name)) return *k;
  std::string best;
  size_t best_d = 4;
  for (const auto& k : config_keys()) {
    const size_t d = distance(lower(name), k.name);
    if (d < best_d) best_d = d, best = k.name;
  }
  throw ConfigError("unknown configuration key '" + name + "' in " + where +
                    (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                    "; `accel config explain` lists the keys");
}

std::string env_var_for_key(const std::string& key) { return "ACCEL_" + upper(key); }
std::string launch_env_var_for_key(const std::string& key) { return "ACCEL_LAUNCH_" + upper(key); }
std::string flag_for_key(const std::string& key) { return "--" + key; }

std::string describe_allowed(const KeySpec& key) {
  switch (key.type) {
    case KeyType::Bool:
      return "a boolean (true/false/1/0/yes/no)";
    case KeyType::Int:
      if (key.max_value >= INT32_MAX) return "an integer >= " + std::to_string(key.min_value);
      return "an integer from " + std::to_string(key.min_value) + " to " +
             std::to_string(key.max_value);
    case KeyType::String:
      return key.allow_empty ? "any text" : "non-empty text";
    case KeyType::Choice:
      return "one of: " + join(key.choices, ", ");
    case KeyType::List:
      return "a comma-separated list of: " + join(key.choices, ", ") + " (or all, or empty)";
    case KeyType::GpuIds:
      return "all, or comma-separated GPU indices";
  }
  return "";
}

// Far above any machine's GPU count, far below INT_MAX.
constexpr std::int64_t kMaxGpuIndex = 65535;

std::string normalize_value(const KeySpec& key, const std::string& raw, const std::string& where) {
  switch (key.type) {
    case KeyType::Bool: {
      const std::string v = lower(trim(raw));
      if (v == "true" || v == "1" || v == "yes") return "true";
      if (v == "false" || v == "0" || v == "no") return "false";
      invalid(key, raw, where, "is not a boolean (true/false/1/0/yes/no)");
    }
    case KeyType::Int: {
      std::int64_t v = 0;
      if (!parse_int(trim(raw), v)) invalid(key, raw, where, "is not an integer");
      if (v < key.min_value || v > key.max_value)
        invalid(key, raw, where, "is out of range: must be " + describe_allowed(key));
      return std::to_string(v);
    }
    case KeyType::String:
      if (raw.empty() && !key.allow_empty) {
        invalid(
            key, raw, where,
            "must not be empty" + (key.derived_default.empty()
                                       ? std::string()
                                       : " (leave it unset to use " + key.derived_default + ")"));
      }
      return raw;
    case KeyType::Choice: {
      const std::string v = lower(trim(raw));
      for (const auto& c : key.choices)
        if (c == v) return c;
      invalid(key, raw, where, "is not one of: " + join(key.choices, ", "));
    }
    case KeyType::List: {
      if (trim(raw).empty()) return "";
      std::vector<std::string> items;
      for (const auto& item : split_commas(lower(raw))) {
        if (item.empty()) invalid(key, raw, where, "has an empty item");
        if (item == "all") {
          items.push_back(item);
          continue;
        }
        if (std::find(key.choices.begin(), key.choices.end(), item) == key.choices.end())
          invalid(key, raw, where,
                  "has '" + item + "', which is not one of: " + join(key.choices, ", ") + ", all");
        if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
      }
      if (std::find(items.begin(), items.end(), "all") != items.end()) {
        if (items.size() > 1) invalid(key, raw, where, "combines 'all' with other trackers");
      }
      return join(items, ",");
    }
    case KeyType::GpuIds: {
      if (lower(trim(raw)) == "all") return "all";
      std::vector<std::string> ids;
      std::set<std::int64_t> seen;
      for (const auto& item : split_commas(raw)) {
        std::int64_t v = 0;
        if (!parse_int(item, v) || v < 0)
          invalid(key, raw, where, "is not 'all' or a comma-separated list of GPU indices");
        // A GPU index is an int where it is used (found by fuzzing: 6024306401 escaped as
        // std::out_of_range from gpu_id_list()).
        if (v > kMaxGpuIndex)
          invalid(key, raw, where,
                  "has GPU index " + item + ", above " + std::to_string(kMaxGpuIndex));
        if (!seen.insert(v).second) invalid(key, raw, where, "lists GPU " + item + " twice");
        ids.push_back(std::to_string(v));
      }
      return join(ids, ",");
    }
  }
  return raw;
}

std::vector<std::string> split_list(const std::string& canonical) {
  if (canonical.empty()) return {};
  return split_commas(canonical);
}

}  // namespace accel

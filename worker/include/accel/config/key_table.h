// accel/config/key_table.h — the single description of every configuration key.
//
// Everything about a key is written once, in config_keys(): its name, type, default, allowed
// values, help text and the question `accel config` asks. Defaults, validation, the YAML file,
// the ACCEL_<KEY> environment names, the `accel launch --<key>` flags, `accel config explain`
// and the questionnaire are all driven from this table, so a key cannot exist in one place and
// be missing in another. worker/CONFIG.md is the same table for humans.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "accel/config/config_error.h"

namespace accel {

enum class KeyType {
  Bool,    // true/false/1/0/yes/no (any case); canonical "true" / "false"
  Int,     // decimal integer within [min_value, max_value]; canonical without sign or zeros
  String,  // free text (empty allowed only where allow_empty)
  Choice,  // one of `choices` (any case); canonical lower case
  List,    // comma-separated items from `choices`, or "all"; canonical "a,b" (may be empty)
  GpuIds,  // "all" or comma-separated distinct non-negative integers; canonical "0,1"
};

struct KeySpec {
  std::string name;  // snake_case; env ACCEL_<UPPER>, flag --<name>, file key <name>
  KeyType type = KeyType::String;
  std::string default_value;  // canonical; ignored when derived_default is set
  // When set, the default is computed from other resolved keys ("<project_dir>/logs"); this is
  // the text shown for it. Only used when no layer sets the key.
  std::string derived_default;
  std::vector<std::string> choices;  // Choice / List
  std::int64_t min_value = 0;        // Int
  std::int64_t max_value = INT32_MAX;
  bool allow_empty = false;  // String
  std::string help;          // one line, for --help, the YAML file and CONFIG.md
  std::string question;      // empty: `accel config` does not ask for it
  // Asked only when this returns true for the values known so far (defaults + answers).
  std::function<bool(const std::map<std::string, std::string>&)> ask_if;
};

// Every key, in a fixed order (the order of the file, of `explain` and of the questions).
const std::vector<KeySpec>& config_keys();
// The key names, in config_keys() order.
std::vector<std::string> config_key_names();
// The spec of `name`, or nullptr when no such key exists.
const KeySpec* find_config_key(const std::string& name);
// Like find_config_key, but throws ConfigError "unknown configuration key '<name>' (from
// <where>)" listing the close candidates.
const KeySpec& require_config_key(const std::string& name, const std::string& where);

// ACCEL_<KEY> (layer 3, what the operator sets) and ACCEL_LAUNCH_<KEY> (layer 4, what
// `accel launch` hands each rank for its own flags), and the flag itself (--<key>).
std::string env_var_for_key(const std::string& key);
std::string launch_env_var_for_key(const std::string& key);
std::string flag_for_key(const std::string& key);

// Checks `raw` against the key's type and returns the canonical value. `where` describes the
// source in the words of error messages ("environment variable ACCEL_SEED"). Throws
// ConfigError "<key>: '<raw>' from <where> <what is wrong>".
std::string normalize_value(const KeySpec& key, const std::string& raw, const std::string& where);

// A canonical List / GpuIds value split into its items ("" -> {}).
std::vector<std::string> split_list(const std::string& canonical);
// Human description of the allowed values ("one of: no, fp16, bf16", "an integer >= 1").
std::string describe_allowed(const KeySpec& key);

}  // namespace accel

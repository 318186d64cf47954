// make_trackers and the small shared pieces of the backends (settings checks, JSON text).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "accel/tracking.h"
#include "accel/tracking/encoding.h"
#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"
#include "backends.h"

namespace accel {

void Tracker::log(const std::map<std::string, double>& values, int64_t step) {
  LogEntry e;
  e.step = step;
  e.wall_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  e.values = values;
  log_batch({e});
}

TrackerSet make_trackers(const std::vector<std::string>& log_with,
                         const TrackerSettings& settings) {
  std::vector<std::string> kKnown;  // api::TrackerType's names: the one list
  for (api::TrackerType t : api::all_tracker_types()) kKnown.push_back(api::to_string(t));
  auto settings_of = [&](const std::string& type) {
    auto it = settings.per_tracker.find(type);
    return it == settings.per_tracker.end() ? tracking::SettingsMap{} : it->second;
  };
  for (const auto& [type, _] : settings.per_tracker)
    if (std::find(kKnown.begin(), kKnown.end(), type) == kKnown.end())
      throw std::invalid_argument("tracker settings given for '" + type +
                                  "', which is not one of tensorboard, wandb, mlflow, jsonl");

  std::vector<std::string> types;
  for (const auto& raw : log_with) {
    std::string t = raw;
    std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
    if (t == "all") {
      for (const auto& k : kKnown)
        if (k != "mlflow" || tracking::mlflow_configured(settings_of("mlflow"), settings.environment))
          types.push_back(k);
    } else if (std::find(kKnown.begin(), kKnown.end(), t) != kKnown.end()) {
      types.push_back(t);
    } else {
      throw std::invalid_argument("log_with: '" + raw +
                                  "' is not one of tensorboard, wandb, mlflow, jsonl, all");
    }
  }

  TrackerSet set;
  set.run_name = settings.run_name;
  if (set.run_name.empty()) throw std::invalid_argument("run_name: a run needs a name (the run_name key)");
  if (set.run_name.find('/') != std::string::npos || set.run_name == "." || set.run_name == "..")
    throw std::invalid_argument("run_name: '" + set.run_name +
                                "' must be a single directory name (no '/', not '.' or '..')");
  const std::string dir = settings.logging_dir.empty() ? "." : settings.logging_dir;
  set.run_dir = dir + "/" + set.run_name;

  std::set<std::string> seen;
  for (const auto& t : types) {
    if (!seen.insert(t).second) continue;
    const auto s = settings_of(t);
    if (t == "tensorboard") set.trackers.push_back(tracking::make_tensorboard_tracker(s));
    else if (t == "jsonl") set.trackers.push_back(tracking::make_jsonl_tracker(s));
    else if (t == "wandb") set.trackers.push_back(tracking::make_wandb_tracker(s));
    else if (t == "mlflow") set.trackers.push_back(tracking::make_mlflow_tracker(s, settings.environment));
  }
  return set;
}

namespace tracking {

void check_setting_keys(const std::string& tracker, const SettingsMap& settings) {
  const auto type = api::parse_tracker_type(tracker);
  if (!type) throw std::logic_error("check_setting_keys: unknown tracker type " + tracker);
  const auto& allowed = api::tracker_setting_keys(*type);
  for (const auto& [key, _] : settings) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    throw std::invalid_argument("tracker " + tracker + ": unknown setting '" + key + "'" +
                                (list.empty() ? std::string("; it takes no settings")
                                              : "; known settings: " + list));
  }
}

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string hparam_json(const std::string& value) {
  if (value == "true" || value == "false") return value;
  // A JSON number exactly as written (e.g. "3", "0.001", "1e-4"), else a string.
  if (!value.empty() && (value[0] == '-' || std::isdigit(static_cast<unsigned char>(value[0])))) {
    try {
      auto j = nlohmann::json::parse(value);
      if (j.is_number()) return value;
    } catch (const std::exception&) {
    }
  }
  return json_string(value);
}

}  // namespace tracking
}  // namespace accel

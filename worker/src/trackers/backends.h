// backends.h — constructors of the concrete trackers (internal to accel_trackers).
// Each validates its own settings and throws std::invalid_argument naming the tracker, the
// key and the bad value; nothing is written until Tracker::start.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "accel/tracking.h"

namespace accel::tracking {

using SettingsMap = std::map<std::string, std::string>;

std::unique_ptr<Tracker> make_tensorboard_tracker(const SettingsMap& settings);
std::unique_ptr<Tracker> make_jsonl_tracker(const SettingsMap& settings);
std::unique_ptr<Tracker> make_wandb_tracker(const SettingsMap& settings);
// `env`: MLflow's own variables (MLFLOW_TRACKING_URI, ...), used where a setting is absent.
std::unique_ptr<Tracker> make_mlflow_tracker(const SettingsMap& settings, const SettingsMap& env = {});

// Whether mlflow has a tracking URI (from its settings or MLFLOW_TRACKING_URI in `env`); "all"
// only includes mlflow when it does.
bool mlflow_configured(const SettingsMap& settings, const SettingsMap& env);

// A metric or param key as MLflow accepts it: characters outside letters, digits, _ - . / :
// and space become '_'; empty, "." and ".." path segments are removed or renamed; at most 250.
std::string mlflow_key(const std::string& key);

// Throws std::invalid_argument when `settings` holds a key the tracker type does not take
// (api::tracker_setting_keys: the list the CRD checks too).
void check_setting_keys(const std::string& tracker, const SettingsMap& settings);

// A hyperparameter value as JSON: numbers and true/false stay what they are, anything else
// becomes a JSON string.
std::string hparam_json(const std::string& value);
// A JSON string literal (quoted and escaped).
std::string json_string(const std::string& s);

}  // namespace accel::tracking

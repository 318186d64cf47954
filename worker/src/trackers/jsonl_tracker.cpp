// JSONL: <run_dir>/metrics.jsonl, one object per log call: {"step":…,"time":…,<values>…}.
// A value whose key is "step" or "time" is written as "value:step" / "value:time" so that it
// cannot hide the entry's own fields. Hyperparameters go to <run_dir>/hparams.json.
#include <string>

#include "accel/tracking/encoding.h"
#include "append_file.h"
#include "backends.h"

namespace accel::tracking {

namespace {

class JsonlTracker final : public Tracker {
 public:
  std::string name() const override { return "jsonl"; }

  void start(const RunInfo& run) override {
    make_directories(run.run_dir);
    std::string hp = "{";
    for (const auto& [k, v] : run.hyperparameters)
      hp += (hp.size() > 1 ? ", " : "") + json_string(k) + ": " + hparam_json(v);
    hp += "}\n";
    write_file_atomically(run.run_dir + "/hparams.json", hp);
    if (!file_.is_open()) file_.open(run.run_dir + "/metrics.jsonl");
  }

  void log_batch(const std::vector<LogEntry>& entries) override {
    std::string lines;
    for (const auto& e : entries) {
      lines += "{\"step\": " + std::to_string(e.step) + ", \"time\": " + json_number(e.wall_time);
      for (const auto& [k, v] : e.values) {
        const std::string key = (k == "step" || k == "time") ? "value:" + k : k;
        lines += ", " + json_string(key) + ": " + json_number(v);
      }
      lines += "}\n";
    }
    file_.append(lines);
  }

  void finish(bool) override { file_.close(); }

 private:
  AppendFile file_;
};

}  // namespace

std::unique_ptr<Tracker> make_jsonl_tracker(const SettingsMap& settings) {
  check_setting_keys("jsonl", settings);
  return std::make_unique<JsonlTracker>();
}

}  // namespace accel::tracking

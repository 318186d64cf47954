// Weights & Biases: an offline run, <dir>/wandb/offline-run-YYYYMMDD_HHMMSS-<id>/run-<id>.wandb,
// in wandb's transaction-log format (WandbLogFramer) holding wandb_internal.Record messages
// (wandb/proto/wandb_internal.proto, checked against wandb 0.31's generated pb2):
//   Record: num=1, history=2, summary=3, run=17, exit=18, header=21
//   HeaderRecord: version_info=1 {producer=1, min_consumer=2}
//   RunRecord: run_id=1, entity=2, project=3, config=4 ConfigRecord{update=1 [ConfigItem{key=1,
//              value_json=16}]}, display_name=8, host=13, start_time=17 {seconds=1, nanos=2}
//   HistoryRecord: item=1 [HistoryItem{key=1, value_json=16}], step=2 {num=1}
//   SummaryRecord: update=1 [SummaryItem{key=1, value_json=16}]
//   RunExitRecord: exit_code=1, runtime=2
// Like wandb's own writer, each history row also carries _step, _runtime and _timestamp.
// `wandb sync <run dir>` uploads it; the API key is never read or written here.
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <ctime>
#include <random>

#include "accel/tracking/encoding.h"
#include "append_file.h"
#include "backends.h"

namespace accel::tracking {

namespace {

std::string random_run_id() {
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(::getpid()));
  std::uniform_int_distribution<int> pick(0, 35);
  std::string id;
  for (int i = 0; i < 8; ++i) id += alphabet[pick(gen)];
  return id;
}

bool valid_run_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

std::string hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ProtoWriter item(const std::string& key, const std::string& value_json) {
  ProtoWriter w;
  w.bytes(1, key).bytes(16, value_json);
  return w;
}

class WandbTracker final : public Tracker {
 public:
  explicit WandbTracker(SettingsMap s) : s_(std::move(s)) {
    if (auto it = s_.find("run_id"); it != s_.end()) run_id_ = it->second;
  }

  std::string name() const override { return "wandb"; }

  void start(const RunInfo& run) override {
    if (run_id_.empty()) run_id_ = random_run_id();
    if (!file_.is_open()) {
      start_time_ = now_seconds();
      const std::time_t t = static_cast<std::time_t>(start_time_);
      std::tm tm{};
      ::localtime_r(&t, &tm);
      char stamp[32];
      std::strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);
      const std::string dir = setting("dir", run.run_dir);
      run_dir_ = dir + "/wandb/offline-run-" + stamp + "-" + run_id_;
      for (const char* sub : {"files", "logs", "tmp"}) make_directories(run_dir_ + "/" + sub);
      file_.open(run_dir_ + "/run-" + run_id_ + ".wandb");
    }
    if (file_.size() > 0) return;  // a previous attempt wrote the opening records

    WandbLogFramer framer;
    int64_t num = 0;
    std::string bytes = WandbLogFramer::file_header();

    ProtoWriter version;
    version.bytes(1, "accel");
    ProtoWriter header;
    header.message(1, version);
    bytes += framer.frame(ProtoWriter().varint(1, ++num).message(21, header).data());

    ProtoWriter config;
    config.message(1, item("_wandb", "{}"));
    for (const auto& [k, v] : run.hyperparameters) config.message(1, item(k, hparam_json(v)));
    ProtoWriter start_time;
    start_time.varint(1, static_cast<uint64_t>(start_time_))
        .varint(2, static_cast<uint64_t>((start_time_ - std::floor(start_time_)) * 1e9));
    ProtoWriter r;
    r.bytes(1, run_id_);
    if (auto e = setting("entity", ""); !e.empty()) r.bytes(2, e);
    r.bytes(3, setting("project", run.project.empty() ? "accel" : run.project));
    r.message(4, config);
    if (!run.run_name.empty()) r.bytes(8, run.run_name);
    if (auto h = hostname(); !h.empty()) r.bytes(13, h);
    r.message(17, start_time);
    bytes += framer.frame(ProtoWriter().varint(1, ++num).message(17, r).data());

    file_.append(bytes);  // all or nothing; on failure the next attempt starts over
    framer_ = framer;
    num_ = num;
  }

  void log_batch(const std::vector<LogEntry>& entries) override {
    WandbLogFramer framer = framer_;  // committed only when the write succeeds
    int64_t num = num_;
    std::string bytes;
    for (const auto& e : entries) {
      ProtoWriter h;
      for (const auto& [k, v] : e.values) h.message(1, item(k, json_number(v)));
      h.message(1, item("_step", std::to_string(e.step)));
      h.message(1, item("_runtime", json_number(std::max(0.0, e.wall_time - start_time_))));
      h.message(1, item("_timestamp", json_number(e.wall_time)));
      h.message(2, ProtoWriter().varint(1, static_cast<uint64_t>(e.step)));
      bytes += framer.frame(ProtoWriter().varint(1, ++num).message(2, h).data());
    }
    file_.append(bytes);
    framer_ = framer;
    num_ = num;
    for (const auto& e : entries) {
      for (const auto& [k, v] : e.values) summary_[k] = v;
      last_step_ = e.step;
      last_time_ = e.wall_time;
    }
  }

  void finish(bool success) override {
    if (!file_.is_open()) return;
    WandbLogFramer framer = framer_;
    int64_t num = num_;
    std::string bytes;
    if (!summary_.empty()) {
      ProtoWriter s;
      for (const auto& [k, v] : summary_) s.message(1, item(k, json_number(v)));
      s.message(1, item("_step", std::to_string(last_step_)));
      s.message(1, item("_runtime", json_number(std::max(0.0, last_time_ - start_time_))));
      s.message(1, item("_timestamp", json_number(last_time_)));
      bytes += framer.frame(ProtoWriter().varint(1, ++num).message(3, s).data());
    }
    ProtoWriter exit;
    exit.varint(1, success ? 0 : 1)
        .varint(2, static_cast<uint64_t>(std::max(0.0, now_seconds() - start_time_)));
    bytes += framer.frame(ProtoWriter().varint(1, ++num).message(18, exit).data());
    file_.append(bytes);
    framer_ = framer;
    num_ = num;
    file_.close();
  }

 private:
  std::string setting(const std::string& key, const std::string& fallback) const {
    auto it = s_.find(key);
    return it == s_.end() || it->second.empty() ? fallback : it->second;
  }

  SettingsMap s_;
  std::string run_id_, run_dir_;
  AppendFile file_;
  WandbLogFramer framer_;
  int64_t num_ = 0;
  double start_time_ = 0;
  std::map<std::string, double> summary_;
  int64_t last_step_ = 0;
  double last_time_ = 0;
};

}  // namespace

std::unique_ptr<Tracker> make_wandb_tracker(const SettingsMap& settings) {
  check_setting_keys("wandb", settings);
  if (auto it = settings.find("mode"); it != settings.end()) {
    const std::string& m = it->second;
    if (m != "offline" && m != "online" && m != "")
      throw std::invalid_argument("tracker wandb: setting 'mode' is '" + m +
                                  "'; expected offline or online (both write an offline run "
                                  "that `wandb sync` uploads)");
  }
  if (auto it = settings.find("run_id"); it != settings.end() && !valid_run_id(it->second))
    throw std::invalid_argument("tracker wandb: setting 'run_id' is '" + it->second +
                                "'; expected 1-64 letters, digits, '_' or '-'");
  return std::make_unique<WandbTracker>(settings);
}

}  // namespace accel::tracking

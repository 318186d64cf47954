// TensorBoard: TFRecord event files written directly (no TensorFlow, no protobuf library).
//
// Event (tensorboard/compat/proto/event.proto): wall_time=1 double, step=2 int64,
// file_version=3 string, summary=5 Summary. Summary.Value: tag=1, simple_value=2 float,
// tensor=8 TensorProto, metadata=9 SummaryMetadata{plugin_data=1{plugin_name=1}}.
// TensorProto: dtype=1 (DT_STRING=7), tensor_shape=2 (empty = scalar), string_val=8.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

#include "accel/tracking/encoding.h"
#include "append_file.h"
#include "backends.h"

namespace accel::tracking {

namespace {

constexpr int kDtString = 7;

std::string hostname() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

std::string file_version_event(double wall_time) {
  ProtoWriter e;
  e.double_(1, wall_time).bytes(3, "brain.Event:2");
  return e.take();
}

std::string scalars_event(const LogEntry& entry) {
  ProtoWriter summary;
  for (const auto& [tag, value] : entry.values) {
    ProtoWriter v;
    v.bytes(1, tag).float_(2, static_cast<float>(value));
    summary.message(1, v);
  }
  ProtoWriter e;
  e.double_(1, entry.wall_time).varint(2, static_cast<uint64_t>(entry.step)).message(5, summary);
  return e.take();
}

std::string markdown_cell(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

// The hyperparameters as a Markdown table in a text-plugin summary (tag "hparams"), which
// TensorBoard's Text dashboard renders.
std::string hparams_event(const RunInfo& run, double wall_time) {
  std::string table = "| hyperparameter | value |\n|---|---|\n";
  for (const auto& [k, v] : run.hyperparameters)
    table += "| " + markdown_cell(k) + " | " + markdown_cell(v) + " |\n";
  ProtoWriter plugin_data;
  plugin_data.bytes(1, "text");
  ProtoWriter metadata;
  metadata.message(1, plugin_data);
  ProtoWriter tensor;
  tensor.varint(1, kDtString).message(2, ProtoWriter()).bytes(8, table);
  ProtoWriter value;
  value.bytes(1, "hparams").message(8, tensor).message(9, metadata);
  ProtoWriter summary;
  summary.message(1, value);
  ProtoWriter e;
  e.double_(1, wall_time).varint(2, 0).message(5, summary);
  return e.take();
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class TensorBoardTracker final : public Tracker {
 public:
  std::string name() const override { return "tensorboard"; }

  void start(const RunInfo& run) override {
    if (!file_.is_open()) {
      static std::atomic<int> counter{0};
      const double now = now_seconds();
      char secs[32];
      std::snprintf(secs, sizeof secs, "%010lld", static_cast<long long>(now));
      const std::string path = run.run_dir + "/events.out.tfevents." + secs + "." + hostname() +
                               "." + std::to_string(::getpid()) + "." +
                               std::to_string(counter.fetch_add(1));
      file_.open(path);
      start_time_ = now;
    }
    if (file_.size() == 0) {
      std::string bytes = tfrecord_frame(file_version_event(start_time_));
      if (!run.hyperparameters.empty()) bytes += tfrecord_frame(hparams_event(run, start_time_));
      file_.append(bytes);
    }
  }

  void log_batch(const std::vector<LogEntry>& entries) override {
    std::string bytes;
    for (const auto& e : entries) bytes += tfrecord_frame(scalars_event(e));
    file_.append(bytes);  // one write per batch: all or nothing
  }

  void finish(bool) override { file_.close(); }

 private:
  AppendFile file_;
  double start_time_ = 0;
};

}  // namespace

std::unique_ptr<Tracker> make_tensorboard_tracker(const SettingsMap& settings) {
  check_setting_keys("tensorboard", settings);
  return std::make_unique<TensorBoardTracker>();
}

}  // namespace accel::tracking

// MLflow: one run on a tracking server, through its REST API.
//   start:  experiments/get-by-name (or experiments/create), runs/create, then the
//           hyperparameters as params through runs/log-batch (<= 100 per request).
//   log:    runs/log-batch with <= 1000 metrics per request; timestamps are the log calls' own.
//   finish: runs/update {status FINISHED|FAILED, end_time}.
// Retries are harmless: start resumes where it stopped (a runs/create whose answer was lost is
// found again through the run's accel.run_key tag), the server ignores a metric it already has
// (same key, value, timestamp, step), and params are re-sent with the same values.
// Keys are made acceptable to MLflow (letters, digits, _ - . / : and space; no empty,
// "." or ".." path segments): anything else becomes '_'. Param values are cut to 6000
// characters (the server's limit).
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "backends.h"
#include "mlflow_rest.h"

namespace accel::tracking {

namespace {

constexpr size_t kMaxMetricsPerRequest = 1000;
constexpr size_t kMaxParamsPerRequest = 100;
constexpr size_t kMaxParamValue = 6000;
constexpr size_t kMaxKey = 250;

std::string value_of(const SettingsMap& env, const char* name) {
  auto it = env.find(name);
  return it == env.end() ? "" : it->second;
}

int64_t to_ms(double seconds) { return static_cast<int64_t>(std::llround(seconds * 1000.0)); }

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string mlflow_key(const std::string& key) {
  std::string clean;
  for (unsigned char c : key) {
    const bool ok = std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':' ||
                    c == ' ';
    clean += ok ? static_cast<char>(c) : '_';
  }
  std::string out;
  size_t i = 0;
  while (i <= clean.size()) {
    size_t j = clean.find('/', i);
    if (j == std::string::npos) j = clean.size();
    std::string seg = clean.substr(i, j - i);
    if (seg == "..") seg = "__";
    if (!seg.empty() && seg != ".") out += (out.empty() ? "" : "/") + seg;
    i = j + 1;
  }
  if (out.empty()) out = "_";
  if (out.size() > kMaxKey) out.resize(kMaxKey);
  return out;
}

namespace {

// 16 hex digits that name this tracker's run until the server has given it an id.
std::string random_key() {
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}

nlohmann::json metric_value(double v) {
  if (std::isnan(v)) return "NaN";  // protobuf's JSON spelling of the non-finite doubles
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

class MlflowTracker final : public Tracker {
 public:
  MlflowTracker(SettingsMap s, std::unique_ptr<MlflowRest> rest)
      : s_(std::move(s)), rest_(std::move(rest)) {}

  std::string name() const override { return "mlflow"; }

  void start(const RunInfo& run) override {
    if (experiment_id_.empty()) experiment_id_ = find_or_create_experiment(run);
    if (run_id_.empty() && create_attempted_) run_id_ = find_run_by_key();
    if (run_id_.empty()) {
      const std::string run_name = setting("run_name", run.run_name);
      nlohmann::json tags = nlohmann::json::array({{{"key", kRunKeyTag}, {"value", run_key_}}});
      nlohmann::json body = {{"experiment_id", experiment_id_}, {"start_time", now_ms()}};
      if (!run_name.empty()) {
        body["run_name"] = run_name;
        tags.push_back({{"key", "mlflow.runName"}, {"value", run_name}});
      }
      body["tags"] = tags;
      create_attempted_ = true;  // a timed-out create may still have made the run
      auto j = rest_->post("runs/create", body);
      run_id_ = j.at("run").at("info").value("run_id", "");
      if (run_id_.empty()) throw TrackerError("mlflow: runs/create answered without a run_id");
      params_.clear();
      for (const auto& [k, v] : run.hyperparameters)
        params_.push_back({{"key", mlflow_key(k)},
                           {"value", v.size() > kMaxParamValue ? v.substr(0, kMaxParamValue) : v}});
    }
    while (params_sent_ < params_.size()) {
      const size_t n = std::min(kMaxParamsPerRequest, params_.size() - params_sent_);
      nlohmann::json chunk = nlohmann::json::array();
      for (size_t i = params_sent_; i < params_sent_ + n; ++i) chunk.push_back(params_[i]);
      rest_->post("runs/log-batch", {{"run_id", run_id_}, {"params", chunk}});
      params_sent_ += n;
    }
  }

  void log_batch(const std::vector<LogEntry>& entries) override {
    nlohmann::json metrics = nlohmann::json::array();
    size_t complete = 0;  // entries wholly in requests that succeeded
    size_t pending_entries = 0;
    auto send = [&] {
      if (metrics.empty()) return;
      try {
        rest_->post("runs/log-batch", {{"run_id", run_id_}, {"metrics", metrics}});
      } catch (const TrackerError& e) {
        throw TrackerError(e.what(), e.permanent(), complete);
      }
      complete += pending_entries;
      pending_entries = 0;
      metrics = nlohmann::json::array();
    };
    for (const auto& e : entries) {
      if (e.values.empty() && metrics.empty()) {  // nothing to send for it
        ++complete;
        continue;
      }
      const int64_t ts = to_ms(e.wall_time);
      if (metrics.size() + e.values.size() > kMaxMetricsPerRequest) send();
      for (const auto& [k, v] : e.values) {
        if (metrics.size() == kMaxMetricsPerRequest) send();  // one entry wider than a request
        metrics.push_back(
            {{"key", mlflow_key(k)}, {"value", metric_value(v)}, {"timestamp", ts}, {"step", e.step}});
      }
      ++pending_entries;
    }
    send();
  }

  void finish(bool success) override {
    rest_->post("runs/update", {{"run_id", run_id_},
                                {"status", success ? "FINISHED" : "FAILED"},
                                {"end_time", now_ms()}});
  }

 private:
  std::string setting(const std::string& key, const std::string& fallback) const {
    auto it = s_.find(key);
    return it == s_.end() || it->second.empty() ? fallback : it->second;
  }

  std::string find_or_create_experiment(const RunInfo& run) {
    const std::string name = setting("experiment_name", run.project.empty() ? "accel" : run.project);
    for (int round = 0; round < 2; ++round) {
      try {
        auto j = rest_->get("experiments/get-by-name", {{"experiment_name", name}});
        return j.at("experiment").value("experiment_id", "");
      } catch (const MlflowError& e) {
        if (e.error_code() != "RESOURCE_DOES_NOT_EXIST" && e.http_status() != 404) throw;
      }
      try {
        auto j = rest_->post("experiments/create", {{"name", name}});
        return j.value("experiment_id", "");
      } catch (const MlflowError& e) {
        if (e.error_code() != "RESOURCE_ALREADY_EXISTS") throw;  // another run made it first
      }
    }
    throw TrackerError("mlflow: experiment '" + name + "' neither found nor created");
  }

  // The run this tracker made on an earlier attempt whose answer was lost, if any.
  std::string find_run_by_key() {
    auto j = rest_->post("runs/search",
                         {{"experiment_ids", {experiment_id_}},
                          {"filter", std::string("tags.`") + kRunKeyTag + "` = '" + run_key_ + "'"},
                          {"max_results", 1}});
    if (!j.contains("runs") || j["runs"].empty()) return "";
    return j["runs"][0].at("info").value("run_id", "");
  }

  static constexpr const char* kRunKeyTag = "accel.run_key";
  SettingsMap s_;
  std::unique_ptr<MlflowRest> rest_;
  const std::string run_key_ = random_key();
  bool create_attempted_ = false;
  std::string experiment_id_, run_id_;
  std::vector<nlohmann::json> params_;
  size_t params_sent_ = 0;
};

}  // namespace

bool mlflow_configured(const SettingsMap& settings, const SettingsMap& env) {
  auto it = settings.find("tracking_uri");
  return (it != settings.end() && !it->second.empty()) || !value_of(env, "MLFLOW_TRACKING_URI").empty();
}

std::unique_ptr<Tracker> make_mlflow_tracker(const SettingsMap& settings, const SettingsMap& env) {
  check_setting_keys("mlflow", settings);
  std::string uri, source;
  if (auto it = settings.find("tracking_uri"); it != settings.end() && !it->second.empty()) {
    uri = it->second;
    source = "the mlflow tracker's setting tracking_uri";
  } else if (!value_of(env, "MLFLOW_TRACKING_URI").empty()) {
    uri = value_of(env, "MLFLOW_TRACKING_URI");
    source = "env MLFLOW_TRACKING_URI";
  } else {
    throw std::invalid_argument(
        "tracker mlflow: no tracking URI: set the tracker's setting tracking_uri or env "
        "MLFLOW_TRACKING_URI to an http(s):// MLflow tracking server");
  }
  int timeout_s = 30;
  if (auto it = settings.find("timeout_seconds"); it != settings.end()) {
    char* end = nullptr;
    const long v = std::strtol(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end != '\0' || v < 1 || v > 3600)
      throw std::invalid_argument("tracker mlflow: setting 'timeout_seconds' is '" + it->second +
                                  "'; expected a whole number of seconds from 1 to 3600");
    timeout_s = static_cast<int>(v);
  }
  MlflowAuth auth;
  auth.token = value_of(env, "MLFLOW_TRACKING_TOKEN");
  auth.username = value_of(env, "MLFLOW_TRACKING_USERNAME");
  auth.password = value_of(env, "MLFLOW_TRACKING_PASSWORD");
  const std::string insecure = value_of(env, "MLFLOW_TRACKING_INSECURE_TLS");
  auth.insecure_tls = insecure == "true" || insecure == "True" || insecure == "TRUE" || insecure == "1";
  auto rest = std::make_unique<MlflowRest>(uri, source, std::chrono::seconds(timeout_s), auth);
  return std::make_unique<MlflowTracker>(settings, std::move(rest));
}

}  // namespace accel::tracking

#include "accel/kube/log.h"

#include <iostream>
#include <mutex>

namespace accel::kube {

namespace {
std::mutex& sink_mu() {
  static std::mutex mu;
  return mu;
}
LogSink& sink() {
  static LogSink s = [](LogLevel level, const std::string& message) {
    if (level == LogLevel::Debug) return;
    static const char* names[] = {"debug", "info", "warning", "error"};
    std::cerr << "accel-kube " << names[static_cast<int>(level)] << ": " << message << "\n";
  };
  return s;
}
}  // namespace

void set_log_sink(LogSink s) {
  std::lock_guard<std::mutex> lock(sink_mu());
  sink() = std::move(s);
}

void log(LogLevel level, const std::string& message) {
  std::lock_guard<std::mutex> lock(sink_mu());
  if (sink()) sink()(level, message);
}

}  // namespace accel::kube

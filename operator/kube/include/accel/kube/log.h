// log.h — where the library's own diagnostics go (reconnects, retries, dropped events).
// Messages never contain tokens, keys or certificates.
#pragma once

#include <functional>
#include <string>

namespace accel::kube {

enum class LogLevel { Debug, Info, Warning, Error };
using LogSink = std::function<void(LogLevel, const std::string&)>;

// Replaces the sink (default: Info and above to stderr as "accel-kube <level>: <msg>").
// Pass nullptr to silence. Thread-safe.
void set_log_sink(LogSink sink);
void log(LogLevel level, const std::string& message);

}  // namespace accel::kube

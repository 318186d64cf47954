// watch.h — one streaming watch: a chunked HTTP response carrying one JSON event per line.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace accel::kube {

struct WatchEvent {
  enum class Type { Added, Modified, Deleted, Bookmark, Error };
  Type type = Type::Added;
  nlohmann::json object;  // the object; for Error a metav1.Status (code 410 = "Expired")
};

const char* to_string(WatchEvent::Type type);

// Parses one line of a watch stream ({"type": ..., "object": ...}). Throws std::runtime_error
// naming the bad type or the JSON error when the line is not a watch event.
WatchEvent parse_watch_event(std::string_view line);

// The HTTP status an ERROR event's Status carries (e.g. 410), or 0 when it has none.
int watch_error_code(const WatchEvent& event);

// An open watch. next() blocks for the next event; cancel() may be called from any thread.
class Watch {
 public:
  virtual ~Watch() = default;
  // The next event, or nullopt when the stream ended: the server closed it (timeoutSeconds
  // elapsed), or cancel() was called. Throws TransportError when the connection broke or the
  // inactivity timeout (above the server's timeoutSeconds) passed without a byte.
  virtual std::optional<WatchEvent> next() = 0;
  // Closes the connection; a blocked next() returns nullopt. Idempotent, thread-safe.
  virtual void cancel() = 0;
};

}  // namespace accel::kube

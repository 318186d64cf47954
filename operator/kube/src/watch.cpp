#include "accel/kube/watch.h"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <cpprest/containerstream.h>

#include "accel/kube/errors.h"
#include "http_watch.h"

namespace accel::kube {

const char* to_string(WatchEvent::Type t) {
  switch (t) {
    case WatchEvent::Type::Added:
      return "ADDED";
    case WatchEvent::Type::Modified:
      return "MODIFIED";
    case WatchEvent::Type::Deleted:
      return "DELETED";
    case WatchEvent::Type::Bookmark:
      return "BOOKMARK";
    case WatchEvent::Type::Error:
      return "ERROR";
  }
  return "?";
}

WatchEvent parse_watch_event(std::string_view line) {
  auto j = nlohmann::json::parse(line.begin(), line.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw std::runtime_error("watch stream: a line is not a JSON object: " +
                             std::string(line.substr(0, 200)));
  if (!j.contains("type") || !j["type"].is_string())
    throw std::runtime_error("watch stream: event has no string 'type'");
  std::string type = j["type"].get<std::string>();
  WatchEvent ev;
  if (type == "ADDED")
    ev.type = WatchEvent::Type::Added;
  else if (type == "MODIFIED")
    ev.type = WatchEvent::Type::Modified;
  else if (type == "DELETED")
    ev.type = WatchEvent::Type::Deleted;
  else if (type == "BOOKMARK")
    ev.type = WatchEvent::Type::Bookmark;
  else if (type == "ERROR")
    ev.type = WatchEvent::Type::Error;
  else
    throw std::runtime_error("watch stream: unknown event type '" + type + "'");
  if (j.contains("object")) ev.object = std::move(j["object"]);
  if (!ev.object.is_object())
    throw std::runtime_error("watch stream: " + type + " event has no object");
  return ev;
}

int watch_error_code(const WatchEvent& e) {
  if (e.type != WatchEvent::Type::Error) return 0;
  auto it = e.object.find("code");
  return it != e.object.end() && it->is_number_integer() ? it->get<int>() : 0;
}

namespace detail {

HttpWatch::HttpWatch(std::unique_ptr<web::http::client::http_client> client,
                     web::http::http_response response, pplx::cancellation_token_source cancel,
                     std::string request)
    : client_(std::move(client)),
      response_(std::move(response)),
      body_(response_.body()),
      cancel_(std::move(cancel)),
      request_(std::move(request)) {}

HttpWatch::~HttpWatch() { cancel(); }

void HttpWatch::cancel() {
  if (!cancelled_.exchange(true)) cancel_.cancel();
}

std::optional<WatchEvent> HttpWatch::next() {
  // One JSON document per line; no Kubernetes object is near this (etcd refuses values over
  // 1.5 MiB), so a longer line is not a watch stream.
  constexpr std::size_t kMaxLine = 64u << 20;
  int empty_lines = 0;
  std::vector<uint8_t> chunk;
  while (!cancelled_.load()) {
    const std::size_t nl = pending_.find('\n', std::max(head_, scanned_));
    if (nl != std::string::npos || (eof_ && head_ < pending_.size())) {
      const std::size_t end = nl != std::string::npos ? nl : pending_.size();
      std::string line = pending_.substr(head_, end - head_);
      head_ = nl != std::string::npos ? nl + 1 : pending_.size();
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
      if (line.empty()) {
        if (++empty_lines > 100) return std::nullopt;
        continue;
      }
      return parse_watch_event(line);
    }
    // Every whole line is handed out: keep only the partial one.
    pending_.erase(0, head_);
    head_ = 0;
    if (eof_) return std::nullopt;
    scanned_ = pending_.size();
    // Whatever has arrived (at least one byte: that waits for the server).
    auto buf = body_.streambuf();
    const std::size_t want = std::clamp<std::size_t>(
        static_cast<std::size_t>(std::max<std::streamsize>(buf.in_avail(), 1)), 1, 1u << 16);
    chunk.resize(want);
    std::size_t got = 0;
    try {
      got = buf.getn(chunk.data(), want).get();
    } catch (const std::exception& e) {
      if (cancelled_.load()) return std::nullopt;
      throw TransportError(request_ + ": watch stream broke: " + e.what());
    }
    if (cancelled_.load()) return std::nullopt;
    if (got == 0) {
      eof_ = true;
      continue;
    }
    pending_.append(reinterpret_cast<const char*>(chunk.data()), got);
    if (pending_.size() > kMaxLine)
      throw TransportError(request_ + ": watch stream: a line longer than 64 MiB");
  }
  return std::nullopt;
}

}  // namespace detail
}  // namespace accel::kube

// http_watch.h — the Watch over a cpprestsdk streaming response (internal).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <cpprest/http_client.h>

#include "accel/kube/watch.h"

namespace accel::kube::detail {

class HttpWatch : public Watch {
 public:
  // Takes the client that made the request (its connection carries the stream), the response
  // whose headers arrived, and the source of the request's cancellation token.
  HttpWatch(std::unique_ptr<web::http::client::http_client> client,
            web::http::http_response response, pplx::cancellation_token_source cancel,
            std::string request);
  ~HttpWatch() override;
  std::optional<WatchEvent> next() override;
  void cancel() override;

 private:
  std::unique_ptr<web::http::client::http_client> client_;  // destroyed last
  web::http::http_response response_;
  concurrency::streams::istream body_;
  pplx::cancellation_token_source cancel_;
  std::string request_;
  std::atomic<bool> cancelled_{false};
  // Bytes read from the body, not yet handed out as events: the stream is read in chunks of
  // whatever has arrived (cpprestsdk's read_line goes through its task machinery once per byte,
  // which cost more CPU than everything else the operator does).
  std::string pending_;
  std::size_t head_ = 0;     // pending_[0, head_) is handed out already
  std::size_t scanned_ = 0;  // pending_[head_, scanned_) holds no newline
  bool eof_ = false;
};

}  // namespace accel::kube::detail

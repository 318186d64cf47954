// errors.h — what a failed Kubernetes API call throws.
//
// Every HTTP error answer becomes an ApiError (or one of its subclasses below, picked by the
// status code) carrying the HTTP code, the Status `reason` ("NotFound", "AlreadyExists",
// "Conflict", "Invalid", "Expired", ...) and the server's own message verbatim (for 422 it
// names the offending field, e.g. `ConfigMap "x" is invalid: metadata.name: Invalid value`).
// what() is "<METHOD> <path>: <code> <reason>: <server message>".
// A call that got no HTTP answer at all (connection refused or reset, TLS verification
// failure, timeout) throws TransportError instead.
#pragma once

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace accel::kube {

enum class ErrorKind {
  BadRequest,       // 400
  Unauthorized,     // 401
  Forbidden,        // 403
  NotFound,         // 404
  Conflict,         // 409 (both "Conflict" and "AlreadyExists")
  Gone,             // 410 (resourceVersion too old / continue token expired)
  Invalid,          // 422
  TooManyRequests,  // 429
  ServerError,      // 5xx
  Other,            // any other non-2xx code
};

// The kind a status code maps to (unit-testable, no I/O).
ErrorKind error_kind_for_status(int http_status);
const char* to_string(ErrorKind kind);

class ApiError : public std::runtime_error {
 public:
  ApiError(int code, std::string reason, std::string server_message, std::string request,
           std::optional<std::chrono::seconds> retry_after = std::nullopt);
  int code() const { return code_; }
  ErrorKind kind() const { return error_kind_for_status(code_); }
  // Status.reason from the body, or the HTTP reason phrase when the body was no Status.
  const std::string& reason() const { return reason_; }
  // Status.message from the body (or the raw body, shortened), exactly as the server sent it.
  const std::string& server_message() const { return server_message_; }
  // "<METHOD> <path>" of the failed call.
  const std::string& request() const { return request_; }
  std::optional<std::chrono::seconds> retry_after() const { return retry_after_; }

 private:
  int code_;
  std::string reason_, server_message_, request_;
  std::optional<std::chrono::seconds> retry_after_;
};

#define ACCEL_KUBE_API_ERROR(Name)          \
  class Name : public ApiError {            \
   public:                                  \
    using ApiError::ApiError;               \
  }
ACCEL_KUBE_API_ERROR(NotFoundError);         // 404
ACCEL_KUBE_API_ERROR(ConflictError);         // 409
ACCEL_KUBE_API_ERROR(GoneError);             // 410
ACCEL_KUBE_API_ERROR(InvalidError);          // 422
ACCEL_KUBE_API_ERROR(TooManyRequestsError);  // 429
ACCEL_KUBE_API_ERROR(ServerError);           // 5xx
#undef ACCEL_KUBE_API_ERROR

// No HTTP answer: connect/TLS/read failure or timeout. The message says which and to where.
class TransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Builds the exception for a non-2xx answer (the subclass for its code), ready to rethrow.
// `body` may be a metav1.Status JSON document or anything else; `retry_after_header` is the
// raw Retry-After header value ("" when absent).
std::exception_ptr make_api_error(int http_status, std::string_view http_reason_phrase,
                                  std::string_view body, const std::string& request,
                                  std::string_view retry_after_header = {});
[[noreturn]] void throw_api_error(int http_status, std::string_view http_reason_phrase,
                                  std::string_view body, const std::string& request,
                                  std::string_view retry_after_header = {});

// Retry-After: delta-seconds ("3") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", turned
// into seconds from `now`, never negative). nullopt when empty or unparsable.
std::optional<std::chrono::seconds> parse_retry_after(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace accel::kube

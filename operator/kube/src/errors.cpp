#include "accel/kube/errors.h"

#include <ctime>

#include <nlohmann/json.hpp>

namespace accel::kube {

ErrorKind error_kind_for_status(int s) {
  switch (s) {
    case 400: return ErrorKind::BadRequest;
    case 401: return ErrorKind::Unauthorized;
    case 403: return ErrorKind::Forbidden;
    case 404: return ErrorKind::NotFound;
    case 409: return ErrorKind::Conflict;
    case 410: return ErrorKind::Gone;
    case 422: return ErrorKind::Invalid;
    case 429: return ErrorKind::TooManyRequests;
    default: return s >= 500 && s <= 599 ? ErrorKind::ServerError : ErrorKind::Other;
  }
}

const char* to_string(ErrorKind k) {
  switch (k) {
    case ErrorKind::BadRequest: return "BadRequest";
    case ErrorKind::Unauthorized: return "Unauthorized";
    case ErrorKind::Forbidden: return "Forbidden";
    case ErrorKind::NotFound: return "NotFound";
    case ErrorKind::Conflict: return "Conflict";
    case ErrorKind::Gone: return "Gone";
    case ErrorKind::Invalid: return "Invalid";
    case ErrorKind::TooManyRequests: return "TooManyRequests";
    case ErrorKind::ServerError: return "ServerError";
    case ErrorKind::Other: return "Other";
  }
  return "Other";
}

namespace {
std::string describe(int code, const std::string& reason, const std::string& message,
                     const std::string& request) {
  std::string s = request + ": " + std::to_string(code);
  if (!reason.empty()) s += " " + reason;
  if (!message.empty()) s += ": " + message;
  return s;
}
}  // namespace

ApiError::ApiError(int code, std::string reason, std::string server_message, std::string request,
                   std::optional<std::chrono::seconds> retry_after)
    : std::runtime_error(describe(code, reason, server_message, request)),
      code_(code),
      reason_(std::move(reason)),
      server_message_(std::move(server_message)),
      request_(std::move(request)),
      retry_after_(retry_after) {}

std::exception_ptr make_api_error(int status, std::string_view phrase, std::string_view body,
                                  const std::string& request, std::string_view retry_after_header) {
  std::string reason(phrase), message;
  auto parsed = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object() && parsed.value("kind", "") == "Status") {
    if (parsed.contains("reason") && parsed["reason"].is_string())
      reason = parsed["reason"].get<std::string>();
    if (parsed.contains("message") && parsed["message"].is_string())
      message = parsed["message"].get<std::string>();
  } else {
    message = std::string(body.substr(0, 500));
    while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
      message.pop_back();
  }
  auto retry = parse_retry_after(retry_after_header);
  switch (error_kind_for_status(status)) {
    case ErrorKind::NotFound:
      return std::make_exception_ptr(NotFoundError(status, reason, message, request, retry));
    case ErrorKind::Conflict:
      return std::make_exception_ptr(ConflictError(status, reason, message, request, retry));
    case ErrorKind::Gone:
      return std::make_exception_ptr(GoneError(status, reason, message, request, retry));
    case ErrorKind::Invalid:
      return std::make_exception_ptr(InvalidError(status, reason, message, request, retry));
    case ErrorKind::TooManyRequests:
      return std::make_exception_ptr(TooManyRequestsError(status, reason, message, request, retry));
    case ErrorKind::ServerError:
      return std::make_exception_ptr(ServerError(status, reason, message, request, retry));
    default:
      return std::make_exception_ptr(ApiError(status, reason, message, request, retry));
  }
}

void throw_api_error(int status, std::string_view phrase, std::string_view body,
                     const std::string& request, std::string_view retry_after_header) {
  std::rethrow_exception(make_api_error(status, phrase, body, request, retry_after_header));
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view v,
                                                      std::chrono::system_clock::time_point now) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  bool digits = true;
  for (char c : v) digits = digits && c >= '0' && c <= '9';
  if (digits) {
    if (v.size() > 9) return std::nullopt;  // absurd; treat as unparsable
    return std::chrono::seconds(std::stoll(std::string(v)));
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::tm tm{};
  std::string s(v);
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto delta = std::chrono::duration_cast<std::chrono::seconds>(at - now);
  return delta.count() < 0 ? std::chrono::seconds(0) : delta;
}

}  // namespace accel::kube

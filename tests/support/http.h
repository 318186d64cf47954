// http.h — plain HTTP GETs through the real curl, for the endpoints the tested processes serve.
#pragma once

#include <string>

namespace accel::testing {

// GET `url` (5 s at most). Without `code`: the body of an answer below 400, else "" (curl -sf).
// With `code`: the body of any answer, and its HTTP status in *code (0 when nothing answered).
std::string http_get(const std::string& url, int* code = nullptr);

}  // namespace accel::testing

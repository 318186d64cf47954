#include "base64.h"

#include <algorithm>
#include <stdexcept>

#include <cpprest/asyncrt_utils.h>

namespace accel::kube::detail {

std::string base64_decode(std::string_view text) {
  // kubectl (Go's encoding/base64) skips line breaks inside the data; so do we.
  std::string compact(text);
  compact.erase(std::remove_if(compact.begin(), compact.end(),
                               [](char c) { return c == '\n' || c == '\r'; }),
                compact.end());
  std::vector<unsigned char> bytes;
  try {
    bytes = utility::conversions::from_base64(compact);
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("not base64: ") + e.what());
  }
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace accel::kube::detail

// base64.h — decoding kubeconfig *-data fields (cpprestsdk decodes; this adapts it to text).
#pragma once

#include <string>
#include <string_view>

namespace accel::kube::detail {

// Standard alphabet with padding, line breaks ignored (as kubectl reads these fields). Throws
// std::invalid_argument saying what is wrong with anything else.
std::string base64_decode(std::string_view text);

}  // namespace accel::kube::detail

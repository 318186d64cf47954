// base64.h — decoding kubeconfig *-data fields.
#pragma once

#include <string>
#include <string_view>

namespace accel::kube::detail {

// Standard alphabet, padding optional, whitespace ignored. Throws std::invalid_argument
// (with the offset) on any other character.
std::string base64_decode(std::string_view text);

}  // namespace accel::kube::detail

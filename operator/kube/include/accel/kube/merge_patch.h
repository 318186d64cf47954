// merge_patch.h — the JSON merge patch (RFC 7386, application/merge-patch+json) that turns one
// document into another.
#pragma once

#include <nlohmann/json.hpp>

namespace accel::kube {

// The smallest merge patch P with merge_patch(from, P) == to: objects are compared member by
// member (a member `to` lacks becomes null, i.e. removed; an equal one is left out), anything
// else that differs is replaced whole (arrays included, as RFC 7386 says). An empty object when
// nothing differs. A null inside `to` reads as "absent", as merge patches cannot say otherwise.
nlohmann::json merge_patch_between(const nlohmann::json& from, const nlohmann::json& to);

}  // namespace accel::kube

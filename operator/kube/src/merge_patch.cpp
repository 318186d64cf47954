#include "accel/kube/merge_patch.h"

namespace accel::kube {

nlohmann::json merge_patch_between(const nlohmann::json& from, const nlohmann::json& to) {
  if (!from.is_object() || !to.is_object()) return to;
  nlohmann::json patch = nlohmann::json::object();
  for (auto it = from.begin(); it != from.end(); ++it)
    if (!to.contains(it.key()) && !it.value().is_null()) patch[it.key()] = nullptr;
  for (auto it = to.begin(); it != to.end(); ++it) {
    auto old = from.find(it.key());
    if (it.value().is_null()) {
      if (old != from.end() && !old->is_null()) patch[it.key()] = nullptr;
      continue;
    }
    if (old == from.end()) {
      patch[it.key()] = it.value();
    } else if (*old != it.value()) {
      patch[it.key()] = old->is_object() && it.value().is_object()
                            ? merge_patch_between(*old, it.value())
                            : it.value();
    }
  }
  return patch;
}

}  // namespace accel::kube

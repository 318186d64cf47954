// conditions.cpp — see conditions.h.
#include "accel/controller/conditions.h"

namespace accel::op {

const api::Condition* find_condition(const std::vector<api::Condition>& conditions,
                                     const std::string& type) {
  for (const auto& c : conditions)
    if (c.type == type) return &c;
  return nullptr;
}

api::Condition* find_condition(std::vector<api::Condition>& conditions, const std::string& type) {
  for (auto& c : conditions)
    if (c.type == type) return &c;
  return nullptr;
}

bool condition_is_true(const std::vector<api::Condition>& conditions, const std::string& type) {
  const api::Condition* c = find_condition(conditions, type);
  return c && c->status == "True";
}

void set_condition(std::vector<api::Condition>& conditions, const std::string& type, bool status,
                   const std::string& reason, const std::string& message, Time now) {
  const std::string value = status ? "True" : "False";
  api::Condition* c = find_condition(conditions, type);
  if (!c) {
    conditions.push_back({type, value, reason, message, format_rfc3339(now)});
    return;
  }
  if (c->status != value || c->lastTransitionTime.empty())
    c->lastTransitionTime = format_rfc3339(now);
  c->status = value;
  c->reason = reason;
  c->message = message;
}

void clear_condition(std::vector<api::Condition>& conditions, const std::string& type,
                     const std::string& reason, const std::string& message, Time now) {
  if (find_condition(conditions, type))
    set_condition(conditions, type, false, reason, message, now);
}

}  // namespace accel::op

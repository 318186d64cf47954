// observed.cpp — core/v1 Pod JSON -> ObservedPod. See observed.h.
#include "accel/controller/observed.h"

#include <cctype>
#include <cmath>

#include "accel/controller/naming.h"

namespace accel::op {
namespace {

using json = nlohmann::json;

std::string str(const json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& child(const json& obj, const char* key) {
  static const json null;
  if (!obj.is_object()) return null;
  auto it = obj.find(key);
  return it != obj.end() ? *it : null;
}

std::optional<Time> time_at(const json& obj, const char* key) {
  return parse_rfc3339(str(obj, key));
}

std::int64_t label_number(const json& labels, const char* key) {
  const std::string v = str(labels, key);
  if (v.empty() || v.size() > 18) return -1;
  for (char c : v)
    if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
  return std::stoll(v);
}

}  // namespace

std::string to_string(PodPhase p) {
  switch (p) {
    case PodPhase::Pending:
      return "Pending";
    case PodPhase::Running:
      return "Running";
    case PodPhase::Succeeded:
      return "Succeeded";
    case PodPhase::Failed:
      return "Failed";
    case PodPhase::Unknown:
      return "Unknown";
  }
  return "Unknown";
}

PodPhase parse_pod_phase(const std::string& s) {
  if (s == "Pending") return PodPhase::Pending;
  if (s == "Running") return PodPhase::Running;
  if (s == "Succeeded") return PodPhase::Succeeded;
  if (s == "Failed") return PodPhase::Failed;
  return PodPhase::Unknown;
}

const PodCondition* ObservedPod::true_condition(const std::string& type) const {
  for (const auto& c : conditions)
    if (c.type == type && c.status == "True") return &c;
  return nullptr;
}

ObservedPod observed_pod_from_json(const json& pod) {
  ObservedPod p;
  const json& meta = child(pod, "metadata");
  const json& status = child(pod, "status");
  p.name = str(meta, "name");
  p.attempt = label_number(child(meta, "labels"), kLabelAttempt);
  p.node_rank = label_number(child(meta, "labels"), kLabelNodeRank);
  p.created = time_at(meta, "creationTimestamp");
  p.deletion_timestamp = time_at(meta, "deletionTimestamp");
  // A pod the API server has just accepted has no status.phase yet: it is Pending.
  const std::string phase = str(status, "phase");
  p.phase = phase.empty() ? PodPhase::Pending : parse_pod_phase(phase);
  p.reason = str(status, "reason");
  p.message = str(status, "message");
  const json& gates = child(child(pod, "spec"), "schedulingGates");
  if (gates.is_array())
    for (const auto& g : gates)
      if (const std::string name = str(g, "name"); !name.empty()) p.scheduling_gates.push_back(name);
  const json& conditions = child(status, "conditions");
  if (conditions.is_array())
    for (const auto& c : conditions)
      p.conditions.push_back(
          {str(c, "type"), str(c, "status"), str(c, "reason"), str(c, "message")});
  const json& containers = child(status, "containerStatuses");
  if (containers.is_array())
    for (const auto& c : containers) {
      if (str(c, "name") != kWorkerContainer) continue;
      const json& t = child(child(c, "state"), "terminated");
      if (!t.is_object()) continue;
      Termination term;
      const json& code = child(t, "exitCode");
      term.exit_code = code.is_number_integer() ? code.get<int>() : -1;
      term.reason = str(t, "reason");
      term.message = str(t, "message");
      term.finished_at = time_at(t, "finishedAt");
      p.terminated = term;
    }
  return p;
}

std::optional<api::Progress> progress_from_json(const json& doc) {
  if (!doc.is_object() || !child(doc, "step").is_number_integer()) return std::nullopt;
  api::Progress p;
  p.step = doc["step"].get<std::int64_t>();
  if (child(doc, "totalSteps").is_number_integer())
    p.totalSteps = doc["totalSteps"].get<std::int64_t>();
  if (child(doc, "samplesPerSecond").is_number())
    p.samplesPerSecond = doc["samplesPerSecond"].get<double>();
  if (child(doc, "etaSeconds").is_number()) p.etaSeconds = doc["etaSeconds"].get<double>();
  const json& last = child(doc, "lastStepTime");
  // Seconds since the epoch, before 2262-01-01 (9214646400): the range a Time holds (int64
  // nanoseconds) and parse_rfc3339 accepts; converting a larger value is undefined behaviour
  // (found by fuzzing: year 2836 overflowed the nanoseconds).
  if (last.is_number() && last.get<double>() > 0 && last.get<double>() < 9214646400.0) {
    const auto ms = static_cast<std::int64_t>(last.get<double>() * 1000.0);
    p.lastStepTime = format_rfc3339(Time(std::chrono::milliseconds(ms)));
  } else if (last.is_string() && parse_rfc3339(last.get<std::string>())) {
    p.lastStepTime = last.get<std::string>();
  }
  if (child(doc, "loss").is_number() && std::isfinite(doc["loss"].get<double>()))
    p.loss = doc["loss"].get<double>();
  // Only the values the schema allows reach the status (anything else would fail its write).
  if (const json& a = child(doc, "activity"); a.is_string())
    for (const char* known : {"training", "checkpointing", "evaluating"})
      if (a.get<std::string>() == known) p.activity = known;
  return p;
}

}  // namespace accel::op

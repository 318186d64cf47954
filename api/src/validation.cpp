// validation.cpp — validate(): the field table's bounds, enums and required fields, checked
// generically over the job's JSON form, then the cross-field rules that the CRD states as CEL
// (same messages, from field_table.cpp). Wording follows kube-apiserver's field errors.
#include <algorithm>
#include <regex>
#include <sstream>

#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"
#include "schema_walk.h"

namespace accel::api {
namespace {

using json = nlohmann::json;

std::string shown(const json& v) { return v.dump(); }  // strings quoted, numbers bare

std::string number_text(double d) {
  std::ostringstream os;
  os << d;
  return os.str();
}

void check_object(const json& obj, const std::string& schema, const std::string& path,
                  std::vector<FieldError>& errors) {
  for (const FieldSpec* f : child_fields(schema)) {
    const std::string key = last_segment(f->path);
    const std::string p = path.empty() ? key : path + "." + key;
    auto it = obj.find(key);
    bool missing = it == obj.end() || it->is_null() ||
                   (f->required && it->is_string() && it->get<std::string>().empty());
    if (missing) {
      if (f->required) errors.push_back({p, "Required value"});
      continue;
    }
    const json& v = *it;
    if (!f->enum_values.empty() && v.is_string()) {
      bool ok = false;
      std::string supported;
      for (const auto& e : f->enum_values) {
        ok = ok || e == v.get<std::string>();
        supported += (supported.empty() ? "\"" : ", \"") + e + "\"";
      }
      if (!ok) errors.push_back({p, "Unsupported value: " + shown(v) + ": supported values: " + supported});
    }
    if (v.is_number()) {
      double d = v.get<double>();
      if (f->minimum && d < *f->minimum)
        errors.push_back({p, "Invalid value: " + shown(v) + ": " + p +
                                 " in body should be greater than or equal to " + number_text(*f->minimum)});
      if (f->maximum && d > *f->maximum)
        errors.push_back({p, "Invalid value: " + shown(v) + ": " + p +
                                 " in body should be less than or equal to " + number_text(*f->maximum)});
    }
    const bool map = f->type == FieldType::StringMap || f->type == FieldType::QuantityMap;
    auto too_long = [&](const json& s, const std::string& at) {
      if (f->max_length && s.is_string() && static_cast<long>(s.get<std::string>().size()) > *f->max_length)
        errors.push_back({at, "Too long: may not be more than " + std::to_string(*f->max_length) + " bytes"});
    };
    if (map && v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) too_long(*it, p + "." + it.key());
    } else {
      too_long(v, p);
    }
    // A map's entries and a list's items count against maxItems alike.
    if (f->max_items && ((map && v.is_object()) || v.is_array()) &&
        static_cast<long>(v.size()) > *f->max_items)
      errors.push_back({p, "Too many: " + std::to_string(v.size()) + ": must have at most " +
                               std::to_string(*f->max_items) + " items"});
    if (f->type == FieldType::Object && v.is_object()) check_object(v, f->path, p, errors);
    if (f->type == FieldType::ObjectList && v.is_array())
      for (std::size_t i = 0; i < v.size(); ++i)
        if (v[i].is_object()) check_object(v[i], f->path + "[]", p + "[" + std::to_string(i) + "]", errors);
  }
}

FieldError rule_error(const std::string& rule_id, const std::string& path, const std::string& value) {
  return {path, "Invalid value: " + value + ": " + cel_rule(rule_id).message};
}
FieldError rule_required(const std::string& rule_id, const std::string& path) {
  return {path, "Required value: " + cel_rule(rule_id).message};
}
std::string quoted(const std::string& s) { return json(s).dump(); }

void check_metadata(const ObjectMeta& m, std::vector<FieldError>& errors) {
  if (m.name.empty()) {
    errors.push_back({"metadata.name", "Required value: name or generateName is required"});
    return;
  }
  if (m.name.size() > kMaxJobNameLength)
    errors.push_back(rule_error("name-length", "metadata.name", quoted(m.name)));
  static const std::regex kDns1035("[a-z]([-a-z0-9]*[a-z0-9])?");
  if (!std::regex_match(m.name, kDns1035))
    errors.push_back(rule_error("name-dns1035", "metadata.name", quoted(m.name)));
}

bool has_volume(const AccelJobSpec& s, const std::string& name) {
  if (!s.template_.volumes.is_array()) return false;
  for (const auto& v : s.template_.volumes)
    if (v.is_object() && v.value("name", json()) == json(name)) return true;
  return false;
}

// The program, fields that name another field, and the run name's shape.
void check_references(const AccelJobSpec& s, std::vector<FieldError>& errors) {
  if (s.command.empty() && s.args.empty())
    errors.push_back(rule_required("program-required", "spec.command"));
  if (s.checkpoint.volume && !s.checkpoint.volume->empty() && !has_volume(s, *s.checkpoint.volume))
    errors.push_back(rule_error("checkpoint-volume-declared", "spec.checkpoint.volume",
                                quoted(*s.checkpoint.volume)));
  if (s.template_.volumeMounts.is_array())
    for (const auto& m : s.template_.volumeMounts)
      if (m.is_object() && m.value("name", json()).is_string() &&
          !has_volume(s, m["name"].get<std::string>())) {
        errors.push_back(rule_error("volume-mounts-declared", "spec.template.volumeMounts",
                                    quoted(m["name"].get<std::string>())));
        break;
      }
  if (s.metrics.port && *s.metrics.port > 0 && *s.metrics.port <= 65535 && s.procsPerNode &&
      *s.metrics.port + *s.procsPerNode - 1 > 65535)
    errors.push_back(rule_error("metrics-ports-fit", "spec.metrics.port", std::to_string(*s.metrics.port)));
  if (s.logging.runNamePrefix && s.logging.runNamePrefix->find('/') != std::string::npos)
    errors.push_back(rule_error("run-name-prefix-one-segment", "spec.logging.runNamePrefix",
                                quoted(*s.logging.runNamePrefix)));
}

bool whole_number_in(const std::string& v, long lo, long hi) {
  if (v.empty() || v.size() > 4) return false;
  for (char c : v)
    if (c < '0' || c > '9') return false;
  const long n = std::stol(v);
  return n >= lo && n <= hi;
}

// Each tracker's settings as the worker checks them at start-up (worker/src/trackers).
void check_trackers(const AccelJobSpec& s, std::vector<FieldError>& errors) {
  bool env_uri = false;
  for (const auto& e : s.env) env_uri = env_uri || e.name == "MLFLOW_TRACKING_URI";
  for (std::size_t i = 0; i < s.trackers.size(); ++i) {
    const Tracker& t = s.trackers[i];
    const std::string p = "spec.trackers[" + std::to_string(i) + "]";
    const auto& known = tracker_setting_keys(t.type);
    for (const auto& [key, _] : t.settings)
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        errors.push_back(rule_error("tracker-settings-known", p + ".settings", quoted(key)));
        break;
      }
    auto setting = [&](const char* key) -> const std::string* {
      auto it = t.settings.find(key);
      return it == t.settings.end() ? nullptr : &it->second;
    };
    if (t.type == TrackerType::MLflow) {
      const std::string* uri = setting("tracking_uri");
      if ((!uri || uri->empty()) && !env_uri)
        errors.push_back(rule_required("mlflow-needs-tracking-uri", "spec.trackers"));
      if (uri && !uri->empty() && uri->rfind("http://", 0) != 0 && uri->rfind("https://", 0) != 0)
        errors.push_back(rule_error("mlflow-tracking-uri-http", p + ".settings", quoted(*uri)));
      if (const std::string* v = setting("timeout_seconds"); v && !whole_number_in(*v, 1, 3600))
        errors.push_back(rule_error("mlflow-timeout-seconds", p + ".settings", quoted(*v)));
    }
    if (t.type == TrackerType::WandB) {
      if (const std::string* m = setting("mode"); m && *m != "offline" && *m != "online" && !m->empty())
        errors.push_back(rule_error("wandb-mode", p + ".settings", quoted(*m)));
      static const std::regex kRunId("[A-Za-z0-9_-]{1,64}");
      if (const std::string* r = setting("run_id"); r && !std::regex_match(*r, kRunId))
        errors.push_back(rule_error("wandb-run-id", p + ".settings", quoted(*r)));
    }
  }
}

void check_cross_field(const AccelJobSpec& s, std::vector<FieldError>& errors) {
  const std::int64_t gpus = s.gpusPerNode.value_or(0);
  if (s.processGroup.backend == Backend::Nccl && gpus <= 0)
    errors.push_back(rule_error("nccl-needs-gpus", "spec.processGroup.backend", "\"nccl\""));
  if (s.precision == Precision::Fp16 && gpus <= 0)
    errors.push_back(rule_error("fp16-needs-gpus", "spec.precision", "\"fp16\""));
  if (gpus > 0 && s.procsPerNode && *s.procsPerNode != gpus)
    errors.push_back(rule_error("procs-match-gpus", "spec.procsPerNode", std::to_string(*s.procsPerNode)));
  const auto& b = s.runPolicy.backoff;
  if (b.initialSeconds && b.maxSeconds && *b.maxSeconds < *b.initialSeconds)
    errors.push_back(rule_error("backoff-max-ge-initial", "spec.runPolicy.backoff.maxSeconds",
                                std::to_string(*b.maxSeconds)));
  // spec.trackers is a list-type map keyed by type in the CRD: the API server's wording.
  for (std::size_t i = 0; i < s.trackers.size(); ++i)
    for (std::size_t k = 0; k < i; ++k)
      if (s.trackers[k].type == s.trackers[i].type) {
        errors.push_back({"spec.trackers[" + std::to_string(i) + "]",
                          "Duplicate value: {\"type\":" + quoted(to_string(s.trackers[i].type)) + "}"});
        break;
      }
  check_references(s, errors);
  check_trackers(s, errors);
  for (std::size_t i = 0; i < s.env.size(); ++i) {
    const std::string p = "spec.env[" + std::to_string(i) + "]";
    if (is_reserved_env_name(s.env[i].name))
      errors.push_back(rule_error("env-reserved", p + ".name", quoted(s.env[i].name)));
    if (s.env[i].value && s.env[i].valueFrom)
      errors.push_back(rule_error("env-one-source", p + ".valueFrom", "\"\""));
  }
}

// The value at a table path without list items ("spec.nodes"), or null.
const json* at(const json& root, const std::string& path) {
  const json* cur = &root;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto dot = path.find('.', start);
    std::string key = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object() || !cur->contains(key)) return nullptr;
    cur = &(*cur)[key];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

}  // namespace

std::vector<FieldError> validate(const AccelJob& job) {
  AccelJob copy;
  if (!job.defaulted) {
    copy = job;
    apply_defaults(copy);
  }
  const AccelJob& defaulted = job.defaulted ? job : copy;
  std::vector<FieldError> errors;
  check_metadata(defaulted.metadata, errors);
  json root = json::object();
  root["spec"] = defaulted.spec;
  check_object(root, "", "", errors);  // root holds only spec: status is the operator's
  check_cross_field(defaulted.spec, errors);
  return errors;
}

std::vector<FieldError> validate_update(const AccelJob& old_job, const AccelJob& new_job) {
  AccelJob a = old_job, b = new_job;  // compared as JSON, defaulted like the apiserver stores them
  apply_defaults(a);
  apply_defaults(b);
  json ja = json::object(), jb = json::object();
  ja["spec"] = a.spec;
  jb["spec"] = b.spec;
  std::vector<FieldError> errors;
  for (const auto& f : acceljob_fields()) {
    if (!f.immutable || f.path.find("[]") != std::string::npos) continue;
    const json* va = at(ja, f.path);
    const json* vb = at(jb, f.path);
    bool same = (va == nullptr && vb == nullptr) || (va && vb && *va == *vb);
    if (!same) errors.push_back({f.path, "Invalid value: " + (vb ? vb->dump() : std::string("null")) +
                                             ": field is immutable"});
  }
  return errors;
}

void validate_or_throw(const AccelJob& job) {
  std::vector<FieldError> errors = validate(job);
  if (errors.empty()) return;
  std::string what = std::string("The ") + kKind + " \"" + job.metadata.name + "\" is invalid: ";
  if (errors.size() == 1) {
    what += errors.front().to_string();
  } else {
    for (const auto& e : errors) what += "\n* " + e.to_string();
  }
  throw ValidationError(what, std::move(errors));
}

}  // namespace accel::api

// json_codec.cpp — AccelJob <-> JSON. Reading is strict (kubectl's strict decoding): wrong
// types and unknown fields throw SpecError naming the field path. Writing leaves out unset
// optionals and empty collections, so parse -> write keeps what the user wrote.
//
// Every type's fields are listed once, in a visit(V&, T&) function, and walked by two visitors:
// Obj (reading, above) and Out (writing, below). A field is added to the API by adding it to
// its struct, the field table (field_table.cpp: schema, defaults, CRD) and its visit function;
// round_trip_test checks that the visitors and the field table name the same paths.
#include <algorithm>
#include <cmath>
#include <set>

#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"

namespace accel::api {
namespace {

using json = nlohmann::json;

std::string show(const json& v) {
  if (v.is_string()) return "'" + v.get<std::string>() + "'";
  return v.dump();
}

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return "a string";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a number";
    case json::value_t::array: return "a list";
    case json::value_t::object: return "an object";
    default: return "null";
  }
}

[[noreturn]] void type_error(const std::string& path, const char* expected, const json& v) {
  std::string msg = path + ": expected " + expected + ", got " + show(v);
  if (v.is_boolean() && std::string(expected) == "a string")
    msg += " (unquoted yes/no/on/off/true/false are YAML booleans: quote the value)";
  else if (v.is_object() || v.is_array())
    msg = path + ": expected " + expected + ", got " + type_name(v);
  throw SpecError(path, msg);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// Reads one JSON object field by field; finish() rejects keys nobody asked for (strict mode).
class Obj {
 public:
  Obj(const json& j, std::string path, std::string schema, bool strict)
      : j_(j), path_(std::move(path)), schema_(std::move(schema)), strict_(strict) {
    if (!j_.is_object()) type_error(path_, "an object", j_);
  }

  std::string child(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  std::string child_schema(const std::string& key) const {
    return schema_.empty() ? key : schema_ + "." + key;
  }
  // The value of key, or nullptr when absent or null (null means unset, as in Kubernetes).
  const json* get(const std::string& key) {
    known_.insert(key);
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  void str(const std::string& key, std::string& out) {
    if (auto* v = get(key)) out = as_string(*v, child(key));
  }
  void str(const std::string& key, std::optional<std::string>& out) {
    if (auto* v = get(key)) out = as_string(*v, child(key));
  }
  void integer(const std::string& key, std::int64_t& out) {
    if (auto* v = get(key)) out = as_int(*v, child(key));
  }
  void integer(const std::string& key, std::optional<std::int64_t>& out) {
    if (auto* v = get(key)) out = as_int(*v, child(key));
  }
  void number(const std::string& key, double& out) {
    if (auto* v = get(key)) out = as_number(*v, child(key));
  }
  void number(const std::string& key, std::optional<double>& out) {
    if (auto* v = get(key)) out = as_number(*v, child(key));
  }
  void boolean(const std::string& key, std::optional<bool>& out) {
    if (auto* v = get(key)) {
      if (!v->is_boolean()) type_error(child(key), "a boolean (true or false)", *v);
      out = v->get<bool>();
    }
  }
  void strings(const std::string& key, std::vector<std::string>& out) {
    if (auto* v = get(key)) {
      if (!v->is_array()) type_error(child(key), "a list of strings", *v);
      out.clear();
      for (std::size_t i = 0; i < v->size(); ++i)
        out.push_back(as_string((*v)[i], child(key) + "[" + std::to_string(i) + "]"));
    }
  }
  // A list whose absence and emptiness differ (an empty list written is kept as empty).
  void strings(const std::string& key, std::optional<std::vector<std::string>>& out) {
    if (get(key)) strings(key, out.emplace());
  }
  // quantities: values may be integers or strings ("4", 16Gi) and are kept as text.
  void string_map(const std::string& key, std::map<std::string, std::string>& out,
                  bool quantities) {
    if (auto* v = get(key)) {
      if (!v->is_object()) type_error(child(key), "a map of strings", *v);
      out.clear();
      for (auto it = v->begin(); it != v->end(); ++it) {
        std::string p = child(key) + "." + it.key();
        if (quantities && it->is_number_integer()) out[it.key()] = std::to_string(it->get<std::int64_t>());
        else if (quantities && it->is_number()) out[it.key()] = it->dump();
        else out[it.key()] = as_string(*it, p);
      }
    }
  }
  void raw_list(const std::string& key, json& out) {
    if (auto* v = get(key)) {
      if (!v->is_array()) type_error(child(key), "a list", *v);
      for (std::size_t i = 0; i < v->size(); ++i)
        if (!(*v)[i].is_object())
          type_error(child(key) + "[" + std::to_string(i) + "]", "an object", (*v)[i]);
      out = *v;
    }
  }
  // An enum field: the value must be one of the table's spellings (kube-apiserver's wording).
  template <typename E>
  void enumeration(const std::string& key, std::optional<E>& out,
                   std::optional<E> (*parse)(const std::string&)) {
    if (auto* v = get(key)) out = as_enum(*v, child(key), child_schema(key), parse);
  }
  template <typename E>
  E as_enum(const json& v, const std::string& path, const std::string& schema,
            std::optional<E> (*parse)(const std::string&)) {
    std::string s = as_string(v, path);
    if (auto e = parse(s)) return *e;
    std::string supported;
    for (const auto& name : field(schema).enum_values)
      supported += (supported.empty() ? "\"" : ", \"") + name + "\"";
    throw SpecError(path, path + ": Unsupported value: \"" + s + "\": supported values: " + supported);
  }

  // --- the visit(V&, T&) vocabulary (shared with Out) ---
  void required(const std::string& key, std::string& out) { str(key, out); }
  void nonzero(const std::string& key, std::int64_t& out) { integer(key, out); }
  void always(const std::string& key, std::int64_t& out) { integer(key, out); }
  void always(const std::string& key, double& out) { number(key, out); }
  void always(const std::string& key, bool& out) {
    std::optional<bool> v;
    boolean(key, v);
    if (v) out = *v;
  }
  void quantities(const std::string& key, std::map<std::string, std::string>& out) { string_map(key, out, true); }
  void labels(const std::string& key, std::map<std::string, std::string>& out) { string_map(key, out, false); }
  template <typename E>
  void required_enum(const std::string& key, E& out, std::optional<E> (*parse)(const std::string&)) {
    std::optional<E> v;
    enumeration(key, v, parse);
    if (!v) throw SpecError(child(key), child(key) + ": Required value");
    out = *v;
  }
  template <typename T>
  void nested(const std::string& key, T& out);
  template <typename T>
  void nested(const std::string& key, std::optional<T>& out);
  template <typename T>
  void items(const std::string& key, std::vector<T>& out);

  // Calls read(Obj&) for an object child when present.
  template <typename Fn>
  bool object(const std::string& key, Fn read) {
    if (auto* v = get(key)) {
      Obj o(*v, child(key), child_schema(key), strict_);
      read(o);
      o.finish();
      return true;
    }
    return false;
  }
  // Calls read(Obj&, item) for every item of a list of objects.
  template <typename Item, typename Fn>
  void list(const std::string& key, std::vector<Item>& out, Fn read) {
    if (auto* v = get(key)) {
      if (!v->is_array()) type_error(child(key), "a list", *v);
      out.clear();
      for (std::size_t i = 0; i < v->size(); ++i) {
        Obj o((*v)[i], child(key) + "[" + std::to_string(i) + "]", child_schema(key) + "[]", strict_);
        Item item{};
        read(o, item);
        o.finish();
        out.push_back(std::move(item));
      }
    }
  }

  void finish() const {
    if (!strict_) return;
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (known_.count(it.key())) continue;
      // kube-apiserver's strict decoding wording, plus a suggestion for a near miss.
      std::string p = child(it.key());
      std::string msg = "strict decoding error: unknown field \"" + p + "\"";
      std::string best;
      std::size_t best_d = 3;
      for (const auto& k : known_) {
        std::size_t d = edit_distance(it.key(), k);
        if (d < best_d) best_d = d, best = k;
      }
      if (!best.empty()) msg += " (did you mean \"" + child(best) + "\"?)";
      throw SpecError(p, msg);
    }
  }

 private:
  static std::string as_string(const json& v, const std::string& path) {
    if (!v.is_string()) type_error(path, "a string", v);
    return v.get<std::string>();
  }
  static std::int64_t as_int(const json& v, const std::string& path) {
    if (v.is_number_integer()) return v.get<std::int64_t>();
    if (v.is_number_unsigned()) {
      auto u = v.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) type_error(path, "a 64-bit integer", v);
      return static_cast<std::int64_t>(u);
    }
    if (v.is_number_float()) {
      double d = v.get<double>();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18)
        return static_cast<std::int64_t>(d);
    }
    type_error(path, "an integer", v);
  }
  static double as_number(const json& v, const std::string& path) {
    if (!v.is_number()) type_error(path, "a number", v);
    return v.get<double>();
  }

  const json& j_;
  std::string path_;
  std::string schema_;
  bool strict_;
  std::set<std::string> known_;
};

template <typename V>
void visit(V& v, SecretKeySelector& s) {
  v.str("name", s.name);
  v.str("key", s.key);
}
template <typename V>
void visit(V& v, EnvVarSource& s) {
  v.nested("secretKeyRef", s.secretKeyRef);
}
template <typename V>
void visit(V& v, EnvVar& e) {
  v.required("name", e.name);
  v.str("value", e.value);
  v.nested("valueFrom", e.valueFrom);
}
template <typename V>
void visit(V& v, ResourceRequirements& r) {
  v.quantities("requests", r.requests);
  v.quantities("limits", r.limits);
}
template <typename V>
void visit(V& v, Tracker& t) {
  v.required_enum("type", t.type, parse_tracker_type);
  v.quantities("settings", t.settings);
  v.nested("secretRef", t.secretRef);
}
template <typename V>
void visit(V& v, LoggingSpec& l) {
  v.str("projectDir", l.projectDir);
  v.str("loggingDir", l.loggingDir);
  v.str("runNamePrefix", l.runNamePrefix);
}
template <typename V>
void visit(V& v, ProcessGroupSpec& p) {
  v.enumeration("backend", p.backend, parse_backend);
  v.integer("timeoutSeconds", p.timeoutSeconds);
  v.integer("rendezvousTimeoutSeconds", p.rendezvousTimeoutSeconds);
}
template <typename V>
void visit(V& v, DdpSpec& d) {
  v.integer("bucketCapMB", d.bucketCapMB);
  v.boolean("gradientAsBucketView", d.gradientAsBucketView);
  v.boolean("staticGraph", d.staticGraph);
  v.boolean("findUnusedParameters", d.findUnusedParameters);
}
template <typename V>
void visit(V& v, CheckpointSpec& c) {
  v.str("dir", c.dir);
  v.integer("everySteps", c.everySteps);
  v.integer("keep", c.keep);
  v.str("volume", c.volume);
}
template <typename V>
void visit(V& v, MetricsSpec& m) {
  v.integer("port", m.port);
}
template <typename V>
void visit(V& v, BackoffSpec& b) {
  v.integer("initialSeconds", b.initialSeconds);
  v.integer("maxSeconds", b.maxSeconds);
  v.number("factor", b.factor);
}
template <typename V>
void visit(V& v, RunPolicy& p) {
  v.enumeration("restartPolicy", p.restartPolicy, parse_restart_policy);
  v.integer("maxRestarts", p.maxRestarts);
  v.nested("backoff", p.backoff);
  v.integer("activeDeadlineSeconds", p.activeDeadlineSeconds);
  v.integer("startupTimeoutSeconds", p.startupTimeoutSeconds);
  v.integer("stallTimeoutSeconds", p.stallTimeoutSeconds);
  v.integer("ttlSecondsAfterFinished", p.ttlSecondsAfterFinished);
  v.enumeration("cleanPodPolicy", p.cleanPodPolicy, parse_clean_pod_policy);
  v.boolean("suspend", p.suspend);
}
template <typename V>
void visit(V& v, CapabilitiesSpec& c) {
  v.strings("add", c.add);
  v.strings("drop", c.drop);
}
template <typename V>
void visit(V& v, SecurityContextSpec& c) {
  v.boolean("runAsNonRoot", c.runAsNonRoot);
  v.integer("runAsUser", c.runAsUser);
  v.integer("runAsGroup", c.runAsGroup);
  v.integer("fsGroup", c.fsGroup);
  v.boolean("allowPrivilegeEscalation", c.allowPrivilegeEscalation);
  v.boolean("readOnlyRootFilesystem", c.readOnlyRootFilesystem);
  v.str("seccompProfile", c.seccompProfile);
  v.nested("capabilities", c.capabilities);
}
template <typename V>
void visit(V& v, PodTemplateSpec& t) {
  v.labels("nodeSelector", t.nodeSelector);
  v.raw_list("tolerations", t.tolerations);
  v.raw_list("volumes", t.volumes);
  v.raw_list("volumeMounts", t.volumeMounts);
  v.str("serviceAccountName", t.serviceAccountName);
  v.str("priorityClassName", t.priorityClassName);
  v.integer("terminationGracePeriodSeconds", t.terminationGracePeriodSeconds);
  v.nested("securityContext", t.securityContext);
}
template <typename V>
void visit(V& v, AccelJobSpec& s) {
  v.str("image", s.image);
  v.strings("command", s.command);
  v.strings("args", s.args);
  v.items("env", s.env);
  v.str("workingDir", s.workingDir);
  v.integer("nodes", s.nodes);
  v.integer("gpusPerNode", s.gpusPerNode);
  v.integer("procsPerNode", s.procsPerNode);
  v.nested("resources", s.resources);
  v.enumeration("precision", s.precision, parse_precision);
  v.integer("gradientAccumulationSteps", s.gradientAccumulationSteps);
  v.items("trackers", s.trackers);
  v.nested("logging", s.logging);
  v.nested("processGroup", s.processGroup);
  v.nested("ddp", s.ddp);
  v.nested("checkpoint", s.checkpoint);
  v.nested("metrics", s.metrics);
  v.nested("runPolicy", s.runPolicy);
  v.nested("template", s.template_);
}
template <typename V>
void visit(V& v, Condition& c) {
  v.required("type", c.type);
  v.required("status", c.status);
  v.str("reason", c.reason);
  v.str("message", c.message);
  v.str("lastTransitionTime", c.lastTransitionTime);
}
template <typename V>
void visit(V& v, FailureInfo& f) {
  v.str("pod", f.pod);
  v.always("rank", f.rank);
  v.always("exitCode", f.exitCode);
  v.str("reason", f.reason);
  v.always("disruption", f.disruption);
}
template <typename V>
void visit(V& v, Progress& p) {
  v.always("step", p.step);
  v.always("totalSteps", p.totalSteps);
  v.always("samplesPerSecond", p.samplesPerSecond);
  v.always("etaSeconds", p.etaSeconds);
  v.str("lastStepTime", p.lastStepTime);
  v.number("loss", p.loss);
  v.str("activity", p.activity);
}
template <typename V>
void visit(V& v, AccelJobStatus& s) {
  v.enumeration("phase", s.phase, parse_job_phase);
  v.items("conditions", s.conditions);
  v.always("restarts", s.restarts);
  v.always("disruptions", s.disruptions);
  v.always("attempt", s.attempt);
  v.nested("lastFailure", s.lastFailure);
  v.str("startTime", s.startTime);
  v.str("completionTime", s.completionTime);
  v.nonzero("observedGeneration", s.observedGeneration);
  v.nested("progress", s.progress);
}
template <typename V>
void visit(V& v, ObjectMeta& m) {
  v.str("name", m.name);
  v.str("namespace", m.namespace_);
  v.str("uid", m.uid);
  v.nonzero("generation", m.generation);
  v.str("resourceVersion", m.resourceVersion);
  v.str("creationTimestamp", m.creationTimestamp);
  v.labels("labels", m.labels);
  v.labels("annotations", m.annotations);
  v.str("deletionTimestamp", m.deletionTimestamp);
}

// Obj's visit vocabulary for nested types.
template <typename T>
void Obj::nested(const std::string& key, T& out) {
  object(key, [&](Obj& o) { visit(o, out); });
}
template <typename T>
void Obj::nested(const std::string& key, std::optional<T>& out) {
  T value{};
  if (object(key, [&](Obj& o) { visit(o, value); })) out = std::move(value);
}
template <typename T>
void Obj::items(const std::string& key, std::vector<T>& out) {
  list(key, out, [](Obj& o, T& item) { visit(o, item); });
}

// ---- writing: the same visit functions, filling JSON ----
class Out {
 public:
  json j = json::object();

  void str(const char* key, const std::string& v) {
    if (!v.empty()) j[key] = v;
  }
  void str(const char* key, const std::optional<std::string>& v) {
    if (v) j[key] = *v;
  }
  void required(const char* key, const std::string& v) { j[key] = v; }
  template <typename T>
  void integer(const char* key, const std::optional<T>& v) {
    if (v) j[key] = *v;
  }
  void number(const char* key, const std::optional<double>& v) {
    if (v) j[key] = *v;
  }
  void boolean(const char* key, const std::optional<bool>& v) {
    if (v) j[key] = *v;
  }
  void always(const char* key, std::int64_t v) { j[key] = v; }
  void always(const char* key, double v) { j[key] = v; }
  void always(const char* key, bool v) { j[key] = v; }
  void nonzero(const char* key, std::int64_t v) {
    if (v != 0) j[key] = v;
  }
  void strings(const char* key, const std::optional<std::vector<std::string>>& v) {
    if (v) j[key] = *v;
  }
  void strings(const char* key, const std::vector<std::string>& v) {
    if (!v.empty()) j[key] = v;
  }
  void quantities(const char* key, const std::map<std::string, std::string>& v) {
    if (!v.empty()) j[key] = v;
  }
  void labels(const char* key, const std::map<std::string, std::string>& v) {
    if (!v.empty()) j[key] = v;
  }
  void raw_list(const char* key, const json& v) {
    if (v.is_array() && !v.empty()) j[key] = v;
  }
  template <typename E>
  void enumeration(const char* key, const std::optional<E>& v, std::optional<E> (*)(const std::string&)) {
    if (v) j[key] = to_string(*v);
  }
  template <typename E>
  void required_enum(const char* key, const E& v, std::optional<E> (*)(const std::string&)) {
    j[key] = to_string(v);
  }
  template <typename T>
  void nested(const char* key, const T& v) {
    json sub = write(v);
    if (!sub.empty()) j[key] = std::move(sub);
  }
  template <typename T>
  void nested(const char* key, const std::optional<T>& v) {
    if (v) j[key] = write(*v);
  }
  template <typename T>
  void items(const char* key, const std::vector<T>& v) {
    if (v.empty()) return;
    json list = json::array();
    for (const auto& item : v) list.push_back(write(item));
    j[key] = std::move(list);
  }

  template <typename T>
  static json write(const T& value) {
    Out o;
    visit(o, const_cast<T&>(value));  // Out only reads: visit's reference is for Obj
    return o.j;
  }
};

}  // namespace

void to_json(json& j, const AccelJobSpec& s) { j = Out::write(s); }

void from_json(const json& j, AccelJobSpec& s) {
  s = AccelJobSpec{};
  Obj o(j, "spec", "spec", true);
  visit(o, s);
  o.finish();
}

void to_json(json& j, const AccelJobStatus& s) {
  j = Out::write(s);
}

void from_json(const json& j, AccelJobStatus& s) {
  s = AccelJobStatus{};
  Obj o(j, "status", "status", false);  // lenient: newer operators may add fields
  visit(o, s);
}

void to_json(json& j, const ObjectMeta& m) { j = Out::write(m); }

void from_json(const json& j, ObjectMeta& m) {
  m = ObjectMeta{};
  Obj o(j, "metadata", "metadata", false);  // the API server adds fields Accel does not read
  visit(o, m);
}
void to_json(json& j, const AccelJob& job) {
  j = json::object();
  j["apiVersion"] = job.apiVersion;
  j["kind"] = job.kind;
  j["metadata"] = job.metadata;
  j["spec"] = job.spec;
  json st = job.status;
  // A status that says nothing is left out, as the API server does before the first update.
  if (st != json(AccelJobStatus{})) j["status"] = st;
}

void from_json(const json& j, AccelJob& job) {
  job = AccelJob{};
  Obj o(j, "", "", true);
  o.str("apiVersion", job.apiVersion);
  o.str("kind", job.kind);
  if (job.apiVersion != kApiVersion)
    throw SpecError("apiVersion", std::string("apiVersion: Unsupported value: \"") + job.apiVersion +
                                      "\": supported values: \"" + kApiVersion + "\"");
  if (job.kind != kKind)
    throw SpecError("kind", std::string("kind: Unsupported value: \"") + job.kind +
                                "\": supported values: \"" + kKind + "\"");
  if (auto* m = o.get("metadata")) from_json(*m, job.metadata);
  auto* spec = o.get("spec");
  if (!spec) throw SpecError("spec", "spec: Required value");
  from_json(*spec, job.spec);
  if (auto* st = o.get("status")) from_json(*st, job.status);
  o.finish();
}

}  // namespace accel::api

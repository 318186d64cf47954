// json_codec.cpp — AccelJob <-> JSON. Reading is strict (kubectl's strict decoding): wrong
// types and unknown fields throw SpecError naming the field path. Writing leaves out unset
// optionals and empty collections, so parse -> write keeps what the user wrote.
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

void read_secret_ref(Obj& o, SecretKeySelector& s) {
  o.str("name", s.name);
  o.str("key", s.key);
}

void read_spec(Obj& o, AccelJobSpec& s) {
  o.str("image", s.image);
  o.strings("command", s.command);
  o.strings("args", s.args);
  o.list("env", s.env, [](Obj& e, EnvVar& v) {
    e.str("name", v.name);
    e.str("value", v.value);
    EnvVarSource src;
    if (e.object("valueFrom", [&](Obj& vf) {
          SecretKeySelector sel;
          if (vf.object("secretKeyRef", [&](Obj& r) { read_secret_ref(r, sel); }))
            src.secretKeyRef = sel;
        }))
      v.valueFrom = src;
  });
  o.str("workingDir", s.workingDir);
  o.integer("nodes", s.nodes);
  o.integer("gpusPerNode", s.gpusPerNode);
  o.integer("procsPerNode", s.procsPerNode);
  o.object("resources", [&](Obj& r) {
    r.string_map("requests", s.resources.requests, true);
    r.string_map("limits", s.resources.limits, true);
  });
  o.enumeration("precision", s.precision, parse_precision);
  o.integer("gradientAccumulationSteps", s.gradientAccumulationSteps);
  o.list("trackers", s.trackers, [](Obj& t, Tracker& tr) {
    std::optional<TrackerType> type;
    t.enumeration("type", type, parse_tracker_type);
    if (!type) throw SpecError(t.child("type"), t.child("type") + ": Required value");
    tr.type = *type;
    t.string_map("settings", tr.settings, true);
    SecretKeySelector sel;
    if (t.object("secretRef", [&](Obj& r) { read_secret_ref(r, sel); })) tr.secretRef = sel;
  });
  o.object("logging", [&](Obj& l) {
    l.str("projectDir", s.logging.projectDir);
    l.str("loggingDir", s.logging.loggingDir);
    l.str("runNamePrefix", s.logging.runNamePrefix);
  });
  o.object("processGroup", [&](Obj& p) {
    p.enumeration("backend", s.processGroup.backend, parse_backend);
    p.integer("timeoutSeconds", s.processGroup.timeoutSeconds);
    p.integer("rendezvousTimeoutSeconds", s.processGroup.rendezvousTimeoutSeconds);
  });
  o.object("ddp", [&](Obj& d) {
    d.integer("bucketCapMB", s.ddp.bucketCapMB);
    d.boolean("gradientAsBucketView", s.ddp.gradientAsBucketView);
    d.boolean("staticGraph", s.ddp.staticGraph);
    d.boolean("findUnusedParameters", s.ddp.findUnusedParameters);
  });
  o.object("checkpoint", [&](Obj& c) {
    c.str("dir", s.checkpoint.dir);
    c.integer("everySteps", s.checkpoint.everySteps);
    c.integer("keep", s.checkpoint.keep);
    c.str("volume", s.checkpoint.volume);
  });
  o.object("metrics", [&](Obj& m) { m.integer("port", s.metrics.port); });
  o.object("runPolicy", [&](Obj& r) {
    RunPolicy& p = s.runPolicy;
    r.enumeration("restartPolicy", p.restartPolicy, parse_restart_policy);
    r.integer("maxRestarts", p.maxRestarts);
    r.object("backoff", [&](Obj& b) {
      b.integer("initialSeconds", p.backoff.initialSeconds);
      b.integer("maxSeconds", p.backoff.maxSeconds);
      b.number("factor", p.backoff.factor);
    });
    r.integer("activeDeadlineSeconds", p.activeDeadlineSeconds);
    r.integer("startupTimeoutSeconds", p.startupTimeoutSeconds);
    r.integer("stallTimeoutSeconds", p.stallTimeoutSeconds);
    r.integer("ttlSecondsAfterFinished", p.ttlSecondsAfterFinished);
    r.enumeration("cleanPodPolicy", p.cleanPodPolicy, parse_clean_pod_policy);
    r.boolean("suspend", p.suspend);
  });
  o.object("template", [&](Obj& t) {
    t.string_map("nodeSelector", s.template_.nodeSelector, false);
    t.raw_list("tolerations", s.template_.tolerations);
    t.raw_list("volumes", s.template_.volumes);
    t.raw_list("volumeMounts", s.template_.volumeMounts);
    t.str("serviceAccountName", s.template_.serviceAccountName);
    t.str("priorityClassName", s.template_.priorityClassName);
  });
}

void read_status(Obj& o, AccelJobStatus& s) {
  o.enumeration("phase", s.phase, parse_job_phase);
  o.list("conditions", s.conditions, [](Obj& c, Condition& v) {
    c.str("type", v.type);
    c.str("status", v.status);
    c.str("reason", v.reason);
    c.str("message", v.message);
    c.str("lastTransitionTime", v.lastTransitionTime);
  });
  o.integer("restarts", s.restarts);
  o.integer("attempt", s.attempt);
  FailureInfo f;
  if (o.object("lastFailure", [&](Obj& l) {
        l.str("pod", f.pod);
        l.integer("rank", f.rank);
        l.integer("exitCode", f.exitCode);
        l.str("reason", f.reason);
      }))
    s.lastFailure = f;
  o.str("startTime", s.startTime);
  o.str("completionTime", s.completionTime);
  o.integer("observedGeneration", s.observedGeneration);
  Progress p;
  if (o.object("progress", [&](Obj& g) {
        g.integer("step", p.step);
        g.integer("totalSteps", p.totalSteps);
        g.number("samplesPerSecond", p.samplesPerSecond);
        g.number("etaSeconds", p.etaSeconds);
        g.str("lastStepTime", p.lastStepTime);
        g.number("loss", p.loss);
      }))
    s.progress = p;
}

void read_meta(Obj& o, ObjectMeta& m) {
  o.str("name", m.name);
  o.str("namespace", m.namespace_);
  o.str("uid", m.uid);
  o.integer("generation", m.generation);
  o.str("resourceVersion", m.resourceVersion);
  o.str("creationTimestamp", m.creationTimestamp);
  o.string_map("labels", m.labels, false);
  o.string_map("annotations", m.annotations, false);
  o.str("deletionTimestamp", m.deletionTimestamp);
}

// ---- writing ----
void put(json& j, const char* key, const std::string& v) {
  if (!v.empty()) j[key] = v;
}
template <typename T>
void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
template <typename E>
void put_enum(json& j, const char* key, const std::optional<E>& v) {
  if (v) j[key] = to_string(*v);
}
void put_obj(json& j, const char* key, json v) {
  if (!v.empty()) j[key] = std::move(v);
}
template <typename C>
void put_coll(json& j, const char* key, const C& v) {
  if (!v.empty()) j[key] = v;
}
json secret_ref_json(const SecretKeySelector& s) {
  json j = json::object();
  put(j, "name", s.name);
  put(j, "key", s.key);
  return j;
}

}  // namespace

void to_json(json& j, const AccelJobSpec& s) {
  j = json::object();
  put(j, "image", s.image);
  put_coll(j, "command", s.command);
  put_coll(j, "args", s.args);
  if (!s.env.empty()) {
    json env = json::array();
    for (const auto& e : s.env) {
      json v = json::object();
      v["name"] = e.name;
      put(v, "value", e.value);
      if (e.valueFrom) {
        json vf = json::object();
        if (e.valueFrom->secretKeyRef) vf["secretKeyRef"] = secret_ref_json(*e.valueFrom->secretKeyRef);
        v["valueFrom"] = vf;
      }
      env.push_back(v);
    }
    j["env"] = env;
  }
  put(j, "workingDir", s.workingDir);
  put(j, "nodes", s.nodes);
  put(j, "gpusPerNode", s.gpusPerNode);
  put(j, "procsPerNode", s.procsPerNode);
  json res = json::object();
  put_coll(res, "requests", s.resources.requests);
  put_coll(res, "limits", s.resources.limits);
  put_obj(j, "resources", res);
  put_enum(j, "precision", s.precision);
  put(j, "gradientAccumulationSteps", s.gradientAccumulationSteps);
  if (!s.trackers.empty()) {
    json list = json::array();
    for (const auto& t : s.trackers) {
      json v = json::object();
      v["type"] = to_string(t.type);
      put_coll(v, "settings", t.settings);
      if (t.secretRef) v["secretRef"] = secret_ref_json(*t.secretRef);
      list.push_back(v);
    }
    j["trackers"] = list;
  }
  json lg = json::object();
  put(lg, "projectDir", s.logging.projectDir);
  put(lg, "loggingDir", s.logging.loggingDir);
  put(lg, "runNamePrefix", s.logging.runNamePrefix);
  put_obj(j, "logging", lg);
  json pg = json::object();
  put_enum(pg, "backend", s.processGroup.backend);
  put(pg, "timeoutSeconds", s.processGroup.timeoutSeconds);
  put(pg, "rendezvousTimeoutSeconds", s.processGroup.rendezvousTimeoutSeconds);
  put_obj(j, "processGroup", pg);
  json ddp = json::object();
  put(ddp, "bucketCapMB", s.ddp.bucketCapMB);
  put(ddp, "gradientAsBucketView", s.ddp.gradientAsBucketView);
  put(ddp, "staticGraph", s.ddp.staticGraph);
  put(ddp, "findUnusedParameters", s.ddp.findUnusedParameters);
  put_obj(j, "ddp", ddp);
  json ck = json::object();
  put(ck, "dir", s.checkpoint.dir);
  put(ck, "everySteps", s.checkpoint.everySteps);
  put(ck, "keep", s.checkpoint.keep);
  put(ck, "volume", s.checkpoint.volume);
  put_obj(j, "checkpoint", ck);
  json me = json::object();
  put(me, "port", s.metrics.port);
  put_obj(j, "metrics", me);
  const RunPolicy& p = s.runPolicy;
  json rp = json::object();
  put_enum(rp, "restartPolicy", p.restartPolicy);
  put(rp, "maxRestarts", p.maxRestarts);
  json bo = json::object();
  put(bo, "initialSeconds", p.backoff.initialSeconds);
  put(bo, "maxSeconds", p.backoff.maxSeconds);
  put(bo, "factor", p.backoff.factor);
  put_obj(rp, "backoff", bo);
  put(rp, "activeDeadlineSeconds", p.activeDeadlineSeconds);
  put(rp, "startupTimeoutSeconds", p.startupTimeoutSeconds);
  put(rp, "stallTimeoutSeconds", p.stallTimeoutSeconds);
  put(rp, "ttlSecondsAfterFinished", p.ttlSecondsAfterFinished);
  put_enum(rp, "cleanPodPolicy", p.cleanPodPolicy);
  put(rp, "suspend", p.suspend);
  put_obj(j, "runPolicy", rp);
  json tp = json::object();
  put_coll(tp, "nodeSelector", s.template_.nodeSelector);
  if (s.template_.tolerations.is_array() && !s.template_.tolerations.empty())
    tp["tolerations"] = s.template_.tolerations;
  if (s.template_.volumes.is_array() && !s.template_.volumes.empty()) tp["volumes"] = s.template_.volumes;
  if (s.template_.volumeMounts.is_array() && !s.template_.volumeMounts.empty())
    tp["volumeMounts"] = s.template_.volumeMounts;
  put(tp, "serviceAccountName", s.template_.serviceAccountName);
  put(tp, "priorityClassName", s.template_.priorityClassName);
  put_obj(j, "template", tp);
}

void from_json(const json& j, AccelJobSpec& s) {
  s = AccelJobSpec{};
  Obj o(j, "spec", "spec", true);
  read_spec(o, s);
  o.finish();
}

void to_json(json& j, const AccelJobStatus& s) {
  j = json::object();
  put_enum(j, "phase", s.phase);
  if (!s.conditions.empty()) {
    json list = json::array();
    for (const auto& c : s.conditions) {
      json v = json::object();
      v["type"] = c.type;
      v["status"] = c.status;
      put(v, "reason", c.reason);
      put(v, "message", c.message);
      put(v, "lastTransitionTime", c.lastTransitionTime);
      list.push_back(v);
    }
    j["conditions"] = list;
  }
  j["restarts"] = s.restarts;
  j["attempt"] = s.attempt;
  if (s.lastFailure) {
    json f = json::object();
    put(f, "pod", s.lastFailure->pod);
    f["rank"] = s.lastFailure->rank;
    f["exitCode"] = s.lastFailure->exitCode;
    put(f, "reason", s.lastFailure->reason);
    j["lastFailure"] = f;
  }
  put(j, "startTime", s.startTime);
  put(j, "completionTime", s.completionTime);
  if (s.observedGeneration != 0) j["observedGeneration"] = s.observedGeneration;
  if (s.progress) {
    json p = json::object();
    p["step"] = s.progress->step;
    p["totalSteps"] = s.progress->totalSteps;
    p["samplesPerSecond"] = s.progress->samplesPerSecond;
    p["etaSeconds"] = s.progress->etaSeconds;
    put(p, "lastStepTime", s.progress->lastStepTime);
    if (s.progress->loss) p["loss"] = *s.progress->loss;
    j["progress"] = p;
  }
}

void from_json(const json& j, AccelJobStatus& s) {
  s = AccelJobStatus{};
  Obj o(j, "status", "status", false);  // lenient: newer operators may add fields
  read_status(o, s);
}

void to_json(json& j, const ObjectMeta& m) {
  j = json::object();
  put(j, "name", m.name);
  put(j, "namespace", m.namespace_);
  put(j, "uid", m.uid);
  if (m.generation != 0) j["generation"] = m.generation;
  put(j, "resourceVersion", m.resourceVersion);
  put(j, "creationTimestamp", m.creationTimestamp);
  put_coll(j, "labels", m.labels);
  put_coll(j, "annotations", m.annotations);
  put(j, "deletionTimestamp", m.deletionTimestamp);
}

void from_json(const json& j, ObjectMeta& m) {
  m = ObjectMeta{};
  Obj o(j, "metadata", "metadata", false);  // the API server adds fields Accel does not read
  read_meta(o, m);
}

void to_json(json& j, const AccelJob& job) {
  j = json::object();
  j["apiVersion"] = job.apiVersion;
  j["kind"] = job.kind;
  j["metadata"] = job.metadata;
  j["spec"] = job.spec;
  json st = job.status;
  // A status that says nothing is left out, as the API server does before the first update.
  if (st != json{{"restarts", 0}, {"attempt", 0}}) j["status"] = st;
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

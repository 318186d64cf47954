// crd.cpp — the CustomResourceDefinition, generated from the field table and the CEL rules.
#include "accel/api/crd.h"

#include <yaml-cpp/yaml.h>

#include "accel/api/acceljob.h"
#include "accel/api/env_contract.h"
#include "accel/api/field_table.h"
#include "schema_walk.h"
#include "yaml_scalar.h"

namespace accel::api {
namespace {

using oj = nlohmann::ordered_json;

oj field_schema(const FieldSpec& f);  // object_body() and field_schema() recurse

oj rule_json(const CelRule& r) {
  oj v = oj::object();
  v["rule"] = r.rule;
  v["message"] = r.message;
  if (!r.field_path.empty()) v["fieldPath"] = r.field_path;
  if (!r.reason.empty()) v["reason"] = r.reason;
  return v;
}

// x-kubernetes-validations for the schema node at `path` (immutability + CEL rules).
oj validations_for(const std::string& path, const FieldSpec* f) {
  oj list = oj::array();
  // Optional fields without a default need a rule on their parent (has() on both sides).
  if (f && f->immutable && (f->required || !f->default_value.is_null()))
    list.push_back({{"rule", "self == oldSelf"}, {"message", "field is immutable"}});
  for (const auto& r : acceljob_cel_rules())
    if (r.attach_path == path) list.push_back(rule_json(r));
  return list;
}

oj object_body(const std::string& schema) {
  oj props = oj::object();
  oj required = oj::array();
  oj body = oj::object();
  for (const FieldSpec* c : child_fields(schema)) {
    props[last_segment(c->path)] = field_schema(*c);
    if (c->required) required.push_back(last_segment(c->path));
  }
  body["properties"] = props;
  if (!required.empty()) body["required"] = required;
  return body;
}

oj field_schema(const FieldSpec& f) {
  oj s = oj::object();
  s["description"] = f.description;
  switch (f.type) {
    case FieldType::String:
      s["type"] = "string";
      break;
    case FieldType::DateTime:
      s["type"] = "string";
      s["format"] = "date-time";
      break;
    case FieldType::Integer:
      s["type"] = "integer";
      s["format"] = "int64";
      break;
    case FieldType::Number:
      s["type"] = "number";
      break;
    case FieldType::Boolean:
      s["type"] = "boolean";
      break;
    case FieldType::Object:
    case FieldType::ObjectList:
    case FieldType::RawObjectList:
      s["type"] = f.type == FieldType::Object ? "object" : "array";
      break;
    case FieldType::StringList:
      s["type"] = "array";
      s["items"] = {{"type", "string"}};
      break;
    case FieldType::StringMap:
      s["type"] = "object";
      s["additionalProperties"] = {{"type", "string"}};
      break;
    case FieldType::QuantityMap:
      s["type"] = "object";
      s["additionalProperties"] = {{"anyOf", oj::array({{{"type", "integer"}}, {{"type", "string"}}})},
                                   {"x-kubernetes-int-or-string", true}};
      break;
  }
  if (!f.enum_values.empty()) s["enum"] = f.enum_values;
  if (!f.default_value.is_null()) s["default"] = oj::parse(f.default_value.dump());
  if (f.minimum) s["minimum"] = static_cast<std::int64_t>(*f.minimum);
  if (f.maximum) s["maximum"] = static_cast<std::int64_t>(*f.maximum);
  if (f.required && f.type == FieldType::String) s["minLength"] = 1;
  const bool map = f.type == FieldType::StringMap || f.type == FieldType::QuantityMap;
  // Of a map, the bounds are its entry count and each value's length.
  if (f.max_length) (map ? s["additionalProperties"]["maxLength"] : s["maxLength"]) = *f.max_length;
  if (f.max_items) s[map ? "maxProperties" : "maxItems"] = *f.max_items;
  if (f.type == FieldType::Object) {
    const oj body = object_body(f.path);
    for (auto& [k, v] : body.items()) s[k] = v;
  } else if (f.type == FieldType::ObjectList) {
    oj items = {{"type", "object"}};
    const oj body = object_body(f.path + "[]");
    for (auto& [k, v] : body.items()) items[k] = v;
    oj item_rules = validations_for(f.path + "[]", nullptr);
    if (!item_rules.empty()) items["x-kubernetes-validations"] = item_rules;
    s["items"] = items;
    if (!f.list_map_keys.empty()) {
      s["x-kubernetes-list-type"] = "map";
      s["x-kubernetes-list-map-keys"] = f.list_map_keys;
    }
  } else if (f.type == FieldType::RawObjectList) {
    // Fields the table names inside a raw item (a volume's name) are typed, so CEL rules can
    // read them; everything else passes through to the pod, where the API server checks it.
    s["items"] = {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}};
    if (!child_fields(f.path + "[]").empty()) {
      const oj body = object_body(f.path + "[]");
      for (auto& [k, v] : body.items()) s["items"][k] = v;
    }
  }
  oj rules = validations_for(f.path, &f);
  if (!rules.empty()) s["x-kubernetes-validations"] = rules;
  return s;
}

oj column(const char* name, const char* type, const char* path, const char* description) {
  return {{"name", name}, {"type", type}, {"jsonPath", path}, {"description", description}};
}

void emit(YAML::Emitter& out, const oj& v) {
  switch (v.type()) {
    case oj::value_t::object:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      out << YAML::BeginMap;
      for (auto it = v.begin(); it != v.end(); ++it) {
        out << YAML::Key << it.key() << YAML::Value;
        emit(out, *it);
      }
      out << YAML::EndMap;
      return;
    case oj::value_t::array:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      out << YAML::BeginSeq;
      for (const auto& item : v) emit(out, item);
      out << YAML::EndSeq;
      return;
    case oj::value_t::string: {
      const std::string s = v.get<std::string>();
      if (!resolve_plain_scalar(s).is_string()) out << YAML::DoubleQuoted << s;
      else out << s;
      return;
    }
    case oj::value_t::boolean:
      out << (v.get<bool>() ? "true" : "false");
      return;
    case oj::value_t::null:
      out << YAML::Null;
      return;
    default:
      out << v.dump();  // numbers as JSON writes them (2.0 stays a float)
      return;
  }
}

}  // namespace

oj crd_json() {
  oj root = {{"type", "object"},
             {"description", "AccelJob runs one distributed-training job: a gang of pods, one per "
                             "node, each running `accel launch` with one process per GPU."}};
  oj props = oj::object();
  props["apiVersion"] = {{"type", "string"}, {"description", "accel.dev/v1alpha1"}};
  props["kind"] = {{"type", "string"}, {"description", "AccelJob"}};
  // Only metadata.name may be described here; it is declared so the name rules can point at it.
  props["metadata"] = {{"type", "object"},
                       {"properties", {{"name", {{"type", "string"},
                                                 {"description", "DNS-1035 label, at most 50 characters."}}}}}};
  const oj body = object_body("");
  for (auto& [k, v] : body.items()) {
    if (k == "properties") {
      for (auto& [name, schema] : v.items()) props[name] = schema;
    } else {
      root[k] = v;
    }
  }
  root["properties"] = props;
  oj root_rules = validations_for("", nullptr);
  if (!root_rules.empty()) root["x-kubernetes-validations"] = root_rules;

  oj version = oj::object();
  version["name"] = kVersion;
  version["served"] = true;
  version["storage"] = true;
  version["subresources"] = {{"status", oj::object()}};
  version["additionalPrinterColumns"] = oj::array({
      column("Phase", "string", ".status.phase", "Where the job is in its life"),
      column("Nodes", "integer", ".spec.nodes", "Nodes (one pod each)"),
      column("GPUs/node", "integer", ".spec.gpusPerNode", "GPUs per node (0 = CPU)"),
      column("Precision", "string", ".spec.precision", "Mixed precision"),
      column("Restarts", "integer", ".status.restarts", "Gang restarts after failures (count against maxRestarts)"),
      column("Disruptions", "integer", ".status.disruptions", "Gang restarts after preemption, eviction, deletion or node loss"),
      column("Step", "integer", ".status.progress.step", "Optimizer steps completed"),
      column("Age", "date", ".metadata.creationTimestamp", "Time since creation"),
  });
  version["schema"] = {{"openAPIV3Schema", root}};

  oj crd = oj::object();
  crd["apiVersion"] = "apiextensions.k8s.io/v1";
  crd["kind"] = "CustomResourceDefinition";
  crd["metadata"] = {{"name", std::string(kPlural) + "." + kGroup},
                     {"annotations", {{"accel.dev/env-contract-version",
                                       std::to_string(kEnvContractVersion)}}}};
  oj spec = oj::object();
  spec["group"] = kGroup;
  spec["names"] = {{"kind", kKind},
                   {"listKind", std::string(kKind) + "List"},
                   {"plural", kPlural},
                   {"singular", kSingular},
                   {"shortNames", oj::array({kShortName})},
                   {"categories", oj::array({"all", "accel"})}};
  spec["scope"] = "Namespaced";
  spec["versions"] = oj::array({version});
  crd["spec"] = spec;
  return crd;
}

std::string crd_yaml() {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::Comment("Generated by accel-gen-crd from api/src/field_table.cpp; do not edit.\n"
                       "Regenerate: build/<dir>/api/accel-gen-crd > crds/acceljob.yaml");
  out << YAML::Newline;
  emit(out, crd_json());
  return std::string(out.c_str()) + "\n";
}

}  // namespace accel::api

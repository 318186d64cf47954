// field_table.h — the one source of truth for the AccelJob schema.
//
// Every field of spec and status is one FieldSpec: its path, type, default, enum, bounds and
// description. apply_defaults() and validate() read defaults, enums, bounds and required-ness
// from here, and accel-gen-crd turns the same table (plus the CEL rules below) into
// crds/acceljob.yaml; a unit test fails when the committed CRD drifts from the generator.
//
// Paths: dotted from the object root ("spec.runPolicy.maxRestarts"); "[]" marks the items of
// a list of objects ("spec.env[].name"). A parent (object or list) comes before its children.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace accel::api {

enum class FieldType {
  String,
  Integer,     // int64
  Number,      // double
  Boolean,
  Object,      // children are the fields whose path starts with "<path>."
  ObjectList,  // children are "<path>[].<name>"
  StringList,
  StringMap,        // map<string,string>
  QuantityMap,      // map<string, int-or-string> (resource quantities, tracker settings)
  RawObjectList,    // list of objects kept verbatim (x-kubernetes-preserve-unknown-fields)
  DateTime,         // RFC 3339 string
};

struct FieldSpec {
  std::string path;
  FieldType type = FieldType::String;
  std::string description;
  nlohmann::json default_value;  // null = no default; objects with default {} are created
  std::vector<std::string> enum_values;
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::optional<long> max_length;  // strings
  std::optional<long> max_items;   // lists
  bool required = false;           // required within its parent object
  bool immutable = false;          // may not change once created (CEL self == oldSelf)
  std::vector<std::string> list_map_keys;  // ObjectList as x-kubernetes-list-type: map
};

// The whole table, parents before children, spec then status.
const std::vector<FieldSpec>& acceljob_fields();
// The entry for a path ("spec.env[].name"), or nullptr.
const FieldSpec* find_field(const std::string& path);
// The entry for a path; throws std::logic_error when the table lacks it (a programming error).
const FieldSpec& field(const std::string& path);

// A cross-field rule: CEL text for the CRD, and the message both the CRD and validate() use.
struct CelRule {
  std::string id;           // stable name the C++ check refers to
  std::string attach_path;  // schema node carrying x-kubernetes-validations ("" = root)
  std::string rule;         // CEL
  std::string message;
  std::string field_path;   // CEL fieldPath relative to attach_path ("" = none)
  std::string reason;       // FieldValueInvalid / FieldValueForbidden ("" = default)
};
const std::vector<CelRule>& acceljob_cel_rules();
const CelRule& cel_rule(const std::string& id);

enum class TrackerType;  // acceljob.h

// The settings each tracker type takes (spec.trackers[].settings keys; the worker refuses
// any other, and so does the CRD).
const std::vector<std::string>& tracker_setting_keys(TrackerType type);

// Env names a spec may not set (the operator sets them); any name starting with
// kReservedEnvPrefix is reserved too.
const std::vector<std::string>& reserved_env_names();
inline constexpr const char* kReservedEnvPrefix = "ACCEL_";
bool is_reserved_env_name(const std::string& name);

}  // namespace accel::api

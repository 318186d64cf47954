// schema_walk.h — (private) navigation of the field table by parent path.
#pragma once

#include <string>
#include <vector>

#include "accel/api/field_table.h"

namespace accel::api {

// Fields directly under a schema path: "spec" -> spec.image, spec.nodes, ...;
// "spec.env[]" -> spec.env[].name, ...; "" -> spec, status.
const std::vector<const FieldSpec*>& child_fields(const std::string& schema_path);
// "spec.env[].name" -> "name"; "spec" -> "spec".
std::string last_segment(const std::string& path);
// "spec.env[].name" -> "spec.env[]"; "spec" -> "".
std::string parent_path(const std::string& path);

}  // namespace accel::api

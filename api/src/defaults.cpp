// defaults.cpp — apply_defaults(): the field table's defaults, applied the way kube-apiserver
// applies a structural schema's defaults (objects with default {} are created, then their
// fields defaulted; list items are defaulted one by one), plus the one derived default the
// schema cannot state (procsPerNode follows gpusPerNode).
#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"
#include "schema_walk.h"

#include <stdexcept>

namespace accel::api {
namespace {

using json = nlohmann::json;

void default_object(json& obj, const std::string& schema) {
  for (const FieldSpec* f : child_fields(schema)) {
    const std::string key = last_segment(f->path);
    if ((!obj.contains(key) || obj[key].is_null()) && !f->default_value.is_null())
      obj[key] = f->default_value;
    if (!obj.contains(key)) continue;
    json& v = obj[key];
    if (f->type == FieldType::Object && v.is_object()) {
      default_object(v, f->path);
    } else if (f->type == FieldType::ObjectList && v.is_array()) {
      for (auto& item : v)
        if (item.is_object()) default_object(item, f->path + "[]");
    }
  }
}

}  // namespace

void apply_defaults(AccelJob& job) {
  if (job.defaulted) return;
  json spec = job.spec;
  default_object(spec, "spec");
  job.spec = spec.get<AccelJobSpec>();
  if (!job.spec.procsPerNode) {
    std::int64_t gpus = job.spec.gpusPerNode.value_or(0);
    job.spec.procsPerNode = gpus > 0 ? gpus : 1;
  }
  job.defaulted = true;
}

void require_defaulted(const AccelJob& job, const char* who) {
  if (!job.defaulted)
    throw std::logic_error(std::string(who) + ": the AccelJob '" + job.metadata.name +
                           "' was not defaulted (api::apply_defaults where it was read)");
}

}  // namespace accel::api

// schema_walk.cpp — see schema_walk.h.
#include "schema_walk.h"

#include <map>

namespace accel::api {

std::string last_segment(const std::string& path) {
  auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::string parent_path(const std::string& path) {
  auto dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

const std::vector<const FieldSpec*>& child_fields(const std::string& schema_path) {
  static const auto index = [] {
    std::map<std::string, std::vector<const FieldSpec*>> m;
    for (const auto& f : acceljob_fields()) m[parent_path(f.path)].push_back(&f);
    return m;
  }();
  static const std::vector<const FieldSpec*> none;
  auto it = index.find(schema_path);
  return it == index.end() ? none : it->second;
}

}  // namespace accel::api

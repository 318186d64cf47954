#include "accel/kube/object_cache.h"

namespace accel::kube {

namespace {
std::string meta_string(const nlohmann::json& obj, const char* key) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto v = m->find(key);
  return v != m->end() && v->is_string() ? v->get<std::string>() : "";
}
}  // namespace

std::string object_key(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : ns + "/" + name;
}

std::string object_key(const nlohmann::json& obj) {
  return object_key(meta_string(obj, "namespace"), meta_string(obj, "name"));
}

std::shared_ptr<const nlohmann::json> RecordTraits<nlohmann::json>::decode(nlohmann::json&& obj) {
  if (auto m = obj.find("metadata"); m != obj.end() && m->is_object()) m->erase("managedFields");
  return std::make_shared<const nlohmann::json>(std::move(obj));
}

std::string RecordTraits<nlohmann::json>::resource_version(const nlohmann::json& obj) {
  return meta_string(obj, "resourceVersion");
}

std::string RecordTraits<nlohmann::json>::label(const nlohmann::json& obj, const std::string& key) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  auto l = m->find("labels");
  if (l == m->end() || !l->is_object()) return "";
  auto v = l->find(key);
  return v != l->end() && v->is_string() ? v->get<std::string>() : "";
}

}  // namespace accel::kube

#include "accel/kube/object_cache.h"

#include <algorithm>
#include <stdexcept>

namespace accel::kube {

namespace {
const nlohmann::json* labels_of(const nlohmann::json& obj) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return nullptr;
  auto l = m->find("labels");
  return l != m->end() && l->is_object() ? &*l : nullptr;
}
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

ObjectCache::ObjectCache(std::vector<std::string> index_labels)
    : index_labels_(std::move(index_labels)) {}

ObjectPtr ObjectCache::get(const std::string& ns, const std::string& name) const {
  return get(object_key(ns, name));
}

ObjectPtr ObjectCache::get(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> ObjectCache::list() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [k, v] : items_) out.push_back(v);
  return out;
}

std::vector<ObjectPtr> ObjectCache::list(const std::string& ns) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  std::string prefix = ns + "/";
  for (auto it = items_.lower_bound(prefix); it != items_.end() && it->first.rfind(prefix, 0) == 0;
       ++it)
    out.push_back(it->second);
  return out;
}

std::vector<ObjectPtr> ObjectCache::by_label(const std::string& key,
                                             const std::string& value) const {
  if (std::find(index_labels_.begin(), index_labels_.end(), key) == index_labels_.end())
    throw std::invalid_argument("label '" + key +
                                "' is not indexed; add it to InformerOptions::index_labels");
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ObjectPtr> out;
  auto k = index_.find(key);
  if (k == index_.end()) return out;
  auto v = k->second.find(value);
  if (v == k->second.end()) return out;
  for (const auto& obj_key : v->second) {
    auto it = items_.find(obj_key);
    if (it != items_.end()) out.push_back(it->second);
  }
  return out;
}

std::size_t ObjectCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return items_.size();
}

std::vector<std::string> ObjectCache::keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> out;
  for (const auto& [k, v] : items_) out.push_back(k);
  return out;
}

ObjectPtr ObjectCache::upsert(ObjectPtr obj) {
  std::string key = object_key(*obj);
  std::lock_guard<std::mutex> lock(mu_);
  ObjectPtr old;
  auto it = items_.find(key);
  if (it != items_.end()) {
    old = it->second;
    index_remove(key, *old);
    it->second = obj;
  } else {
    items_.emplace(key, obj);
  }
  index_add(key, *obj);
  return old;
}

ObjectPtr ObjectCache::erase(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = items_.find(key);
  if (it == items_.end()) return nullptr;
  ObjectPtr old = it->second;
  index_remove(key, *old);
  items_.erase(it);
  return old;
}

void ObjectCache::index_add(const std::string& key, const nlohmann::json& obj) {
  const auto* labels = labels_of(obj);
  if (!labels) return;
  for (const auto& l : index_labels_) {
    auto v = labels->find(l);
    if (v != labels->end() && v->is_string()) index_[l][v->get<std::string>()].insert(key);
  }
}

void ObjectCache::index_remove(const std::string& key, const nlohmann::json& obj) {
  const auto* labels = labels_of(obj);
  if (!labels) return;
  for (const auto& l : index_labels_) {
    auto v = labels->find(l);
    if (v == labels->end() || !v->is_string()) continue;
    auto& values = index_[l];
    auto s = values.find(v->get<std::string>());
    if (s == values.end()) continue;
    s->second.erase(key);
    if (s->second.empty()) values.erase(s);
  }
}

}  // namespace accel::kube

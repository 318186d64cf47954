// object_cache.h — the informer's thread-safe store of records, keyed by namespace/name, with an
// index on chosen label keys.
//
// What a cache keeps of an API object is a *record*: by default the whole JSON document less
// metadata.managedFields (ObjectCache, for generic code and tools); a controller that reads only
// a few fields keeps a compact typed record of exactly those instead (what controller-runtime's
// cache transforms are for), which costs a few hundred bytes per object instead of kilobytes.
// RecordTraits<T> says how a record is made from the object and what the cache needs of it.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace accel::kube {

// "namespace/name", or "name" for a cluster-scoped object (client-go's MetaNamespaceKey).
std::string object_key(const nlohmann::json& object);
std::string object_key(const std::string& ns, const std::string& name);

// What a record type provides (specialise for each T an informer caches):
//   static std::shared_ptr<const T> decode(nlohmann::json&& object);  // never throws on an
//       object with metadata; what cannot be read is recorded in the record
//   static std::string key(const T&);               // object_key()
//   static std::string resource_version(const T&);  // metadata.resourceVersion
//   static std::string label(const T&, const std::string& key);  // "" when absent; the cache's
//       index and by_label() use it for InformerOptions::index_labels only
template <typename T>
struct RecordTraits;

// The whole object (less managedFields: server-side apply bookkeeping, often the largest part of
// a small object and never read by a controller; an update built from it leaves the server's
// managedFields as they are).
template <>
struct RecordTraits<nlohmann::json> {
  static std::shared_ptr<const nlohmann::json> decode(nlohmann::json&& object);
  static std::string key(const nlohmann::json& object) { return object_key(object); }
  static std::string resource_version(const nlohmann::json& object);
  static std::string label(const nlohmann::json& object, const std::string& key);
};

template <typename T>
class BasicObjectCache {
 public:
  // Records are immutable and shared: readers keep them alive safely.
  using Ptr = std::shared_ptr<const T>;
  using Traits = RecordTraits<T>;

  // `index_labels`: label keys for which by_label() answers from an index.
  explicit BasicObjectCache(std::vector<std::string> index_labels = {})
      : index_labels_(std::move(index_labels)) {}

  Ptr get(const std::string& ns, const std::string& name) const { return get(object_key(ns, name)); }
  Ptr get(const std::string& key) const {  // nullptr if absent
    std::lock_guard<std::mutex> lock(mu_);
    auto it = items_.find(key);
    return it == items_.end() ? nullptr : it->second;
  }
  std::vector<Ptr> list() const {  // sorted by key
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Ptr> out;
    out.reserve(items_.size());
    for (const auto& [k, v] : items_) out.push_back(v);
    return out;
  }
  std::vector<Ptr> list(const std::string& ns) const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Ptr> out;
    const std::string prefix = ns + "/";
    for (auto it = items_.lower_bound(prefix);
         it != items_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it)
      out.push_back(it->second);
    return out;
  }
  // Records whose label `key` equals `value`. Throws std::invalid_argument naming the key when
  // it is not one of the index_labels.
  std::vector<Ptr> by_label(const std::string& key, const std::string& value) const {
    if (std::find(index_labels_.begin(), index_labels_.end(), key) == index_labels_.end())
      throw std::invalid_argument("label '" + key +
                                  "' is not indexed; add it to InformerOptions::index_labels");
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<Ptr> out;
    auto k = index_.find(key);
    if (k == index_.end()) return out;
    auto v = k->second.find(value);
    if (v == k->second.end()) return out;
    for (const auto& obj_key : v->second)
      if (auto it = items_.find(obj_key); it != items_.end()) out.push_back(it->second);
    return out;
  }
  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }
  std::vector<std::string> keys() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    out.reserve(items_.size());
    for (const auto& [k, v] : items_) out.push_back(k);
    return out;
  }

  // Mutations (the informer's): return the previous record for that key, or nullptr.
  Ptr upsert(Ptr record) {
    std::string key = Traits::key(*record);
    std::lock_guard<std::mutex> lock(mu_);
    Ptr old;
    if (auto it = items_.find(key); it != items_.end()) {
      old = it->second;
      index_remove(key, *old);
      it->second = record;
    } else {
      items_.emplace(key, record);
    }
    index_add(key, *record);
    return old;
  }
  Ptr erase(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = items_.find(key);
    if (it == items_.end()) return nullptr;
    Ptr old = it->second;
    index_remove(key, *old);
    items_.erase(it);
    return old;
  }

 private:
  void index_add(const std::string& key, const T& record) {
    for (const auto& l : index_labels_)
      if (std::string v = Traits::label(record, l); !v.empty()) index_[l][v].insert(key);
  }
  void index_remove(const std::string& key, const T& record) {
    for (const auto& l : index_labels_) {
      const std::string v = Traits::label(record, l);
      if (v.empty()) continue;
      auto& values = index_[l];
      auto s = values.find(v);
      if (s == values.end()) continue;
      s->second.erase(key);
      if (s->second.empty()) values.erase(s);
    }
  }

  std::vector<std::string> index_labels_;
  mutable std::mutex mu_;
  std::map<std::string, Ptr> items_;
  // label key -> label value -> record keys
  std::map<std::string, std::map<std::string, std::set<std::string>>> index_;
};

// Whole documents.
using ObjectCache = BasicObjectCache<nlohmann::json>;
using ObjectPtr = ObjectCache::Ptr;

}  // namespace accel::kube

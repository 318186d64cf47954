// object_cache.h — the informer's thread-safe store of objects, keyed by namespace/name,
// with an index on chosen label keys.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace accel::kube {

// Objects in the cache are immutable and shared: readers keep them alive safely.
using ObjectPtr = std::shared_ptr<const nlohmann::json>;

// "namespace/name", or "name" for a cluster-scoped object (client-go's MetaNamespaceKey).
std::string object_key(const nlohmann::json& object);
std::string object_key(const std::string& ns, const std::string& name);

class ObjectCache {
 public:
  // `index_labels`: label keys for which by_label() answers from an index.
  explicit ObjectCache(std::vector<std::string> index_labels = {});

  ObjectPtr get(const std::string& ns, const std::string& name) const;  // nullptr if absent
  ObjectPtr get(const std::string& key) const;
  std::vector<ObjectPtr> list() const;  // sorted by key
  std::vector<ObjectPtr> list(const std::string& ns) const;
  // Objects whose label `key` equals `value`. Throws std::invalid_argument naming the key
  // when it is not one of the index_labels.
  std::vector<ObjectPtr> by_label(const std::string& key, const std::string& value) const;
  std::size_t size() const;
  std::vector<std::string> keys() const;

  // Mutations (the informer's): return the previous object for that key, or nullptr.
  ObjectPtr upsert(ObjectPtr object);
  ObjectPtr erase(const std::string& key);

 private:
  void index_add(const std::string& key, const nlohmann::json& object);
  void index_remove(const std::string& key, const nlohmann::json& object);

  std::vector<std::string> index_labels_;
  mutable std::mutex mu_;
  std::map<std::string, ObjectPtr> items_;
  // label key -> label value -> object keys
  std::map<std::string, std::map<std::string, std::set<std::string>>> index_;
};

}  // namespace accel::kube

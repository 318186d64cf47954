// informer.h — list-then-watch one resource into an ObjectCache and tell handlers.
//
// The informer thread lists (paginated) and replaces the cache, calling on_add / on_update /
// on_delete for what differs from before (so a relist after a gap reports what was missed),
// marks itself synced, then watches from the list's resourceVersion, moving that version on
// with every event and BOOKMARK. It relists when the server says the version is too old
// (410 Gone answer, or an ERROR event with code 410); it re-watches at once when the server
// ends the stream normally, and with capped exponential backoff when the connection breaks
// (e.g. the apiserver restarted) or a list fails. Handlers run on the informer thread, one at
// a time, after the cache was updated; they must not block for long. The cache is always
// readable from any thread. What the cache keeps of each object is a record of type T
// (object_cache.h): `Informer` keeps whole documents less managedFields; a BasicInformer<T> keeps
// RecordTraits<T>::decode()'s compact record, and its handlers see those records. The template's
// definitions are in informer_impl.h: a .cpp that caches a new record type instantiates
// `template class BasicInformer<T>;` there.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "accel/kube/client.h"
#include "accel/kube/object_cache.h"
#include "accel/kube/watch.h"

namespace accel::kube {

// How the informer reaches the API — a seam for tests; ResourceListerWatcher is the real one.
class ListerWatcher {
 public:
  virtual ~ListerWatcher() = default;
  virtual ListResult list(const ListOptions& options) = 0;
  virtual std::unique_ptr<Watch> watch(const WatchOptions& options) = 0;
};

// Lists/watches `resource` in `ns` ("" = all namespaces) through `client` (which must outlive
// it). label_selector/field_selector in the options passed in are honoured.
class ResourceListerWatcher : public ListerWatcher {
 public:
  ResourceListerWatcher(Client& client, Resource resource, std::string ns);
  ListResult list(const ListOptions& options) override;
  std::unique_ptr<Watch> watch(const WatchOptions& options) override;

 private:
  Client& client_;
  Resource resource_;
  std::string ns_;
};

struct InformerOptions {
  std::string label_selector;             // only objects matching this
  std::string field_selector;
  std::vector<std::string> index_labels;  // label keys ObjectCache::by_label indexes
  std::int64_t page_size = 500;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{30000};
};

template <typename T>
struct BasicInformerHandlers {
  using Ptr = std::shared_ptr<const T>;
  std::function<void(const Ptr& object)> on_add;
  std::function<void(const Ptr& old_object, const Ptr& new_object)> on_update;
  std::function<void(const Ptr& last_known)> on_delete;
};

template <typename T>
class BasicInformer {
 public:
  using Ptr = std::shared_ptr<const T>;
  using Handlers = BasicInformerHandlers<T>;

  // For `resource` in namespace `ns` ("" = all). `client` must outlive the informer.
  BasicInformer(Client& client, Resource resource, std::string ns, InformerOptions options = {});
  BasicInformer(std::shared_ptr<ListerWatcher> source, InformerOptions options = {});
  ~BasicInformer();  // stop()
  BasicInformer(const BasicInformer&) = delete;
  BasicInformer& operator=(const BasicInformer&) = delete;

  // Adds handlers; call before start() (later ones miss earlier events).
  void add_handlers(Handlers handlers);
  void start();  // starts the thread; once
  // Cancels the open watch, wakes any backoff wait and joins. Bounded by the request timeout
  // of an in-flight list (at most ClientOptions::request_timeout). Idempotent.
  void stop();

  bool has_synced() const { return synced_.load(); }
  // Waits until the first list is in the cache and every handler has seen it; false on timeout
  // or stop().
  bool wait_for_sync(std::chrono::milliseconds timeout) const;
  const BasicObjectCache<T>& cache() const { return cache_; }

  // Observability (also used by tests): completed lists, opened watches, last version.
  int list_count() const { return lists_.load(); }
  int watch_count() const { return watches_.load(); }
  std::string resource_version() const;

 private:
  void run();
  bool relist();                 // false when stopping
  enum class WatchEnd { Normal, Expired, Broken };
  WatchEnd watch_once();
  void sleep_backoff(std::chrono::milliseconds& backoff);
  void apply_event(WatchEvent& event);  // takes the event's object
  template <typename F>
  void each_handler(F&& f);

  std::shared_ptr<ListerWatcher> source_;
  InformerOptions options_;
  BasicObjectCache<T> cache_;

  std::mutex handlers_mu_;
  std::vector<Handlers> handlers_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  std::shared_ptr<Watch> current_watch_;
  std::string resource_version_;
  std::thread thread_;
  std::atomic<bool> synced_{false};
  std::atomic<int> lists_{0};
  std::atomic<int> watches_{0};
};

// Whole documents (less managedFields); instantiated in informer.cpp.
using Informer = BasicInformer<nlohmann::json>;
using InformerHandlers = BasicInformerHandlers<nlohmann::json>;
extern template class BasicInformer<nlohmann::json>;

}  // namespace accel::kube

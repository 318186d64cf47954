#include "accel/kube/informer.h"

#include <set>

#include "accel/kube/errors.h"
#include "accel/kube/log.h"

namespace accel::kube {

namespace {
// What the cache keeps of an object: everything but metadata.managedFields (server-side apply
// bookkeeping, often the largest part of a small object, and never read by a controller). An
// update built from a cached object leaves the server's managedFields as they are.
nlohmann::json cacheable(nlohmann::json obj) {
  if (auto m = obj.find("metadata"); m != obj.end() && m->is_object()) m->erase("managedFields");
  return obj;
}

std::string rv_of(const nlohmann::json& obj) {
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return "";
  return m->value("resourceVersion", "");
}
}  // namespace

ResourceListerWatcher::ResourceListerWatcher(Client& client, Resource resource, std::string ns)
    : client_(client), resource_(std::move(resource)), ns_(std::move(ns)) {}

ListResult ResourceListerWatcher::list(const ListOptions& o) {
  return client_.list(resource_, ns_, o);
}

std::unique_ptr<Watch> ResourceListerWatcher::watch(const WatchOptions& o) {
  return client_.watch(resource_, ns_, o);
}

Informer::Informer(Client& client, Resource resource, std::string ns, InformerOptions options)
    : Informer(std::make_shared<ResourceListerWatcher>(client, std::move(resource), std::move(ns)),
               std::move(options)) {}

Informer::Informer(std::shared_ptr<ListerWatcher> source, InformerOptions options)
    : source_(std::move(source)), options_(std::move(options)), cache_(options_.index_labels) {}

Informer::~Informer() { stop(); }

void Informer::add_handlers(InformerHandlers h) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  handlers_.push_back(std::move(h));
}

void Informer::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  std::shared_ptr<Watch> w;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    w = current_watch_;
  }
  if (w) w->cancel();
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

bool Informer::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return synced_.load() || stopping_; });
  return synced_.load();
}

std::string Informer::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

template <typename F>
void Informer::each_handler(F&& f) {
  std::vector<InformerHandlers> hs;
  {
    std::lock_guard<std::mutex> lock(handlers_mu_);
    hs = handlers_;
  }
  for (const auto& h : hs) {
    try {
      f(h);
    } catch (const std::exception& e) {
      log(LogLevel::Error, std::string("informer event handler threw: ") + e.what());
    }
  }
}

void Informer::sleep_backoff(std::chrono::milliseconds& backoff) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, backoff, [&] { return stopping_; });
  backoff = std::min(backoff * 2, options_.backoff_max);
}

void Informer::run() {
  auto backoff = options_.backoff_initial;
  auto stopping = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  };
  while (!stopping()) {
    if (!relist()) {
      if (stopping()) break;
      sleep_backoff(backoff);
      continue;
    }
    backoff = options_.backoff_initial;
    while (!stopping()) {
      auto started = std::chrono::steady_clock::now();
      WatchEnd end = watch_once();
      if (stopping()) break;
      if (end == WatchEnd::Expired) {
        log(LogLevel::Info, "informer: resourceVersion " + resource_version() +
                                " expired (410); relisting");
        break;
      }
      bool quick = std::chrono::steady_clock::now() - started < std::chrono::seconds(1);
      if (end == WatchEnd::Broken || quick) {
        sleep_backoff(backoff);
      } else {
        backoff = options_.backoff_initial;
      }
    }
  }
}

bool Informer::relist() {
  ListResult all;
  try {
    ListOptions o;
    o.label_selector = options_.label_selector;
    o.field_selector = options_.field_selector;
    o.limit = options_.page_size;
    for (bool first = true;; first = false) {
      ListResult page;
      try {
        page = source_->list(o);
      } catch (const GoneError&) {
        // The continue token expired between pages: take one unpaginated list instead.
        o.limit = 0;
        o.continue_token.clear();
        all = source_->list(o);
        break;
      }
      if (first) all.resource_version = page.resource_version;
      for (auto& item : page.items) all.items.push_back(std::move(item));
      if (page.continue_token.empty()) break;
      o.continue_token = page.continue_token;
    }
  } catch (const std::exception& e) {
    log(LogLevel::Warning, std::string("informer: list failed: ") + e.what());
    return false;
  }

  // Replace the cache, then tell handlers what changed.
  std::vector<std::pair<ObjectPtr, ObjectPtr>> added_or_updated;  // {old, new}
  std::vector<ObjectPtr> deleted;
  std::set<std::string> present;
  for (auto& item : all.items) {
    auto obj = std::make_shared<const nlohmann::json>(cacheable(std::move(item)));
    present.insert(object_key(*obj));
    ObjectPtr old = cache_.upsert(obj);
    if (!old || rv_of(*old) != rv_of(*obj)) added_or_updated.emplace_back(old, obj);
  }
  for (const auto& key : cache_.keys())
    if (!present.count(key))
      if (auto gone = cache_.erase(key)) deleted.push_back(gone);
  {
    std::lock_guard<std::mutex> lock(mu_);
    resource_version_ = all.resource_version;
  }
  lists_++;
  for (const auto& [old, obj] : added_or_updated)
    each_handler([&](const InformerHandlers& h) {
      if (!old && h.on_add) h.on_add(obj);
      if (old && h.on_update) h.on_update(old, obj);
    });
  for (const auto& gone : deleted)
    each_handler([&](const InformerHandlers& h) {
      if (h.on_delete) h.on_delete(gone);
    });
  // Synced only once the handlers have seen the first list: a caller of wait_for_sync() may
  // rely on its on_add having run for everything that existed (client-go's HasSynced of a
  // registered handler means the same).
  synced_ = true;
  cv_.notify_all();
  return true;
}

Informer::WatchEnd Informer::watch_once() {
  WatchOptions o;
  o.label_selector = options_.label_selector;
  o.field_selector = options_.field_selector;
  o.resource_version = resource_version();
  o.timeout_seconds = options_.watch_timeout_seconds;
  o.allow_bookmarks = true;
  std::shared_ptr<Watch> w;
  try {
    w = source_->watch(o);
  } catch (const GoneError&) {
    return WatchEnd::Expired;
  } catch (const std::exception& e) {
    log(LogLevel::Warning, std::string("informer: watch failed to open: ") + e.what());
    return WatchEnd::Broken;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      w->cancel();
      return WatchEnd::Normal;
    }
    current_watch_ = w;
  }
  watches_++;
  struct Clear {
    Informer* self;
    ~Clear() {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->current_watch_.reset();
    }
  } clear{this};
  try {
    while (auto ev = w->next()) {
      switch (ev->type) {
        case WatchEvent::Type::Error: {
          int code = watch_error_code(*ev);
          if (code == 410) return WatchEnd::Expired;
          log(LogLevel::Warning, "informer: watch ERROR event: " + ev->object.dump());
          return WatchEnd::Broken;
        }
        case WatchEvent::Type::Bookmark: {
          std::string rv = rv_of(ev->object);
          std::lock_guard<std::mutex> lock(mu_);
          if (!rv.empty()) resource_version_ = rv;
          break;
        }
        default:
          apply_event(*ev);
      }
    }
    return WatchEnd::Normal;
  } catch (const std::exception& e) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_)
      log(LogLevel::Warning, std::string("informer: watch broke, will re-watch: ") + e.what());
    return WatchEnd::Broken;
  }
}

void Informer::apply_event(const WatchEvent& ev) {
  auto obj = std::make_shared<const nlohmann::json>(cacheable(ev.object));
  std::string rv = rv_of(*obj);
  if (ev.type == WatchEvent::Type::Deleted) {
    ObjectPtr old = cache_.erase(object_key(*obj));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!rv.empty()) resource_version_ = rv;
    }
    each_handler([&](const InformerHandlers& h) {
      if (h.on_delete) h.on_delete(obj);
    });
    return;
  }
  ObjectPtr old = cache_.upsert(obj);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!rv.empty()) resource_version_ = rv;
  }
  each_handler([&](const InformerHandlers& h) {
    if (!old && h.on_add) h.on_add(obj);
    if (old && h.on_update) h.on_update(old, obj);
  });
}

}  // namespace accel::kube

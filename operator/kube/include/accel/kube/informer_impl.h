// informer_impl.h — BasicInformer<T>'s definitions (informer.h). Included only by the .cpp that
// instantiates an informer for a record type: `template class BasicInformer<T>;`.
#pragma once

#include <set>

#include "accel/kube/errors.h"
#include "accel/kube/informer.h"
#include "accel/kube/log.h"

namespace accel::kube {

template <typename T>
BasicInformer<T>::BasicInformer(Client& client, Resource resource, std::string ns,
                                InformerOptions options)
    : BasicInformer(std::make_shared<ResourceListerWatcher>(client, std::move(resource), std::move(ns)),
               std::move(options)) {}

template <typename T>
BasicInformer<T>::BasicInformer(std::shared_ptr<ListerWatcher> source, InformerOptions options)
    : source_(std::move(source)), options_(std::move(options)), cache_(options_.index_labels) {}

template <typename T>
BasicInformer<T>::~BasicInformer() { stop(); }

template <typename T>
void BasicInformer<T>::add_handlers(Handlers h) {
  std::lock_guard<std::mutex> lock(handlers_mu_);
  handlers_.push_back(std::move(h));
}

template <typename T>
void BasicInformer<T>::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

template <typename T>
void BasicInformer<T>::stop() {
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

template <typename T>
bool BasicInformer<T>::wait_for_sync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return synced_.load() || stopping_; });
  return synced_.load();
}

template <typename T>
std::string BasicInformer<T>::resource_version() const {
  std::lock_guard<std::mutex> lock(mu_);
  return resource_version_;
}

template <typename T>
template <typename F>
void BasicInformer<T>::each_handler(F&& f) {
  std::vector<Handlers> hs;
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

template <typename T>
void BasicInformer<T>::sleep_backoff(std::chrono::milliseconds& backoff) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, backoff, [&] { return stopping_; });
  backoff = std::min(backoff * 2, options_.backoff_max);
}

template <typename T>
void BasicInformer<T>::run() {
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

template <typename T>
bool BasicInformer<T>::relist() {
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
  std::vector<std::pair<Ptr, Ptr>> added_or_updated;  // {old, new}
  std::vector<Ptr> deleted;
  std::set<std::string> present;
  for (auto& item : all.items) {
    Ptr obj = RecordTraits<T>::decode(std::move(item));
    present.insert(RecordTraits<T>::key(*obj));
    Ptr old = cache_.upsert(obj);
    if (!old || RecordTraits<T>::resource_version(*old) != RecordTraits<T>::resource_version(*obj))
      added_or_updated.emplace_back(old, obj);
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
    each_handler([&](const Handlers& h) {
      if (!old && h.on_add) h.on_add(obj);
      if (old && h.on_update) h.on_update(old, obj);
    });
  for (const auto& gone : deleted)
    each_handler([&](const Handlers& h) {
      if (h.on_delete) h.on_delete(gone);
    });
  // Synced only once the handlers have seen the first list: a caller of wait_for_sync() may
  // rely on its on_add having run for everything that existed (client-go's HasSynced of a
  // registered handler means the same).
  synced_ = true;
  cv_.notify_all();
  return true;
}

template <typename T>
typename BasicInformer<T>::WatchEnd BasicInformer<T>::watch_once() {
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
    BasicInformer* self;
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
          std::string rv = RecordTraits<nlohmann::json>::resource_version(ev->object);
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

template <typename T>
void BasicInformer<T>::apply_event(WatchEvent& ev) {
  Ptr obj = RecordTraits<T>::decode(std::move(ev.object));
  std::string rv = RecordTraits<T>::resource_version(*obj);
  if (ev.type == WatchEvent::Type::Deleted) {
    Ptr old = cache_.erase(RecordTraits<T>::key(*obj));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!rv.empty()) resource_version_ = rv;
    }
    each_handler([&](const Handlers& h) {
      if (h.on_delete) h.on_delete(obj);
    });
    return;
  }
  Ptr old = cache_.upsert(obj);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!rv.empty()) resource_version_ = rv;
  }
  each_handler([&](const Handlers& h) {
    if (!old && h.on_add) h.on_add(obj);
    if (old && h.on_update) h.on_update(old, obj);
  });
}

}  // namespace accel::kube

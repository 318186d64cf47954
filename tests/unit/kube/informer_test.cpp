// Informer logic against a scripted ListerWatcher (no network): list-then-watch, handlers,
// bookmarks, relist on an ERROR 410 event and on a 410 answer, re-watch after a broken stream
// from the last resourceVersion, label index, and stop() while a watch is blocked.
// The same paths run against the real apiserver in tests/integration/kube.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "accel/kube/errors.h"
#include "accel/kube/informer.h"

namespace accel::kube {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

json cm(const std::string& name, const std::string& rv, const std::string& app = "x") {
  return {{"metadata",
           {{"name", name}, {"namespace", "ns"}, {"resourceVersion", rv}, {"labels", {{"app", app}}}}}};
}

struct Step {
  enum Kind { Event, Throw, End } kind = Event;
  WatchEvent event;
};
Step ev(WatchEvent::Type t, json obj) { return {Step::Event, {t, std::move(obj)}}; }
Step end_stream() { return {Step::End, {}}; }
Step broken() { return {Step::Throw, {}}; }

// Plays its steps, then blocks like an idle stream until cancelled.
class ScriptedWatch : public Watch {
 public:
  explicit ScriptedWatch(std::deque<Step> steps) : steps_(std::move(steps)) {}
  std::optional<WatchEvent> next() override {
    std::unique_lock<std::mutex> lock(mu_);
    if (cancelled_) return std::nullopt;
    if (!steps_.empty()) {
      Step s = steps_.front();
      steps_.pop_front();
      if (s.kind == Step::Throw) throw TransportError("scripted: connection reset");
      if (s.kind == Step::End) return std::nullopt;
      return s.event;
    }
    cv_.wait(lock, [&] { return cancelled_; });
    return std::nullopt;
  }
  void cancel() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::deque<Step> steps_;
};

class ScriptedSource : public ListerWatcher {
 public:
  std::mutex mu;
  std::condition_variable cv;
  std::deque<ListResult> lists;             // successive list answers (last one repeats)
  std::deque<std::deque<Step>> watches;     // successive watch scripts
  std::deque<bool> watch_gone;              // per watch call: answer 410 up front
  std::vector<std::string> watch_versions;  // resourceVersion each watch was opened at
  int list_calls = 0;

  ListResult list(const ListOptions&) override {
    std::lock_guard<std::mutex> lock(mu);
    ++list_calls;
    cv.notify_all();
    ListResult r = lists.front();
    if (lists.size() > 1) lists.pop_front();
    return r;
  }
  std::unique_ptr<Watch> watch(const WatchOptions& o) override {
    std::lock_guard<std::mutex> lock(mu);
    watch_versions.push_back(o.resource_version);
    cv.notify_all();
    if (!watch_gone.empty()) {
      bool gone = watch_gone.front();
      watch_gone.pop_front();
      if (gone) throw GoneError(410, "Expired", "too old resource version", "GET watch");
    }
    std::deque<Step> steps;
    if (!watches.empty()) {
      steps = std::move(watches.front());
      watches.pop_front();
    }
    return std::make_unique<ScriptedWatch>(std::move(steps));
  }
  // Waits (bounded) until `n` watches were opened.
  bool wait_watches(std::size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return watch_versions.size() >= n; });
  }
};

struct Recorder {
  std::mutex mu;
  std::vector<std::string> log;
  InformerHandlers handlers() {
    return {[this](const ObjectPtr& o) { push("add " + object_key(*o)); },
            [this](const ObjectPtr&, const ObjectPtr& n) {
              push("update " + object_key(*n) + "@" + (*n)["metadata"]["resourceVersion"].get<std::string>());
            },
            [this](const ObjectPtr& o) { push("delete " + object_key(*o)); }};
  }
  void push(std::string s) {
    std::lock_guard<std::mutex> lock(mu);
    log.push_back(std::move(s));
  }
  std::vector<std::string> get() {
    std::lock_guard<std::mutex> lock(mu);
    return log;
  }
};

InformerOptions fast() {
  InformerOptions o;
  o.backoff_initial = milliseconds(5);
  o.backoff_max = milliseconds(20);
  o.index_labels = {"app"};
  return o;
}

TEST(Informer, ListsThenAppliesWatchEventsInOrder) {
  auto src = std::make_shared<ScriptedSource>();
  src->lists.push_back({{cm("a", "10")}, "10", ""});
  src->watches.push_back({ev(WatchEvent::Type::Added, cm("b", "11")),
                          ev(WatchEvent::Type::Modified, cm("a", "12")),
                          ev(WatchEvent::Type::Deleted, cm("b", "13"))});
  Recorder rec;
  Informer inf(src, fast());
  inf.add_handlers(rec.handlers());
  inf.start();
  ASSERT_TRUE(inf.wait_for_sync(milliseconds(10000)));
  ASSERT_TRUE(src->wait_watches(1));
  for (int i = 0; i < 1000 && rec.get().size() < 4; ++i) std::this_thread::sleep_for(milliseconds(5));
  inf.stop();
  EXPECT_EQ(rec.get(), (std::vector<std::string>{"add ns/a", "add ns/b", "update ns/a@12", "delete ns/b"}));
  EXPECT_EQ(src->watch_versions.front(), "10");
  EXPECT_EQ(inf.resource_version(), "13");
  ASSERT_NE(inf.cache().get("ns", "a"), nullptr);
  EXPECT_EQ((*inf.cache().get("ns", "a"))["metadata"]["resourceVersion"], "12");
  EXPECT_EQ(inf.cache().get("ns", "b"), nullptr);
}

TEST(Informer, CachesObjectsWithoutManagedFieldsFromListAndWatch) {
  auto with_fields = [](json o) {
    o["metadata"]["managedFields"] = json::array({{{"manager", "kubectl"}, {"operation", "Apply"}}});
    return o;
  };
  auto src = std::make_shared<ScriptedSource>();
  src->lists.push_back({{with_fields(cm("a", "10"))}, "10", ""});
  src->watches.push_back({ev(WatchEvent::Type::Added, with_fields(cm("b", "11")))});
  Informer inf(src, fast());
  inf.start();
  ASSERT_TRUE(inf.wait_for_sync(milliseconds(10000)));
  for (int i = 0; i < 1000 && !inf.cache().get("ns", "b"); ++i) std::this_thread::sleep_for(milliseconds(5));
  inf.stop();
  for (const char* name : {"a", "b"}) {
    auto o = inf.cache().get("ns", name);
    ASSERT_NE(o, nullptr) << name;
    EXPECT_FALSE((*o)["metadata"].contains("managedFields")) << name;
    EXPECT_EQ((*o)["metadata"]["labels"]["app"], "x") << "the rest of the object is kept";
  }
}

TEST(Informer, RelistsOnAnErrorEventWithCode410AndReportsWhatChanged) {
  auto src = std::make_shared<ScriptedSource>();
  src->lists.push_back({{cm("a", "10")}, "10", ""});
  src->lists.push_back({{cm("c", "30")}, "30", ""});
  json expired = {{"kind", "Status"}, {"reason", "Expired"}, {"code", 410}};
  src->watches.push_back({ev(WatchEvent::Type::Error, expired)});
  Recorder rec;
  Informer inf(src, fast());
  inf.add_handlers(rec.handlers());
  inf.start();
  ASSERT_TRUE(src->wait_watches(2));
  inf.stop();
  EXPECT_EQ(inf.list_count(), 2);
  EXPECT_EQ(src->watch_versions[1], "30");  // watches again from the new list
  EXPECT_EQ(rec.get(), (std::vector<std::string>{"add ns/a", "add ns/c", "delete ns/a"}));
  EXPECT_EQ(inf.cache().keys(), (std::vector<std::string>{"ns/c"}));
}

TEST(Informer, RelistsWhenTheWatchIsRefusedWith410) {
  auto src = std::make_shared<ScriptedSource>();
  src->lists.push_back({{cm("a", "10")}, "10", ""});
  src->lists.push_back({{cm("a", "10")}, "40", ""});
  src->watch_gone = {true, false};
  Informer inf(src, fast());
  inf.start();
  ASSERT_TRUE(src->wait_watches(2));
  inf.stop();
  EXPECT_EQ(inf.list_count(), 2);
  EXPECT_EQ(src->watch_versions[1], "40");
}

TEST(Informer, ReWatchesFromTheLastVersionAfterABrokenStreamWithoutRelisting) {
  auto src = std::make_shared<ScriptedSource>();
  src->lists.push_back({{}, "10", ""});
  src->watches.push_back({ev(WatchEvent::Type::Added, cm("a", "11")), broken()});
  src->watches.push_back({ev(WatchEvent::Type::Bookmark, {{"metadata", {{"resourceVersion", "55"}}}}),
                          end_stream()});
  Informer inf(src, fast());
  inf.start();
  ASSERT_TRUE(src->wait_watches(3));
  inf.stop();
  EXPECT_EQ(inf.list_count(), 1);
  EXPECT_EQ(src->watch_versions[0], "10");
  EXPECT_EQ(src->watch_versions[1], "11");  // after the break: from the last event
  EXPECT_EQ(src->watch_versions[2], "55");  // after a normal end: from the bookmark
  EXPECT_NE(inf.cache().get("ns", "a"), nullptr);
}

TEST(Informer, IndexesChosenLabels) {
  auto src = std::make_shared<ScriptedSource>();
  src->lists.push_back({{cm("a", "1", "web"), cm("b", "2", "db"), cm("c", "3", "web")}, "3", ""});
  src->watches.push_back({ev(WatchEvent::Type::Modified, cm("c", "4", "db"))});
  Informer inf(src, fast());
  inf.start();
  ASSERT_TRUE(src->wait_watches(1));
  for (int i = 0; i < 1000 && inf.resource_version() != "4"; ++i)
    std::this_thread::sleep_for(milliseconds(5));
  EXPECT_EQ(inf.cache().by_label("app", "web").size(), 1u);
  EXPECT_EQ(inf.cache().by_label("app", "db").size(), 2u);
  EXPECT_EQ(inf.cache().list("ns").size(), 3u);
  EXPECT_THROW(inf.cache().by_label("tier", "x"), std::invalid_argument);
  inf.stop();
}

TEST(Informer, StopReturnsWhileAWatchIsBlocked) {
  auto src = std::make_shared<ScriptedSource>();
  src->lists.push_back({{}, "1", ""});
  Informer inf(src, fast());
  inf.start();
  ASSERT_TRUE(src->wait_watches(1));
  inf.stop();  // would hang forever if the idle watch were not cancelled
  EXPECT_TRUE(inf.has_synced());
}

}  // namespace
}  // namespace accel::kube

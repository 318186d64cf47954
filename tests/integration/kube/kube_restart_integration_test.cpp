// The informer against a REAL kube-apiserver that restarts (tests/support/control_plane.h,
// restart_apiserver(): same port, same etcd). Own control plane, since restarts would
// disturb other tests.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "accel/kube/client.h"
#include "accel/kube/errors.h"
#include "accel/kube/informer.h"
#include "control_plane.h"
#include "kube_helpers.h"

namespace accel::kube {
namespace {

using nlohmann::json;
using namespace accel::kube::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

const Resource kCM = resources::config_maps();

json config_map(const std::string& name) {
  return {{"metadata", {{"name", name}}}, {"data", {{"k", "v"}}}};
}

InformerOptions quick_backoff() {
  InformerOptions o;
  o.backoff_initial = milliseconds(100);
  o.backoff_max = seconds(2);
  return o;
}

TEST(KubeInformerRestart, RecoversAfterTheApiserverRestartsAndSeesLaterChanges) {
  Client c(ClientConfig::from_kubeconfig(cp().kubeconfig()));
  auto ns = make_namespace(c, "restart");
  Informer inf(c, kCM, ns, quick_backoff());
  inf.start();
  ASSERT_TRUE(inf.wait_for_sync(seconds(30)));
  c.create(kCM, ns, config_map("before-restart"));
  ASSERT_TRUE(eventually([&] { return inf.cache().get(ns, "before-restart") != nullptr; }));
  int watches_before = inf.watch_count();

  cp().restart_apiserver();  // the open watch's connection drops

  auto r = cp().kubectl({"create", "configmap", "after-restart", "-n", ns});
  ASSERT_TRUE(r.status.success()) << r.output;
  ASSERT_TRUE(eventually([&] { return inf.cache().get(ns, "after-restart") != nullptr; },
                         seconds(90)));
  EXPECT_GT(inf.watch_count(), watches_before);  // it re-watched
  EXPECT_NE(inf.cache().get(ns, "before-restart"), nullptr);
  inf.stop();
}

// Passes the real list/watch through, but makes the FIRST list claim resourceVersion "1",
// as an informer resuming from a long-gone version would; records what the server answers
// to the watch from there.
class StaleFirstList : public ListerWatcher {
 public:
  StaleFirstList(Client& c, std::string ns) : real_(c, kCM, std::move(ns)) {}
  ListResult list(const ListOptions& o) override {
    auto r = real_.list(o);
    if (lists_++ == 0) r.resource_version = "1";
    return r;
  }
  std::unique_ptr<Watch> watch(const WatchOptions& o) override {
    try {
      return std::make_unique<Recording>(real_.watch(o), this);
    } catch (const GoneError&) {
      server_said_410 = true;  // refused up front
      throw;
    }
  }
  std::atomic<bool> server_said_410{false};

 private:
  class Recording : public Watch {
   public:
    Recording(std::unique_ptr<Watch> w, StaleFirstList* owner) : w_(std::move(w)), owner_(owner) {}
    std::optional<WatchEvent> next() override {
      auto e = w_->next();
      if (e && watch_error_code(*e) == 410) owner_->server_said_410 = true;
      return e;
    }
    void cancel() override { w_->cancel(); }

   private:
    std::unique_ptr<Watch> w_;
    StaleFirstList* owner_;
  };
  ResourceListerWatcher real_;
  std::atomic<int> lists_{0};
};

// What this proves: the real apiserver answers a watch from a too-old resourceVersion with 410
// (after a restart its watch cache starts above "1"; it sends an ERROR event with code 410,
// "Expired"), and the informer reacts by relisting and then watching from the fresh version,
// so later changes arrive. The stale version itself is injected (first list), because forcing
// etcd compaction from a test is not practical.
TEST(KubeInformerRestart, RelistsWhenTheServerSaysTheResourceVersionIsTooOld) {
  Client c(ClientConfig::from_kubeconfig(cp().kubeconfig()));
  auto ns = make_namespace(c, "relist");
  c.create(kCM, ns, config_map("existing"));
  cp().restart_apiserver();  // the watch cache now starts well above resourceVersion 1
  ASSERT_TRUE(eventually([&] {
    try {
      c.get(kCM, ns, "existing");
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }, seconds(60)));

  auto source = std::make_shared<StaleFirstList>(c, ns);
  Informer inf(source, quick_backoff());
  inf.start();
  ASSERT_TRUE(inf.wait_for_sync(seconds(30)));
  ASSERT_TRUE(eventually([&] { return inf.list_count() >= 2; }, seconds(60)))
      << "the informer never relisted";
  EXPECT_TRUE(source->server_said_410.load());
  EXPECT_NE(inf.resource_version(), "1");

  c.create(kCM, ns, config_map("after-relist"));
  ASSERT_TRUE(eventually([&] { return inf.cache().get(ns, "after-relist") != nullptr; }));
  EXPECT_NE(inf.cache().get(ns, "existing"), nullptr);
  inf.stop();
}

}  // namespace
}  // namespace accel::kube

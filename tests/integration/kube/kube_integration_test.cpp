// accel::kube against the REAL control plane: kube-apiserver + etcd built from source and
// started by tests/support/control_plane.h (one shared by all tests of this binary; each test
// works in its own namespace). kubectl (same version) makes changes the informer must see.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "accel/kube/client.h"
#include "accel/kube/event_recorder.h"
#include "accel/kube/informer.h"
#include "accel/kube/leader_elector.h"
#include "control_plane.h"
#include "kube_helpers.h"

namespace accel::kube {
namespace {

using nlohmann::json;
using namespace accel::kube::testing;
using std::chrono::milliseconds;
using std::chrono::seconds;

Client admin() { return Client(ClientConfig::from_kubeconfig(cp().kubeconfig())); }

const Resource kCM = resources::config_maps();

json config_map(const std::string& name, const std::string& value,
                const std::string& app = "demo") {
  return {{"metadata", {{"name", name}, {"labels", {{"app", app}}}}}, {"data", {{"k", value}}}};
}

// Create, read, update (optimistic concurrency), three patch kinds, list with selector and
// pagination, delete with preconditions — through whichever credentials `c` carries.
void exercise_crud(Client& c, const std::string& ns) {
  auto created = c.create(kCM, ns, config_map("cfg", "v1"));
  std::string uid = created["metadata"]["uid"];
  EXPECT_FALSE(uid.empty());

  auto got = c.get(kCM, ns, "cfg");
  EXPECT_EQ(got["data"]["k"], "v1");

  auto stale = got;
  got["data"]["k"] = "v2";
  auto updated = c.update(kCM, got);
  EXPECT_EQ(updated["data"]["k"], "v2");
  EXPECT_NE(updated["metadata"]["resourceVersion"], stale["metadata"]["resourceVersion"]);
  stale["data"]["k"] = "lost-update";
  EXPECT_THROW(c.update(kCM, stale), ConflictError);  // its resourceVersion is out of date

  c.patch(kCM, ns, "cfg", PatchType::Merge, {{"data", {{"k", "v3"}}}});
  EXPECT_EQ(c.get(kCM, ns, "cfg")["data"]["k"], "v3");
  c.patch(kCM, ns, "cfg", PatchType::JsonPatch,
          json::array({{{"op", "replace"}, {"path", "/data/k"}, {"value", "v4"}}}));
  EXPECT_EQ(c.get(kCM, ns, "cfg")["data"]["k"], "v4");
  PatchOptions apply;
  apply.field_manager = "accel-test";
  apply.force = true;
  auto applied = c.patch(kCM, ns, "cfg", PatchType::Apply,
                         {{"apiVersion", "v1"},
                          {"kind", "ConfigMap"},
                          {"metadata", {{"name", "cfg"}, {"namespace", ns}}},
                          {"data", {{"applied", "yes"}}}},
                         apply);
  EXPECT_EQ(applied["data"]["applied"], "yes");

  c.create(kCM, ns, config_map("other1", "x", "other"));
  c.create(kCM, ns, config_map("other2", "x", "other"));
  ListOptions sel;
  sel.label_selector = "app=demo";
  auto demo = c.list(kCM, ns, sel);
  ASSERT_EQ(demo.items.size(), 1u);
  EXPECT_EQ(demo.items[0]["metadata"]["name"], "cfg");
  EXPECT_EQ(demo.items[0]["kind"], "ConfigMap");
  EXPECT_FALSE(demo.resource_version.empty());

  std::set<std::string> names;
  ListOptions page;
  page.limit = 1;
  int pages = 0;
  do {
    auto r = c.list(kCM, ns, page);
    for (auto& i : r.items) names.insert(i["metadata"]["name"].get<std::string>());
    page.continue_token = r.continue_token;
    ++pages;
  } while (!page.continue_token.empty() && pages < 20);
  EXPECT_GE(pages, 3);
  EXPECT_TRUE(names.count("cfg") && names.count("other1") && names.count("other2"));

  DeleteOptions wrong_uid;
  wrong_uid.precondition_uid = "00000000-0000-0000-0000-000000000000";
  EXPECT_THROW(c.remove(kCM, ns, "cfg", wrong_uid), ConflictError);
  DeleteOptions del;
  del.precondition_uid = uid;
  del.propagation_policy = "Background";
  del.grace_period_seconds = 0;
  c.remove(kCM, ns, "cfg", del);
  EXPECT_THROW(c.get(kCM, ns, "cfg"), NotFoundError);
}

TEST(KubeClient, CrudWithClientCertificateKubeconfig) {
  auto c = admin();
  exercise_crud(c, make_namespace(c, "crud-cert"));
}

TEST(KubeClient, CrudWithBearerTokenKubeconfig) {
  auto cfg = ClientConfig::from_kubeconfig(cp().kubeconfig_token());
  ASSERT_FALSE(cfg.token.empty());
  ASSERT_TRUE(cfg.client_cert_pem.empty());
  Client c(cfg);
  exercise_crud(c, make_namespace(c, "crud-token"));
}

TEST(KubeClient, MapsNotFoundConflictAndInvalidKeepingTheServersMessage) {
  auto c = admin();
  auto ns = make_namespace(c, "errors");
  try {
    c.get(kCM, ns, "missing");
    FAIL() << "expected NotFoundError";
  } catch (const NotFoundError& e) {
    EXPECT_EQ(e.code(), 404);
    EXPECT_EQ(e.reason(), "NotFound");
    EXPECT_NE(e.server_message().find("\"missing\" not found"), std::string::npos) << e.what();
  }
  c.create(kCM, ns, config_map("dup", "1"));
  try {
    c.create(kCM, ns, config_map("dup", "2"));
    FAIL() << "expected ConflictError";
  } catch (const ConflictError& e) {
    EXPECT_EQ(e.code(), 409);
    EXPECT_EQ(e.reason(), "AlreadyExists");
  }
  try {
    c.create(kCM, ns, config_map("Bad_Name", "1"));
    FAIL() << "expected InvalidError";
  } catch (const InvalidError& e) {
    EXPECT_EQ(e.code(), 422);
    EXPECT_NE(e.server_message().find("metadata.name"), std::string::npos) << e.what();
  }
}

TEST(KubeClient, UpdatesTheStatusSubresource) {
  auto c = admin();
  auto ns = make_namespace(c, "status");
  auto svcs = resources::services();
  c.create(svcs, ns,
           {{"metadata", {{"name", "lb"}}},
            {"spec", {{"type", "LoadBalancer"}, {"ports", json::array({{{"port", 80}}})}}}});
  auto svc = c.get(svcs, ns, "lb");
  svc["status"] = {{"loadBalancer", {{"ingress", json::array({{{"ip", "192.0.2.7"}}})}}}};
  c.update_status(svcs, svc);
  EXPECT_EQ(c.get(svcs, ns, "lb")["status"]["loadBalancer"]["ingress"][0]["ip"], "192.0.2.7");
}

TEST(KubeClient, RejectsAServerSignedByAnotherCa) {
  std::string dir = cp().dir() + "/other-ca";
  auto r = run_command({"bash", "-c",
                        "mkdir -p " + dir + " && openssl req -x509 -newkey rsa:2048 -nodes -keyout " +
                            dir + "/ca.key -out " + dir + "/ca.crt -days 1 -subj /CN=not-the-cluster " +
                            "2>/dev/null"});
  ASSERT_TRUE(r.status.success()) << r.output;
  auto cfg = ClientConfig::from_kubeconfig(cp().kubeconfig());
  cfg.ca_pem = read_file(dir + "/ca.crt");
  ClientOptions fast;
  fast.max_retries = 0;
  Client c(cfg, fast);
  try {
    c.get(resources::namespaces(), "", "default");
    FAIL() << "TLS verification accepted a server the configured CA did not sign";
  } catch (const TransportError& e) {
    EXPECT_NE(std::string(e.what()).find("SSL"), std::string::npos) << e.what();
  }
  // Same client settings with the right CA work: the failure above was the CA.
  cfg.ca_pem = read_file(cp().ca_file());
  Client ok(cfg, fast);
  EXPECT_EQ(ok.get(resources::namespaces(), "", "default")["metadata"]["name"], "default");
}

TEST(KubeClient, FollowsARotatedTokenFile) {
  std::string token_file = cp().dir() + "/rotating-token";
  std::ofstream(token_file) << "not-a-valid-token\n";
  auto cfg = ClientConfig::from_kubeconfig(cp().kubeconfig_token());
  cfg.token.clear();
  cfg.token_file = token_file;
  Client c(cfg);
  try {
    c.get(resources::namespaces(), "", "default");
    FAIL() << "an invalid token was accepted";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.code(), 401) << e.what();
  }
  // Rotate: write the valid token to a new file and move it over the old one.
  std::ofstream(token_file + ".new") << read_file(cp().dir() + "/pki/admin.token");
  ASSERT_EQ(std::rename((token_file + ".new").c_str(), token_file.c_str()), 0);
  EXPECT_EQ(c.get(resources::namespaces(), "", "default")["metadata"]["name"], "default");
}

TEST(KubeWatch, StreamsEventsAndCancelUnblocksNext) {
  auto c = admin();
  auto ns = make_namespace(c, "watch");
  auto start = c.list(kCM, ns);
  WatchOptions wo;
  wo.resource_version = start.resource_version;
  wo.timeout_seconds = 120;
  auto w = c.watch(kCM, ns, wo);
  c.create(kCM, ns, config_map("w1", "1"));
  std::optional<WatchEvent> ev;
  do {
    ev = w->next();
  } while (ev && ev->type == WatchEvent::Type::Bookmark);
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->type, WatchEvent::Type::Added);
  EXPECT_EQ(ev->object["metadata"]["name"], "w1");

  std::atomic<bool> returned{false};
  std::thread reader([&] {
    while (auto e = w->next()) {
    }
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(200));
  w->cancel();
  reader.join();  // hangs (and the test times out) if cancel does not unblock next()
  EXPECT_TRUE(returned);
}

TEST(KubeWatch, EndsCleanlyWhenTheServersTimeoutPasses) {
  auto c = admin();
  auto ns = make_namespace(c, "watch-timeout");
  WatchOptions wo;
  wo.resource_version = c.list(kCM, ns).resource_version;
  wo.timeout_seconds = 1;
  wo.allow_bookmarks = false;
  auto w = c.watch(kCM, ns, wo);
  // No events; the server closes the stream after 1 s: a clean end, not a TransportError.
  EXPECT_FALSE(w->next().has_value());
}

TEST(KubeInformer, SeesAddUpdateDeleteMadeWithKubectl) {
  auto c = admin();
  auto ns = make_namespace(c, "informer");
  c.create(kCM, ns, config_map("before", "0", "web"));

  std::mutex mu;
  std::vector<std::string> seen;
  auto note = [&](std::string s) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(std::move(s));
  };
  auto has = [&](const std::string& s) {
    std::lock_guard<std::mutex> lock(mu);
    return std::find(seen.begin(), seen.end(), s) != seen.end();
  };
  InformerOptions opts;
  opts.index_labels = {"app"};
  Informer inf(c, kCM, ns, opts);
  inf.add_handlers({[&](const ObjectPtr& o) { note("add " + object_key(*o)); },
                    [&](const ObjectPtr&, const ObjectPtr& n) {
                      note("update " + object_key(*n) + " " +
                           (*n)["metadata"]["labels"].value("app", ""));
                    },
                    [&](const ObjectPtr& o) { note("delete " + object_key(*o)); }});
  inf.start();
  ASSERT_TRUE(inf.wait_for_sync(seconds(30)));
  EXPECT_TRUE(has("add " + ns + "/before"));
  EXPECT_NE(inf.cache().get(ns, "before"), nullptr);

  auto k = [&](std::vector<std::string> args) {
    args.push_back("-n");
    args.push_back(ns);
    auto r = cp().kubectl(args);
    ASSERT_TRUE(r.status.success()) << r.output;
  };
  k({"create", "configmap", "made-by-kubectl", "--from-literal=a=1"});
  ASSERT_TRUE(eventually([&] { return has("add " + ns + "/made-by-kubectl"); }));
  k({"label", "configmap", "made-by-kubectl", "app=web"});
  ASSERT_TRUE(eventually([&] { return has("update " + ns + "/made-by-kubectl web"); }));
  EXPECT_EQ(inf.cache().by_label("app", "web").size(), 2u);
  k({"delete", "configmap", "made-by-kubectl"});
  ASSERT_TRUE(eventually([&] { return has("delete " + ns + "/made-by-kubectl"); }));
  EXPECT_EQ(inf.cache().get(ns, "made-by-kubectl"), nullptr);
  EXPECT_EQ(inf.cache().by_label("app", "web").size(), 1u);
  inf.stop();
}

TEST(KubeInformer, LabelSelectorLimitsTheCache) {
  auto c = admin();
  auto ns = make_namespace(c, "informer-selector");
  InformerOptions opts;
  opts.label_selector = "app=wanted";
  Informer inf(c, kCM, ns, opts);
  inf.start();
  ASSERT_TRUE(inf.wait_for_sync(seconds(30)));
  c.create(kCM, ns, config_map("skip", "1", "unwanted"));
  c.create(kCM, ns, config_map("keep", "1", "wanted"));
  ASSERT_TRUE(eventually([&] { return inf.cache().get(ns, "keep") != nullptr; }));
  EXPECT_EQ(inf.cache().get(ns, "skip"), nullptr);
  // Only the matching object is cached (the selector is applied by the server).
  EXPECT_EQ(inf.cache().size(), 1u);
}

TEST(KubeLeaderElection, ExactlyOneLeadsAndTheOtherTakesOverAfterRelease) {
  auto c = admin();
  auto ns = make_namespace(c, "election");
  auto config = [&](const std::string& id) {
    LeaderElectionConfig cfg;
    cfg.lease_namespace = ns;
    cfg.lease_name = "accel-operator";
    cfg.identity = id;
    cfg.lease_duration = seconds(2);
    cfg.renew_deadline = milliseconds(1500);
    cfg.retry_period = milliseconds(500);
    return cfg;
  };
  std::atomic<int> a_started{0}, a_stopped{0}, b_started{0}, b_stopped{0};
  Client ca = admin(), cb = admin();
  auto a = std::make_unique<LeaderElector>(
      ca, config("candidate-a"),
      LeaderCallbacks{[&] { a_started++; }, [&] { a_stopped++; }, nullptr});
  LeaderElector b(cb, config("candidate-b"),
                  LeaderCallbacks{[&] { b_started++; }, [&] { b_stopped++; }, nullptr});
  a->start();
  b.start();
  ASSERT_TRUE(eventually([&] { return a->is_leader() || b.is_leader(); }));
  // For several lease durations, never both.
  for (int i = 0; i < 30; ++i) {
    ASSERT_FALSE(a->is_leader() && b.is_leader()) << "two leaders at sample " << i;
    std::this_thread::sleep_for(milliseconds(200));
  }
  bool a_leads = a->is_leader();
  ASSERT_NE(a_leads, b.is_leader());
  auto lease = c.get(resources::leases(), ns, "accel-operator");
  EXPECT_EQ(lease["spec"]["holderIdentity"], a_leads ? "candidate-a" : "candidate-b");
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 2);

  if (a_leads) {
    a->stop();  // releases the lease
    EXPECT_EQ(a_stopped.load(), 1);
    ASSERT_TRUE(eventually([&] { return b.is_leader(); }));
    EXPECT_EQ(b_started.load(), 1);
  } else {
    b.stop();
    EXPECT_EQ(b_stopped.load(), 1);
    ASSERT_TRUE(eventually([&] { return a->is_leader(); }));
    EXPECT_EQ(a_started.load(), 1);
  }
  lease = c.get(resources::leases(), ns, "accel-operator");
  EXPECT_EQ(lease["spec"]["holderIdentity"], a_leads ? "candidate-b" : "candidate-a");
  EXPECT_GE(lease["spec"]["leaseTransitions"].get<int>(), 1);
  a.reset();
  b.stop();
}

TEST(KubeEvents, CreatesEventsAndAggregatesRepeats) {
  auto c = admin();
  auto ns = make_namespace(c, "events");
  auto obj = c.create(kCM, ns, config_map("subject", "1"));
  {
    EventRecorderOptions o;
    o.component = "accel-test";
    EventRecorder rec(c, o);
    for (int i = 0; i < 3; ++i)
      rec.record(obj, EventType::Warning, "RendezvousTimeout", "rank 3 did not join");
    rec.record(obj, EventType::Normal, "Created", "created 2 pods");
    ASSERT_TRUE(rec.flush(seconds(60)));
    EXPECT_EQ(rec.written(), 4u);
    EXPECT_EQ(rec.failed(), 0u);
  }
  auto events = c.list(resources::events(), ns).items;
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) {
    EXPECT_EQ(e["involvedObject"]["uid"], obj["metadata"]["uid"]);
    EXPECT_EQ(e["involvedObject"]["kind"], "ConfigMap");
    EXPECT_EQ(e["source"]["component"], "accel-test");
    if (e["reason"] == "RendezvousTimeout") {
      EXPECT_EQ(e["type"], "Warning");
      EXPECT_EQ(e["count"], 3);
      EXPECT_EQ(e["message"], "rank 3 did not join");
    } else {
      EXPECT_EQ(e["reason"], "Created");
      EXPECT_EQ(e["type"], "Normal");
      EXPECT_EQ(e["count"], 1);
    }
  }
}

TEST(KubeEvents, RecordNeverThrowsEvenWhenTheServerRefuses) {
  auto c = admin();
  EventRecorder rec(c);
  // Namespace does not exist: the create fails (404) — counted and logged, not thrown.
  ObjectReference ref{"v1", "ConfigMap", "no-such-namespace", "x", "", ""};
  EXPECT_NO_THROW(rec.record(ref, EventType::Normal, "R", "m"));
  ASSERT_TRUE(rec.flush(seconds(60)));
  EXPECT_EQ(rec.failed(), 1u);
}

}  // namespace
}  // namespace accel::kube

// The /progress poller (accel/progress/progress_poller.h) against real HTTP servers on loopback
// (accel::http::Server, what every rank serves /progress with).
#include "accel/progress/progress_poller.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "http_server.h"

namespace accel::op {
namespace {

using namespace std::chrono_literals;

struct Rank {
  explicit Rank(http::Handler h)
      : server(http::ServerOptions{"127.0.0.1", 0}, {{"/progress", std::move(h)}}) {}
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + "/progress";
  }
  http::Server server;
};

http::Response json_body(const std::string& body) { return {200, "application/json", body}; }

TEST(FetchProgress, ReadsTheWorkersDocument) {
  Rank r([] {
    return json_body(R"({"step": 42, "totalSteps": 100, "samplesPerSecond": 8.5,
                                   "lastStepTime": 1767225600.5, "loss": 2.25})");
  });
  auto p = fetch_progress(r.url(), 2s);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->step, 42);
  EXPECT_EQ(p->totalSteps, 100);
  EXPECT_EQ(p->lastStepTime, "2026-01-01T00:00:00Z");
  ASSERT_TRUE(p->loss.has_value());
  EXPECT_DOUBLE_EQ(*p->loss, 2.25);
}

TEST(FetchProgress, GarbageMissingAndHugeAnswersAreNoProgress) {
  Rank garbage([] { return json_body("step=3 \x01\x02 not json"); });
  EXPECT_FALSE(fetch_progress(garbage.url(), 2s).has_value());
  Rank wrong([] { return json_body(R"({"step": "many"})"); });
  EXPECT_FALSE(fetch_progress(wrong.url(), 2s).has_value());
  Rank failing([] { return http::Response{500, "text/plain", "boom"}; });
  EXPECT_FALSE(fetch_progress(failing.url(), 2s).has_value());
  Rank huge(
      [] { return json_body(R"({"step": 1, "pad": ")" + std::string(100 * 1024, 'x') + "\"}"); });
  EXPECT_FALSE(fetch_progress(huge.url(), 2s).has_value());
  EXPECT_FALSE(fetch_progress("http://127.0.0.1:1/progress", 2s).has_value());  // nobody listens
}

TEST(FetchProgress, AHangingRankIsGivenUpOnAfterTheTimeout) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  Rank hung([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 30s, [&] { return release; });
    return json_body(R"({"step": 1})");
  });
  EXPECT_FALSE(fetch_progress(hung.url(), 500ms).has_value());
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
}

TEST(ProgressPoller, ReportsOnlyJobsWhoseProgressMoved) {
  std::atomic<int> step{5};
  Rank a([&] { return json_body("{\"step\": " + std::to_string(step.load()) + "}"); });
  Rank b([] { return json_body(R"({"step": 9})"); });
  std::vector<std::string> changed;
  std::mutex mu;
  ProgressPoller poller(
      [&] {
        return std::vector<ProgressPoller::Target>{{"ns/a", a.url()}, {"ns/b", b.url()}};
      },
      [&](const std::string& key) {
        std::lock_guard<std::mutex> lock(mu);
        changed.push_back(key);
      },
      1h, 2s);
  poller.poll_once();
  EXPECT_EQ(std::set<std::string>(changed.begin(), changed.end()),
            (std::set<std::string>{"ns/a", "ns/b"}));
  changed.clear();
  poller.poll_once();  // nothing moved
  EXPECT_TRUE(changed.empty());
  step = 6;
  poller.poll_once();
  EXPECT_EQ(changed, std::vector<std::string>{"ns/a"});
  EXPECT_EQ(poller.latest("ns/a")->step, 6);
  poller.forget("ns/a");
  EXPECT_FALSE(poller.latest("ns/a").has_value());
  EXPECT_EQ(poller.latest("ns/b")->step, 9);
}

// One rank that never answers must not keep the others' progress from being read: the hung
// request holds one of the poller's threads until its timeout, the rest go on. Here the hung
// rank answers only once the healthy one has been reported, so a poller that asked one target
// after the other would wait out the hung rank first and the healthy one would come after it.
TEST(ProgressPoller, AHungRankDoesNotHoldUpTheOthers) {
  std::mutex mu;
  std::condition_variable cv;
  bool healthy_seen = false;
  Rank hung([&] {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 20s, [&] { return healthy_seen; });
    return json_body(R"({"step": 1})");
  });
  Rank healthy([] { return json_body(R"({"step": 7})"); });
  std::vector<std::string> order;
  ProgressPoller poller(
      [&] {
        return std::vector<ProgressPoller::Target>{{"ns/hung", hung.url()},
                                                   {"ns/ok", healthy.url()}};
      },
      [&](const std::string& key) {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(key);
        if (key == "ns/ok") healthy_seen = true;
        cv.notify_all();
      },
      1h, 30s);
  poller.poll_once();
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], "ns/ok") << "the healthy rank was read only after the hung one answered";
}

// Rounds do not wait for each other: while one rank hangs (far longer than the interval, and
// with a timeout longer still), the poller's own thread keeps reading the healthy rank round
// after round, and never asks the hung rank a second time while its first request is open. A
// poller whose round waited for its slowest request would read the healthy rank once.
TEST(ProgressPoller, AHungRankDoesNotDelayTheNextRoundsOfTheOthers) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> hung_asked{0};
  Rank hung([&] {
    ++hung_asked;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, 30s, [&] { return release; });
    return json_body(R"({"step": 1})");
  });
  std::atomic<int> step{0};
  Rank healthy([&] { return json_body("{\"step\": " + std::to_string(++step) + "}"); });
  std::atomic<int> healthy_changes{0};
  ProgressPoller poller(
      [&] {
        return std::vector<ProgressPoller::Target>{{"ns/hung", hung.url()},
                                                   {"ns/ok", healthy.url()}};
      },
      [&](const std::string& key) {
        if (key == "ns/ok") ++healthy_changes;
      },
      50ms, 30s);
  poller.start();
  for (int i = 0; i < 400 && healthy_changes < 5; ++i) std::this_thread::sleep_for(25ms);
  EXPECT_GE(healthy_changes.load(), 5) << "the healthy rank waited for the hung one";
  EXPECT_EQ(hung_asked.load(), 1) << "the hung rank was asked again while its request was open";
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  poller.stop();
}

}  // namespace
}  // namespace accel::op

// WorkQueue and its per-key exponential backoff: dedup, requeue while processing, delays,
// backoff growth/cap/forget, shutdown. No I/O; delays are a few milliseconds.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "accel/kube/rate_limiter.h"
#include "accel/kube/work_queue.h"

namespace accel::kube {
namespace {

using std::chrono::milliseconds;
constexpr milliseconds kWait{5000};  // generous bound so a broken queue fails, never hangs

TEST(WorkQueue, KeyAddedTwiceWhileWaitingIsHandedOutOnce) {
  WorkQueue q;
  q.add("ns/a");
  q.add("ns/a");
  q.add("ns/b");
  EXPECT_EQ(q.len(), 2u);
  auto first = q.get_for(kWait);
  auto second = q.get_for(kWait);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(*first, "ns/a");
  EXPECT_EQ(*second, "ns/b");
  EXPECT_FALSE(q.get_for(milliseconds(20)));
}

TEST(WorkQueue, KeyReAddedWhileProcessingIsHandedOutAgainAfterDone) {
  WorkQueue q;
  q.add("k");
  auto k = q.get_for(kWait);
  ASSERT_TRUE(k);
  q.add("k");                  // changed while a worker holds it
  EXPECT_EQ(q.len(), 0u);      // not handed to a second worker concurrently
  EXPECT_FALSE(q.get_for(milliseconds(20)));
  q.done("k");
  EXPECT_EQ(q.len(), 1u);  // ready again
  auto again = q.get_for(kWait);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, "k");
  EXPECT_EQ(q.len(), 0u);
  q.done("k");
  EXPECT_EQ(q.len(), 0u);
  EXPECT_FALSE(q.get_for(milliseconds(20)));
}

TEST(WorkQueue, AddAfterDeliversInOrderOfReadiness) {
  WorkQueue q;
  q.add_after("late", milliseconds(120));
  q.add_after("early", milliseconds(30));
  q.add("now");
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    auto k = q.get_for(kWait);
    ASSERT_TRUE(k);
    got.push_back(*k);
    q.done(*k);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"now", "early", "late"}));
}

TEST(WorkQueue, AddAfterKeepsTheEarliestScheduleAndDedupsWithAdd) {
  WorkQueue q;
  q.add_after("k", milliseconds(10000));
  q.add_after("k", milliseconds(20));  // earlier wins
  auto k = q.get_for(kWait);
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, "k");
  q.done("k");
  EXPECT_FALSE(q.get_for(milliseconds(50)));
}

TEST(WorkQueue, DelayedKeyIsNotReadyBeforeItsTime) {
  WorkQueue q;
  q.add_after("k", milliseconds(60000));
  EXPECT_EQ(q.len(), 0u);
  EXPECT_EQ(q.stats().waiting, 1);
  EXPECT_FALSE(q.get_for(milliseconds(30)));
}

TEST(WorkQueue, RateLimitedRequeueGrowsUntilForgotten) {
  WorkQueue q(WorkQueueOptions{milliseconds(1), milliseconds(1000)});
  for (int i = 0; i < 3; ++i) {
    q.add_rate_limited("k");
    auto k = q.get_for(kWait);
    ASSERT_TRUE(k);
    q.done(*k);
  }
  EXPECT_EQ(q.num_requeues("k"), 3);
  q.forget("k");
  EXPECT_EQ(q.num_requeues("k"), 0);
  EXPECT_EQ(q.stats().retries_total, 3);
}

TEST(WorkQueue, ShutDownWakesABlockedGetAndDropsLaterAdds) {
  WorkQueue q;
  std::atomic<bool> returned{false};
  std::optional<std::string> got = std::string("unset");
  std::thread worker([&] {
    got = q.get();
    returned = true;
  });
  std::this_thread::sleep_for(milliseconds(20));
  q.shut_down();
  worker.join();
  EXPECT_TRUE(returned);
  EXPECT_FALSE(got.has_value());
  q.add("k");
  EXPECT_EQ(q.len(), 0u);
  EXPECT_TRUE(q.shutting_down());
}

TEST(WorkQueue, StatsCountAddsDepthLatencyAndWork) {
  WorkQueue q;
  q.add("a");
  q.add("a");
  q.add("b");
  auto s = q.stats();
  EXPECT_EQ(s.adds_total, 2);
  EXPECT_EQ(s.depth, 2);
  auto k = q.get_for(kWait);
  ASSERT_TRUE(k);
  s = q.stats();
  EXPECT_EQ(s.in_flight, 1);
  EXPECT_EQ(s.queue_latency_count, 1);
  q.done(*k);
  s = q.stats();
  EXPECT_EQ(s.work_duration_count, 1);
  EXPECT_EQ(s.in_flight, 0);
  EXPECT_EQ(s.depth, 1);
}

TEST(WorkQueue, ManyWorkersNeverHoldTheSameKeyAtOnce) {
  WorkQueue q;
  std::atomic<int> holding{0}, max_holding{0}, processed{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&] {
      while (auto k = q.get()) {
        int h = ++holding;
        int m = max_holding.load();
        while (h > m && !max_holding.compare_exchange_weak(m, h)) {
        }
        std::this_thread::sleep_for(milliseconds(1));
        --holding;
        ++processed;
        q.done(*k);
      }
    });
  for (int i = 0; i < 200; ++i) q.add("same");
  for (int i = 0; i < 200 && q.len() + q.stats().in_flight > 0; ++i)
    std::this_thread::sleep_for(milliseconds(10));
  q.shut_down();
  for (auto& t : workers) t.join();
  EXPECT_EQ(max_holding.load(), 1);
  EXPECT_GE(processed.load(), 1);
  EXPECT_LT(processed.load(), 200);  // dedup collapsed the burst
}

TEST(WorkQueue, HighPriorityKeysGoBeforeEveryNormalKeyInArrivalOrder) {
  WorkQueue q;
  q.add("new/1");
  q.add("new/2");
  q.add("running/a", WorkQueue::Priority::High);
  q.add("new/3");
  q.add("running/b", WorkQueue::Priority::High);
  std::vector<std::string> order;
  while (auto k = q.get_for(milliseconds(20))) {
    order.push_back(*k);
    q.done(*k);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"running/a", "running/b", "new/1", "new/2", "new/3"}));
}

TEST(WorkQueue, ANormalKeyAddedAgainAtHighMovesAheadAndIsHandedOutOnce) {
  WorkQueue q;
  q.add("a");
  q.add("b");
  q.add("b", WorkQueue::Priority::High);
  EXPECT_EQ(q.len(), 2u);  // the moved key's old place does not count
  std::vector<std::string> order;
  while (auto k = q.get_for(milliseconds(20))) {
    order.push_back(*k);
    q.done(*k);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"b", "a"}));
  // A high add of a key waiting at High, or a normal add of it, changes nothing.
  q.add("c", WorkQueue::Priority::High);
  q.add("c");
  q.add("c", WorkQueue::Priority::High);
  EXPECT_EQ(q.stats().depth, 1);
}

TEST(WorkQueue, AKeyRaisedWhileProcessingIsHandedOutFirstAfterDone) {
  WorkQueue q;
  q.add("k");
  auto k = q.get_for(kWait);
  ASSERT_TRUE(k);
  q.add("other");
  q.add("k", WorkQueue::Priority::High);  // its pods changed while a worker held it
  EXPECT_EQ(q.len(), 1u);
  q.done("k");
  EXPECT_EQ(q.len(), 2u);
  auto next = q.get_for(kWait);
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, "k");
  q.done("k");
  auto last = q.get_for(kWait);
  ASSERT_TRUE(last);
  EXPECT_EQ(*last, "other");
  q.done("other");
  EXPECT_FALSE(q.get_for(milliseconds(20)));  // the stale entries hand nothing out
}

TEST(ExponentialBackoffRateLimiter, DoublesFromFiveMillisecondsUpToTheCap) {
  ExponentialBackoffRateLimiter rl(milliseconds(5), milliseconds(100));
  EXPECT_EQ(rl.when("k"), milliseconds(5));
  EXPECT_EQ(rl.when("k"), milliseconds(10));
  EXPECT_EQ(rl.when("k"), milliseconds(20));
  EXPECT_EQ(rl.when("k"), milliseconds(40));
  EXPECT_EQ(rl.when("k"), milliseconds(80));
  EXPECT_EQ(rl.when("k"), milliseconds(100));
  for (int i = 0; i < 100; ++i) rl.when("k");  // no overflow far past the cap
  EXPECT_EQ(rl.when("k"), milliseconds(100));
}

TEST(ExponentialBackoffRateLimiter, KeysAreIndependentAndForgetResets) {
  ExponentialBackoffRateLimiter rl(milliseconds(5), milliseconds(1000));
  rl.when("a");
  rl.when("a");
  EXPECT_EQ(rl.when("b"), milliseconds(5));
  EXPECT_EQ(rl.num_requeues("a"), 2);
  rl.forget("a");
  EXPECT_EQ(rl.when("a"), milliseconds(5));
}

}  // namespace
}  // namespace accel::kube

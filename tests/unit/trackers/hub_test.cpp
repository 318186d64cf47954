// TrackerHub's queueing, retry and drop rules, against fake trackers (fakes only here).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <optional>
#include <mutex>

#include "accel/tracking.h"

using namespace accel;
using namespace std::chrono_literals;

namespace {

// What a fake tracker saw, shared with the test after the hub took ownership.
struct FakeState {
  std::mutex mu;
  std::condition_variable cv;
  int start_calls = 0;
  int start_failures_left = 0;
  bool start_permanent = false;
  std::vector<int64_t> delivered_steps;
  int batch_calls = 0;
  // Decides per log_batch call: return normally, or throw. Receives the batch.
  std::function<void(const std::vector<LogEntry>&)> on_batch;
  std::optional<bool> finished_with;
  RunInfo run;
};

class FakeTracker : public Tracker {
 public:
  explicit FakeTracker(std::shared_ptr<FakeState> s) : s_(std::move(s)) {}
  std::string name() const override { return "fake"; }
  void start(const RunInfo& run) override {
    std::lock_guard<std::mutex> l(s_->mu);
    ++s_->start_calls;
    s_->run = run;
    if (s_->start_failures_left > 0) {
      --s_->start_failures_left;
      throw TrackerError("server down", s_->start_permanent);
    }
  }
  void log_batch(const std::vector<LogEntry>& entries) override {
    std::function<void(const std::vector<LogEntry>&)> f;
    {
      std::lock_guard<std::mutex> l(s_->mu);
      ++s_->batch_calls;
      f = s_->on_batch;
    }
    size_t ok = entries.size();
    try {
      if (f) f(entries);
    } catch (const TrackerError& e) {
      ok = e.delivered();
      record(entries, ok);
      throw;
    }
    record(entries, ok);
  }
  void finish(bool success) override {
    std::lock_guard<std::mutex> l(s_->mu);
    s_->finished_with = success;
  }

 private:
  void record(const std::vector<LogEntry>& entries, size_t n) {
    std::lock_guard<std::mutex> l(s_->mu);
    for (size_t i = 0; i < n && i < entries.size(); ++i) s_->delivered_steps.push_back(entries[i].step);
  }
  std::shared_ptr<FakeState> s_;
};

TrackerSet one_fake(const std::shared_ptr<FakeState>& s) {
  TrackerSet set;
  set.run_name = "run1";
  set.run_dir = "/nonexistent/run1";
  set.trackers.push_back(std::make_unique<FakeTracker>(s));
  return set;
}

HubOptions fast_options(std::vector<std::string>* warnings = nullptr,
                        std::mutex* warn_mu = nullptr) {
  HubOptions o;
  o.initial_backoff = 1ms;
  o.max_backoff = 4ms;
  o.finish_deadline = 20s;
  if (warnings)
    o.warn = [warnings, warn_mu](const std::string& w) {
      std::lock_guard<std::mutex> l(*warn_mu);
      warnings->push_back(w);
    };
  else
    o.warn = [](const std::string&) {};
  return o;
}

std::vector<int64_t> range(int64_t from, int64_t to) {
  std::vector<int64_t> v;
  for (int64_t i = from; i < to; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST(RetryDelay, DoublesFromTheInitialDelayAndIsCapped) {
  EXPECT_EQ(retry_delay(1, 100ms, 1000ms), 100ms);
  EXPECT_EQ(retry_delay(2, 100ms, 1000ms), 200ms);
  EXPECT_EQ(retry_delay(4, 100ms, 1000ms), 800ms);
  EXPECT_EQ(retry_delay(5, 100ms, 1000ms), 1000ms);
  EXPECT_EQ(retry_delay(1000, 100ms, 1000ms), 1000ms);
}

TEST(TrackerHub, DeliversEveryEntryInOrderAndClosesTheRun) {
  auto s = std::make_shared<FakeState>();
  TrackerHub hub(one_fake(s), true, fast_options());
  hub.start("proj", {{"lr", "0.1"}});
  for (int i = 0; i < 100; ++i) hub.log({{"loss", 1.0 / (i + 1)}}, i);
  auto reports = hub.finish(true);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].name, "fake");
  EXPECT_EQ(reports[0].logged, 100u);
  EXPECT_EQ(reports[0].delivered, 100u);
  EXPECT_EQ(reports[0].dropped, 0u);
  EXPECT_TRUE(reports[0].started);
  EXPECT_TRUE(reports[0].finished);
  EXPECT_EQ(reports[0].error, "");
  EXPECT_EQ(s->delivered_steps, range(0, 100));
  EXPECT_EQ(s->finished_with, std::optional<bool>(true));
  EXPECT_EQ(s->run.run_name, "run1");
  EXPECT_EQ(s->run.project, "proj");
  EXPECT_EQ(s->run.hyperparameters.at("lr"), "0.1");
}

TEST(TrackerHub, RetriesATransientFailureWithoutLosingOrDuplicatingEntries) {
  auto s = std::make_shared<FakeState>();
  auto failures = std::make_shared<std::atomic<int>>(5);
  s->on_batch = [failures](const std::vector<LogEntry>&) {
    if (failures->fetch_sub(1) > 0) throw TrackerError("connection refused");
  };
  TrackerHub hub(one_fake(s), true, fast_options());
  hub.start("p", {});
  for (int i = 0; i < 50; ++i) hub.log({{"x", double(i)}}, i);
  auto r = hub.finish(true)[0];
  EXPECT_EQ(r.delivered, 50u);
  EXPECT_EQ(r.dropped, 0u);
  EXPECT_EQ(r.failures, 5u);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(s->delivered_steps, range(0, 50));
}

TEST(TrackerHub, WarnsOncePerFailureStreakAndOnRecovery) {
  auto s = std::make_shared<FakeState>();
  std::vector<std::string> warnings;
  std::mutex wmu;
  // Fails calls 1-4, succeeds 5, fails 6-7, succeeds after.
  auto call = std::make_shared<std::atomic<int>>(0);
  s->on_batch = [call](const std::vector<LogEntry>&) {
    const int n = ++*call;
    if (n <= 4 || n == 6 || n == 7) throw TrackerError("boom " + std::to_string(n));
  };
  HubOptions o = fast_options(&warnings, &wmu);
  o.max_batch = 1;
  TrackerHub hub(one_fake(s), true, o);
  hub.start("p", {});
  for (int i = 0; i < 3; ++i) hub.log({{"x", 1}}, i);
  auto r = hub.finish(true)[0];
  EXPECT_EQ(r.delivered, 3u);
  EXPECT_EQ(r.failures, 6u);
  std::lock_guard<std::mutex> l(wmu);
  ASSERT_EQ(warnings.size(), 4u) << ::testing::PrintToString(warnings);
  EXPECT_NE(warnings[0].find("boom 1"), std::string::npos);
  EXPECT_NE(warnings[1].find("recovered"), std::string::npos);
  EXPECT_NE(warnings[2].find("boom 6"), std::string::npos);
  EXPECT_NE(warnings[3].find("recovered"), std::string::npos);
  for (auto& w : warnings) EXPECT_EQ(w.rfind("tracker fake: ", 0), 0u) << w;
}

TEST(TrackerHub, DropsTheOldestUndeliveredEntriesWhenTheQueueOverflows) {
  auto s = std::make_shared<FakeState>();
  auto down = std::make_shared<std::atomic<bool>>(true);
  s->on_batch = [down](const std::vector<LogEntry>&) {
    if (*down) throw TrackerError("server down");
  };
  std::vector<std::string> warnings;
  std::mutex wmu;
  HubOptions o = fast_options(&warnings, &wmu);
  o.queue_capacity = 5;
  o.max_batch = 3;
  TrackerHub hub(one_fake(s), true, o);
  hub.start("p", {});
  for (int i = 0; i < 20; ++i) hub.log({{"x", double(i)}}, i);
  *down = false;
  auto r = hub.finish(true)[0];
  EXPECT_EQ(s->delivered_steps, range(15, 20));
  EXPECT_EQ(r.logged, 20u);
  EXPECT_EQ(r.delivered, 5u);
  EXPECT_EQ(r.dropped, 15u);
  EXPECT_EQ(r.dropped_overflow, 15u);
  std::lock_guard<std::mutex> l(wmu);
  int overflow_warnings = 0;
  for (auto& w : warnings) overflow_warnings += w.find("queue full") != std::string::npos;
  EXPECT_EQ(overflow_warnings, 1);
}

TEST(TrackerHub, PartialDeliveryIsNotSentAgain) {
  auto s = std::make_shared<FakeState>();
  auto once = std::make_shared<std::atomic<bool>>(true);
  s->on_batch = [once](const std::vector<LogEntry>& b) {
    if (b.size() >= 4 && once->exchange(false)) throw TrackerError("reset after 2", false, 2);
  };
  HubOptions o = fast_options();
  TrackerHub hub(one_fake(s), true, o);
  for (int i = 0; i < 10; ++i) hub.log({{"x", 1}}, i);  // queued before start: one batch
  hub.start("p", {});
  auto r = hub.finish(true)[0];
  EXPECT_EQ(s->delivered_steps, range(0, 10));
  EXPECT_EQ(r.delivered, 10u);
  EXPECT_EQ(r.failures, 1u);
}

TEST(TrackerHub, APermanentErrorDropsOnlyTheRejectedEntryAndIsReported) {
  auto s = std::make_shared<FakeState>();
  s->on_batch = [](const std::vector<LogEntry>& b) {
    for (size_t i = 0; i < b.size(); ++i)
      if (b[i].step == 3) throw TrackerError("HTTP 400 INVALID_PARAMETER_VALUE", true, i);
  };
  TrackerHub hub(one_fake(s), true, fast_options());
  for (int i = 0; i < 6; ++i) hub.log({{"x", 1}}, i);
  hub.start("p", {});
  auto r = hub.finish(true)[0];
  EXPECT_EQ(s->delivered_steps, (std::vector<int64_t>{0, 1, 2, 4, 5}));
  EXPECT_EQ(r.delivered, 5u);
  EXPECT_EQ(r.dropped, 1u);
  EXPECT_EQ(r.dropped_overflow, 0u);
  EXPECT_NE(r.error.find("INVALID_PARAMETER_VALUE"), std::string::npos);
  EXPECT_TRUE(r.finished);
}

TEST(TrackerHub, RetriesStartBeforeDeliveringQueuedEntries) {
  auto s = std::make_shared<FakeState>();
  s->start_failures_left = 3;
  TrackerHub hub(one_fake(s), true, fast_options());
  hub.start("p", {});
  for (int i = 0; i < 7; ++i) hub.log({{"x", 1}}, i);
  auto r = hub.finish(true)[0];
  EXPECT_EQ(s->start_calls, 4);
  EXPECT_EQ(r.failures, 3u);
  EXPECT_TRUE(r.started);
  EXPECT_EQ(s->delivered_steps, range(0, 7));
}

TEST(TrackerHub, APermanentStartFailureDropsEverythingAndSaysWhy) {
  auto s = std::make_shared<FakeState>();
  s->start_failures_left = 1;
  s->start_permanent = true;
  TrackerHub hub(one_fake(s), true, fast_options());
  hub.start("p", {});
  for (int i = 0; i < 4; ++i) hub.log({{"x", 1}}, i);
  auto r = hub.finish(true)[0];
  EXPECT_EQ(s->start_calls, 1);
  EXPECT_FALSE(r.started);
  EXPECT_EQ(r.delivered, 0u);
  EXPECT_EQ(r.dropped, 4u);
  EXPECT_NE(r.error.find("server down"), std::string::npos);
  EXPECT_FALSE(s->finished_with.has_value());
}

TEST(TrackerHub, FinishDeadlineCountsWhatIsStillQueuedAsDropped) {
  auto s = std::make_shared<FakeState>();
  s->on_batch = [](const std::vector<LogEntry>&) { throw TrackerError("still down"); };
  TrackerHub hub(one_fake(s), true, fast_options());
  hub.start("p", {});
  for (int i = 0; i < 3; ++i) hub.log({{"x", 1}}, i);
  auto r = hub.finish(true, 50ms)[0];
  EXPECT_EQ(r.delivered, 0u);
  EXPECT_EQ(r.dropped, 3u);
  EXPECT_FALSE(r.finished);
  EXPECT_NE(r.error.find("finish deadline passed with 3 entries undelivered"), std::string::npos)
      << r.error;
  EXPECT_NE(r.error.find("still down"), std::string::npos) << r.error;
}

TEST(TrackerHub, LogReturnsWhileATrackerHangsAndCatchesUpAfterwards) {
  auto s = std::make_shared<FakeState>();
  auto gate = std::make_shared<std::promise<void>>();
  auto released = gate->get_future().share();
  s->on_batch = [released](const std::vector<LogEntry>&) {
    // Hangs (like a server that accepts and never answers) until released; bounded for safety.
    if (released.wait_for(60s) != std::future_status::ready) throw TrackerError("hung");
  };
  TrackerHub hub(one_fake(s), true, fast_options());
  hub.start("p", {});
  for (int i = 0; i < 2000; ++i) hub.log({{"x", 1}}, i);  // all return while the tracker hangs
  EXPECT_EQ(hub.report()[0].logged, 2000u);
  gate->set_value();
  auto r = hub.finish(true)[0];
  EXPECT_EQ(r.delivered, 2000u);
  EXPECT_EQ(s->delivered_steps, range(0, 2000));
}

TEST(TrackerHub, PassesFailureToTheTrackersFinish) {
  auto s = std::make_shared<FakeState>();
  TrackerHub hub(one_fake(s), true, fast_options());
  hub.start("p", {});
  hub.finish(false);
  EXPECT_EQ(s->finished_with, std::optional<bool>(false));
}

TEST(TrackerHub, FinishIsIdempotentAndLaterLogsAreIgnored) {
  auto s = std::make_shared<FakeState>();
  TrackerHub hub(one_fake(s), true, fast_options());
  hub.start("p", {});
  hub.log({{"x", 1}}, 0);
  auto first = hub.finish(true);
  hub.log({{"x", 1}}, 1);
  auto second = hub.finish(false);
  EXPECT_EQ(second[0].delivered, first[0].delivered);
  EXPECT_EQ(second[0].logged, 1u);
  EXPECT_EQ(s->finished_with, std::optional<bool>(true));
}

TEST(TrackerHub, DoesNothingOutsideTheMainProcess) {
  auto s = std::make_shared<FakeState>();
  TrackerHub hub(one_fake(s), false, fast_options());
  hub.start("p", {});
  hub.log({{"x", 1}}, 0);
  EXPECT_TRUE(hub.finish(true).empty());
  EXPECT_EQ(s->start_calls, 0);
  EXPECT_EQ(s->batch_calls, 0);
}

TEST(TrackerHub, DestructorClosesTheRunItStarted) {
  auto s = std::make_shared<FakeState>();
  {
    TrackerHub hub(one_fake(s), true, fast_options());
    hub.start("p", {});
    hub.log({{"x", 1}}, 0);
  }
  EXPECT_EQ(s->delivered_steps, range(0, 1));
  EXPECT_EQ(s->finished_with, std::optional<bool>(true));
}

TEST(TrackerHub, FinishWithoutStartReportsEverythingDroppedAndWhy) {
  auto s = std::make_shared<FakeState>();
  TrackerHub hub(one_fake(s), true, fast_options());
  hub.log({{"x", 1}}, 0);
  auto r = hub.finish(true)[0];
  EXPECT_EQ(r.dropped, 1u);
  EXPECT_NE(r.error.find("start was never called"), std::string::npos) << r.error;
  EXPECT_EQ(s->start_calls, 0);
}

// backoff_for(): initialSeconds * factor^restarts, capped at maxSeconds.
#include <gtest/gtest.h>

#include "accel/controller/backoff.h"

namespace accel::op {
namespace {

using std::chrono::seconds;

api::BackoffSpec policy(std::int64_t initial, std::int64_t max, double factor) {
  api::BackoffSpec b;
  b.initialSeconds = initial;
  b.maxSeconds = max;
  b.factor = factor;
  return b;
}

TEST(Backoff, FirstRestartWaitsInitialSeconds) {
  EXPECT_EQ(backoff_for(0, policy(10, 300, 2.0)), seconds(10));
}

TEST(Backoff, GrowsByFactorPerRestart) {
  EXPECT_EQ(backoff_for(1, policy(10, 300, 2.0)), seconds(20));
  EXPECT_EQ(backoff_for(3, policy(10, 300, 2.0)), seconds(80));
  EXPECT_EQ(backoff_for(1, policy(10, 300, 1.5)), seconds(15));
}

TEST(Backoff, IsCappedAtMaxSecondsEvenForHugeRestartCounts) {
  EXPECT_EQ(backoff_for(5, policy(10, 300, 2.0)), seconds(300));
  EXPECT_EQ(backoff_for(100000, policy(10, 300, 2.0)), seconds(300));
}

TEST(Backoff, UnsetFieldsTakeTheCrdDefaults) {
  EXPECT_EQ(backoff_for(0, api::BackoffSpec{}), seconds(10));
  EXPECT_EQ(backoff_for(2, api::BackoffSpec{}), seconds(40));
  EXPECT_EQ(backoff_for(9, api::BackoffSpec{}), seconds(300));
}

TEST(Backoff, ZeroInitialMeansRestartAtOnce) {
  EXPECT_EQ(backoff_for(4, policy(0, 300, 2.0)), seconds(0));
}

TEST(Backoff, FactorOneKeepsTheDelayConstant) {
  EXPECT_EQ(backoff_for(7, policy(30, 300, 1.0)), seconds(30));
}

}  // namespace
}  // namespace accel::op

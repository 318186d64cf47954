// Conditions follow Kubernetes conventions: one per type, lastTransitionTime moves only when
// the status changes.
#include <gtest/gtest.h>

#include "accel/controller/conditions.h"
#include "fixtures.h"

namespace accel::op {
namespace {

using testing::t;

TEST(Conditions, NewConditionGetsTransitionTimeNow) {
  std::vector<api::Condition> c;
  set_condition(c, kCondRunning, true, "AllPodsRunning", "m", t(5));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].status, "True");
  EXPECT_EQ(c[0].lastTransitionTime, "2025-01-01T00:00:05Z");
}

TEST(Conditions, SameStatusKeepsTransitionTimeButUpdatesReasonAndMessage) {
  std::vector<api::Condition> c;
  set_condition(c, kCondRunning, false, "PodsStarting", "0 of 2", t(0));
  set_condition(c, kCondRunning, false, "PodsStarting", "1 of 2", t(9));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].message, "1 of 2");
  EXPECT_EQ(c[0].lastTransitionTime, "2025-01-01T00:00:00Z");
}

TEST(Conditions, StatusChangeMovesTransitionTime) {
  std::vector<api::Condition> c;
  set_condition(c, kCondRunning, false, "PodsStarting", "", t(0));
  set_condition(c, kCondRunning, true, "AllPodsRunning", "", t(9));
  EXPECT_EQ(c[0].lastTransitionTime, "2025-01-01T00:00:09Z");
  EXPECT_TRUE(condition_is_true(c, kCondRunning));
}

TEST(Conditions, ClearingAnAbsentConditionAddsNothing) {
  std::vector<api::Condition> c;
  clear_condition(c, kCondRestarting, "X", "", t(0));
  EXPECT_TRUE(c.empty());
  set_condition(c, kCondRestarting, true, "Stalled", "", t(1));
  clear_condition(c, kCondRestarting, "NewAttemptStarted", "", t(2));
  EXPECT_EQ(c[0].status, "False");
  EXPECT_EQ(c[0].reason, "NewAttemptStarted");
}

}  // namespace
}  // namespace accel::op

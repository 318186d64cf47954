// CreateExpectations: a create the caches have not shown yet is not sent again, until it is seen
// or its expectation lapses.
#include <gtest/gtest.h>

#include <thread>

#include "accel/manager/job_controller.h"

namespace accel::op {
namespace {

TEST(CreateExpectations, ACreatedObjectIsPendingUntilAnInformerSeesIt) {
  CreateExpectations e;
  EXPECT_FALSE(e.pending("pods/team/train-a0-n0"));
  e.created("pods/team/train-a0-n0");
  EXPECT_TRUE(e.pending("pods/team/train-a0-n0"));
  EXPECT_FALSE(e.pending("pods/team/train-a0-n1"));  // by name
  e.observed("pods/team/train-a0-n0");
  EXPECT_FALSE(e.pending("pods/team/train-a0-n0"));
  EXPECT_EQ(e.size(), 0u);
}

TEST(CreateExpectations, AnExpectationThatIsNeverMetLapses) {
  CreateExpectations e(std::chrono::milliseconds(20));
  e.created("services/team/train");
  EXPECT_TRUE(e.pending("services/team/train"));
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_FALSE(e.pending("services/team/train"));  // the create is sent again
  EXPECT_EQ(e.size(), 0u);
}

TEST(CreateExpectations, LapsedOnesDoNotPileUp) {
  CreateExpectations e(std::chrono::milliseconds(1));
  for (int i = 0; i < 1025; ++i) e.created("pods/ns/p" + std::to_string(i));
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  e.created("pods/ns/last");
  EXPECT_EQ(e.size(), 1u);
}

}  // namespace
}  // namespace accel::op

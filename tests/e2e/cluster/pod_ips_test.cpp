// PodIpBlock (pod_ips.h): every address once, one block per process, and a claim that lasts
// while a process started after it lives (a real child process: sleep).
#include "pod_ips.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "accel/subprocess.h"

namespace accel::testing {
namespace {

// A lock folder of the test's own, so that the real one (/tmp/accel-pod-ips) is not touched.
class PodIps : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/accel-pod-ips-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(PodIps, EveryAddressOfTheBlockIsHandedOutOnce) {
  PodIpBlock block(dir_, 120);
  EXPECT_EQ(block.prefix(), "127.120.");
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string ip = block.next();
    EXPECT_EQ(ip.rfind("127.120.", 0), 0u) << ip;
    EXPECT_TRUE(seen.insert(ip).second) << ip << " handed out twice";
  }
}

TEST_F(PodIps, TwoBlocksNeverShareTheirSecondOctet) {
  // Two NodeAgents in one process asked for the same range before (127.A. from the pid).
  PodIpBlock a(dir_, 120), b(dir_, 120);
  EXPECT_EQ(a.octet(), 120);
  EXPECT_NE(b.octet(), a.octet());
}

TEST_F(PodIps, AClaimLastsWhileAProcessStartedAfterItStillRuns) {
  auto claimer = std::make_unique<PodIpBlock>(dir_, 130);
  ASSERT_EQ(claimer->octet(), 130);
  // A pod process (or one of its children) that outlives the agent that started it.
  Subprocess pod({{"sleep", "60"}, {}, {}, "", "", "", true, {}});
  claimer.reset();
  {
    PodIpBlock next(dir_, 130);
    EXPECT_NE(next.octet(), 130) << "127.130. handed out again while a pod process still runs";
  }
  pod.terminate(std::chrono::seconds(5));
  PodIpBlock after(dir_, 130);
  EXPECT_EQ(after.octet(), 130);
}

}  // namespace
}  // namespace accel::testing

// free_port() (ports.h): the ports it hands out are outside the kernel's ephemeral range,
// never the same twice, and claimed against other processes (checked with util-linux's
// flock(1), a real other process).
#include "ports.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "accel/subprocess.h"

namespace accel::testing {
namespace {

TEST(FreePort, LiesOutsideTheEphemeralRangeSoNoBindToPortZeroCanTakeIt) {
  const auto [first, last] = ephemeral_port_range();
  for (int i = 0; i < 50; ++i) {
    const int port = free_port();
    EXPECT_TRUE(port < first || port > last)
        << port << " is in the ephemeral range " << first << "-" << last;
    EXPECT_TRUE(port_is_free(port)) << port;
  }
}

TEST(FreePort, NeverHandsOutAPortTwiceInOneProcess) {
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) {
    const bool pair = i % 2 == 0;
    const int port = free_port(pair);
    EXPECT_TRUE(seen.insert(port).second) << port << " handed out twice";
    if (pair) {
      EXPECT_TRUE(seen.insert(port + 1).second)
          << port + 1 << " (a pair's second) handed out twice";
      EXPECT_TRUE(port_is_free(port + 1)) << port + 1;
    }
  }
}

TEST(FreePort, ItsPortsStayClaimedAgainstOtherProcesses) {
  const int port = free_port();
  EXPECT_FALSE(claim_port(port));
  const std::string lock = "/tmp/accel-test-ports/" + std::to_string(port) + ".lock";
  // flock -n gives up (-E: with exit code 7) when another process holds the lock: this one.
  auto held = run_command({"flock", "-n", "-E", "7", lock, "true"});
  EXPECT_EQ(held.status.code(), 7) << held.output;
}

}  // namespace
}  // namespace accel::testing

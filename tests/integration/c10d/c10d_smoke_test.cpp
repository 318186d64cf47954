// Runs two real processes that all-reduce through LibTorch's c10d (TCPStore + ProcessGroupGloo)
// and checks both see the sum.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "accel/subprocess.h"
#include "files.h"
#include "ports.h"

namespace {

using accel::testing::free_port;
using accel::testing::read_file;

TEST(C10dSmoke, TwoGlooRanksAllReduceToTheSum) {
  const std::string port = std::to_string(free_port());
  const std::string out0 = ::testing::TempDir() + "/c10d_rank0.log";
  const std::string out1 = ::testing::TempDir() + "/c10d_rank1.log";
  ::unlink(out0.c_str());
  ::unlink(out1.c_str());
  accel::Subprocess r0({{C10D_RANK_BINARY, "0", "2", port}, {}, {}, "", out0, "=stdout", true, {}});
  accel::Subprocess r1({{C10D_RANK_BINARY, "1", "2", port}, {}, {}, "", out1, "=stdout", true, {}});
  auto s0 = r0.wait_for(std::chrono::seconds(120));
  auto s1 = r1.wait_for(std::chrono::seconds(120));
  ASSERT_TRUE(s0 && s0->success()) << read_file(out0);
  ASSERT_TRUE(s1 && s1->success()) << read_file(out1);
  EXPECT_NE(read_file(out0).find("rank 0 result 3 6 9"), std::string::npos) << read_file(out0);
  EXPECT_NE(read_file(out1).find("rank 1 result 3 6 9"), std::string::npos) << read_file(out1);
}

}  // namespace

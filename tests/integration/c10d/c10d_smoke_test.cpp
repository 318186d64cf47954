// Runs two real processes that all-reduce through LibTorch's c10d (TCPStore + ProcessGroupGloo)
// and checks both see the sum.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "accel/subprocess.h"

namespace {

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(C10dSmoke, TwoGlooRanksAllReduceToTheSum) {
  const std::string port = std::to_string(free_port());
  const std::string out0 = ::testing::TempDir() + "/c10d_rank0.log";
  const std::string out1 = ::testing::TempDir() + "/c10d_rank1.log";
  ::unlink(out0.c_str());
  ::unlink(out1.c_str());
  accel::Subprocess r0({{C10D_RANK_BINARY, "0", "2", port}, {}, {}, "", out0, "=stdout"});
  accel::Subprocess r1({{C10D_RANK_BINARY, "1", "2", port}, {}, {}, "", out1, "=stdout"});
  auto s0 = r0.wait_for(std::chrono::seconds(120));
  auto s1 = r1.wait_for(std::chrono::seconds(120));
  ASSERT_TRUE(s0 && s0->success()) << slurp(out0);
  ASSERT_TRUE(s1 && s1->success()) << slurp(out1);
  EXPECT_NE(slurp(out0).find("rank 0 result 3 6 9"), std::string::npos) << slurp(out0);
  EXPECT_NE(slurp(out1).find("rank 1 result 3 6 9"), std::string::npos) << slurp(out1);
}

}  // namespace

// failure.h: an NCCL timeout or NCCL error (c10's DistError family, thrown on the training
// thread or on c10d's watchdog thread) ends a rank with the collective code 80; the other
// failure kinds keep their codes (api/EXIT_CODES.md).
#include "failure.h"

#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

#include "accel/api/exit_codes.h"
#include "accel/config/config_error.h"
#include "accel/preempted.h"
#include "process_group.h"

namespace accel {
namespace {

template <class E>
std::exception_ptr thrown(E e) {
  return std::make_exception_ptr(std::move(e));
}

c10::SourceLocation here() { return {__func__, __FILE__, static_cast<uint32_t>(__LINE__)}; }

constexpr int kCollective = static_cast<int>(api::ExitCode::CollectiveTimeout);

TEST(ClassifyFailure, NcclWatchdogTimeoutIsTheCollectiveCode) {
  // The text c10d's watchdog uses when a collective outlives the process-group timeout.
  Failure f = classify_failure(thrown(c10::DistBackendError(
      here(),
      "[Rank 1] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=42, "
      "OpType=ALLREDUCE, NumelIn=1024, Timeout(ms)=600000) ran for 600012 milliseconds")));
  EXPECT_EQ(f.exit_code, kCollective);
  EXPECT_EQ(f.kind, "collective failed");
  EXPECT_NE(f.message.find("OpType=ALLREDUCE"), std::string::npos) << f.message;
}

TEST(ClassifyFailure, NcclErrorsAndPeerLossAreTheCollectiveCode) {
  EXPECT_EQ(classify_failure(
                thrown(c10::DistBackendError(
                    here(), "NCCL error in: ProcessGroupNCCL.cpp:2032, unhandled system error")))
                .exit_code,
            kCollective);
  EXPECT_EQ(
      classify_failure(thrown(c10::DistNetworkError(here(), "Connection reset by peer"))).exit_code,
      kCollective);
  EXPECT_EQ(classify_failure(thrown(c10::DistStoreError(here(), "Socket Timeout"))).exit_code,
            kCollective);
  EXPECT_EQ(classify_failure(thrown(CollectiveTimeout("all-reduce timed out"))).exit_code,
            kCollective);
  // Gloo reports a lost peer as a plain c10::Error whose text says so.
  EXPECT_EQ(
      classify_failure(thrown(c10::Error(here(), "Connection closed by peer [127.0.0.1]:1234")))
          .exit_code,
      kCollective);
}

TEST(ClassifyFailure, MessageLeavesOutTheCppBacktrace) {
  Failure f =
      classify_failure(thrown(c10::DistBackendError(here(), "NCCL error: remote process exited")));
  EXPECT_EQ(f.message.find("Exception raised from"), std::string::npos) << f.message;
}

TEST(ClassifyFailure, OtherKindsKeepTheirCodes) {
  EXPECT_EQ(classify_failure(thrown(ConfigError("backend: 'nccl' ..."))).exit_code,
            static_cast<int>(api::ExitCode::ConfigError));
  EXPECT_EQ(classify_failure(thrown(RendezvousTimeout("rendezvous"))).exit_code,
            static_cast<int>(api::ExitCode::RendezvousTimeout));
  EXPECT_EQ(classify_failure(thrown(std::runtime_error("index out of range"))).exit_code,
            static_cast<int>(api::ExitCode::TrainingError));
  EXPECT_EQ(classify_failure(thrown(c10::Error(here(), "shape mismatch"))).exit_code,
            static_cast<int>(api::ExitCode::TrainingError));
  EXPECT_EQ(classify_failure(std::make_exception_ptr(42)).exit_code,
            static_cast<int>(api::ExitCode::TrainingError));
  EXPECT_EQ(classify_failure(nullptr).exit_code, static_cast<int>(api::ExitCode::TrainingError));
}

// What TORCH_NCCL_ASYNC_ERROR_HANDLING=1 does on a timeout: c10d's watchdog thread throws, the
// exception escapes the thread, std::terminate runs. The rank must exit 80, not SIGABRT.
TEST(TerminateHandlerDeathTest, CollectiveErrorOnABackgroundThreadExitsWithTheCollectiveCode) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        install_terminate_handler(3);
        std::thread([] {
          throw c10::DistBackendError(here(), "Watchdog caught collective operation timeout");
        }).join();
      },
      ::testing::ExitedWithCode(kCollective),
      "rank 3: collective failed, uncaught: Watchdog caught collective operation "
      "timeout");
}

// A program without run_main lets Preempted escape main: the rank still exits 82, not SIGABRT.
TEST(TerminateHandlerDeathTest, AnUncaughtPreemptedExitsWithThePreemptedCode) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        install_terminate_handler(1);
        std::thread([] { throw Preempted("stopped after step 7"); }).join();
      },
      ::testing::ExitedWithCode(82), "rank 1: preempted, uncaught: stopped after step 7");
}

TEST(TerminateHandlerDeathTest, OtherEscapingExceptionsStillAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        install_terminate_handler(0);
        std::thread([] { throw std::runtime_error("bug in a user thread"); }).join();
      },
      ::testing::KilledBySignal(SIGABRT),
      "training failed, uncaught: bug in a user thread");
}

}  // namespace
}  // namespace accel

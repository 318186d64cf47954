// The exit-code table and how each restart policy classifies a code.
#include <gtest/gtest.h>

#include "accel/api/exit_codes.h"

namespace accel::api {
namespace {

struct Row {
  int code;
  RestartPolicy policy;
  FailureClass want;
};

TEST(ExitCodes, ClassificationTable) {
  using P = RestartPolicy;
  using C = FailureClass;
  const Row rows[] = {
      {0, P::OnFailure, C::Success},    {0, P::ExitCode, C::Success},     {0, P::Never, C::Success},
      {1, P::OnFailure, C::Retryable},  {1, P::ExitCode, C::Permanent},   {1, P::Never, C::Permanent},
      {2, P::OnFailure, C::Retryable},  {2, P::ExitCode, C::Permanent},   {2, P::Never, C::Permanent},
      {78, P::OnFailure, C::Permanent}, {78, P::ExitCode, C::Permanent},  {78, P::Never, C::Permanent},
      {79, P::OnFailure, C::Retryable}, {79, P::ExitCode, C::Retryable},  {79, P::Never, C::Permanent},
      {80, P::OnFailure, C::Retryable}, {80, P::ExitCode, C::Retryable},  {80, P::Never, C::Permanent},
      {81, P::OnFailure, C::Retryable}, {81, P::ExitCode, C::Retryable},  {81, P::Never, C::Permanent},
      // A stopped worker (82, 83) is a disruption under every policy: no restart is spent.
      {82, P::OnFailure, C::Disruption}, {82, P::ExitCode, C::Disruption}, {82, P::Never, C::Disruption},
      {83, P::OnFailure, C::Disruption}, {83, P::ExitCode, C::Disruption}, {83, P::Never, C::Disruption},
      {84, P::ExitCode, C::Permanent},  {127, P::ExitCode, C::Permanent}, {128, P::ExitCode, C::Retryable},
      {137, P::OnFailure, C::Retryable}, {137, P::ExitCode, C::Retryable}, {137, P::Never, C::Permanent},
      {143, P::ExitCode, C::Retryable}, {-1, P::ExitCode, C::Retryable},  {-1, P::Never, C::Permanent},
  };
  for (const Row& r : rows)
    EXPECT_EQ(classify_exit(r.code, r.policy), r.want)
        << "code " << r.code << " under " << to_string(r.policy) << ": got " << to_string(classify_exit(r.code, r.policy));
}

TEST(ExitCodes, ValuesAreTheDocumentedOnes) {
  EXPECT_EQ(to_int(ExitCode::Success), 0);
  EXPECT_EQ(to_int(ExitCode::TrainingError), 1);
  EXPECT_EQ(to_int(ExitCode::ConfigError), 78);
  EXPECT_EQ(to_int(ExitCode::RendezvousTimeout), 79);
  EXPECT_EQ(to_int(ExitCode::CollectiveTimeout), 80);
  EXPECT_EQ(to_int(ExitCode::Stalled), 81);
  EXPECT_EQ(to_int(ExitCode::Preempted), 82);
  EXPECT_EQ(to_int(ExitCode::PreemptedNoCheckpoint), 83);
  EXPECT_EQ(signal_exit_code(9), 137);
}

TEST(ExitCodes, DescriptionsNameTheCause) {
  EXPECT_EQ(describe_exit_code(78), "78 (ConfigError: bad configuration, not retried)");
  EXPECT_EQ(describe_exit_code(137), "137 (killed by signal 9, SIGKILL; often the OOM killer)");
  EXPECT_EQ(describe_exit_code(143), "143 (killed by signal 15, SIGTERM)");
  EXPECT_EQ(describe_exit_code(3), "3 (training process exited with code 3)");
  EXPECT_NE(describe_exit_code(80).find("CollectiveTimeout"), std::string::npos);
  EXPECT_NE(describe_exit_code(81).find("Stalled"), std::string::npos);
}

TEST(ExitCodes, ReasonsAreCamelCase) {
  EXPECT_EQ(exit_reason(79), "RendezvousTimeout");
  EXPECT_EQ(exit_reason(82), "Preempted");
  EXPECT_EQ(exit_reason(83), "PreemptedNoCheckpoint");
  EXPECT_EQ(exit_reason(137), "Signal9");
  EXPECT_EQ(exit_reason(3), "ExitCode3");
}

}  // namespace
}  // namespace accel::api

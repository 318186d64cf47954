// execute() (executor.h): the executor's contract, written once for the operator and `accel run`:
// status first and only when it changed, a conflict drops every action, actions in order, the
// requeue reported. A recording Cluster stands in for the world here; the operator's and the
// local cluster's own tests run it against the real API server and real processes.
#include "accel/controller/executor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fixtures.h"

namespace accel::op {
namespace {

using testing::cpu_job;

struct Recorder : Cluster {
  std::vector<std::string> calls;
  StatusWrite answer = StatusWrite::Written;
  StatusWrite write_status(const api::AccelJob&, const api::AccelJobStatus& s) override {
    calls.push_back("status " + (s.phase ? api::to_string(*s.phase) : std::string("-")));
    return answer;
  }
  void create_service(const api::AccelJob&, const nlohmann::json& o) override {
    calls.push_back("service " + o["metadata"]["name"].get<std::string>());
  }
  void create_pod(const api::AccelJob&, const nlohmann::json& o) override {
    calls.push_back("pod " + o["metadata"]["name"].get<std::string>());
  }
  void delete_pod(const api::AccelJob&, const std::string& name, bool force) override {
    calls.push_back("delete " + name + (force ? " force" : ""));
  }
  void delete_all_pods(const api::AccelJob&, std::optional<std::int64_t> grace) override {
    calls.push_back(grace ? "delete all grace " + std::to_string(*grace) : "delete all");
  }
  void record_event(const api::AccelJob&, const RecordEvent& e) override {
    calls.push_back("event " + e.reason);
  }
  void delete_job(const api::AccelJob&) override { calls.push_back("delete job"); }
  void create_pod_group(const api::AccelJob&, const nlohmann::json& o) override {
    calls.push_back("pod group " + o["metadata"]["name"].get<std::string>());
  }
  void delete_pod_group(const api::AccelJob&, const std::string& name) override {
    calls.push_back("delete pod group " + name);
  }
};

Decision start_gang(const api::AccelJob& job) { return reconcile(job, {}, testing::t(0)); }

TEST(Execute, WritesStatusFirstThenTheActionsInOrder) {
  const api::AccelJob job = cpu_job();
  const Decision d = start_gang(job);
  Recorder r;
  const Outcome o = execute(job, d, r);
  EXPECT_EQ(o.kind, Outcome::Kind::Done);
  EXPECT_TRUE(o.status_written);
  ASSERT_GE(r.calls.size(), 4u);
  EXPECT_EQ(r.calls[0], "status Starting");
  EXPECT_EQ(r.calls[1], "service gpt-tiny");
  EXPECT_EQ(r.calls[2], "pod gpt-tiny-a0-n0");
  EXPECT_EQ(r.calls[3], "pod gpt-tiny-a0-n1");
  ASSERT_TRUE(o.requeue_after.has_value());  // the startup timer
  EXPECT_EQ(*o.requeue_after, *d.requeue_after());
}

TEST(Execute, AConflictDropsEveryAction) {
  const api::AccelJob job = cpu_job();
  Recorder r;
  r.answer = Cluster::StatusWrite::Conflict;
  const Outcome o = execute(job, start_gang(job), r);
  EXPECT_EQ(o.kind, Outcome::Kind::Conflict);
  EXPECT_EQ(r.calls, (std::vector<std::string>{"status Starting"}));
  EXPECT_FALSE(o.requeue_after.has_value());
}

TEST(Execute, AJobDeletedMeanwhileGetsNothingMore) {
  const api::AccelJob job = cpu_job();
  Recorder r;
  r.answer = Cluster::StatusWrite::JobGone;
  EXPECT_EQ(execute(job, start_gang(job), r).kind, Outcome::Kind::JobGone);
  EXPECT_EQ(r.calls.size(), 1u);
}

TEST(Execute, AnUnchangedStatusIsNotWrittenAgain) {
  api::AccelJob job = cpu_job();
  const Decision first = start_gang(job);
  job.status = first.status;  // the status the first decision wrote
  Decision again = first;     // the same status, one action
  again.actions = {DeletePod{"gpt-tiny-a0-n1", true}};
  Recorder r;
  const Outcome o = execute(job, again, r);
  EXPECT_FALSE(o.status_written);
  EXPECT_EQ(r.calls, (std::vector<std::string>{"delete gpt-tiny-a0-n1 force"}));
}

}  // namespace
}  // namespace accel::op

// The Accelerator's collective and checkpoint API on 2 real Gloo ranks (api_probe): gather,
// reduce with Sum/Mean/Max/Min, main_process_first, save_state / load_state(path) with a
// registered state, and accel::Batches' shards.
#include <set>
#include <sstream>

#include "training_harness.h"

namespace accel::testing {
namespace {

std::map<std::string, std::string> probes(const std::string& output) {
  std::map<std::string, std::string> out;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string tag, who, name, value;
    if (l >> tag >> who >> name >> value && tag == "probe") out[who + " " + name] = value;
  }
  return out;
}

class AcceleratorApi : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fresh_dir("api");
    run_ = launch(dir_, {"--num_processes", "2", "--main_process_port", "0"}, API_PROBE, {});
    ASSERT_TRUE(run_.status.success()) << run_.output;
    p_ = probes(run_.output);
  }
  std::string dir_;
  CommandResult run_;
  std::map<std::string, std::string> p_;
};

TEST_F(AcceleratorApi, GatherConcatenatesEveryRanksTensorInRankOrder) {
  EXPECT_EQ(p_["rank0 gather"], "0,10,1,11");
  EXPECT_EQ(p_["rank1 gather"], "0,10,1,11");
}

TEST_F(AcceleratorApi, ReduceAppliesEachOperationAcrossRanks) {
  for (const char* r : {"rank0", "rank1"}) {
    EXPECT_EQ(p_[std::string(r) + " sum"], "3") << r;
    EXPECT_EQ(p_[std::string(r) + " mean"], "1.5") << r;
    EXPECT_EQ(p_[std::string(r) + " max"], "2") << r;
    EXPECT_EQ(p_[std::string(r) + " min"], "1") << r;
  }
}

TEST_F(AcceleratorApi, MainProcessFirstRunsTheMainProcessBeforeTheOthers) {
  EXPECT_EQ(p_["rank0 sees_marker"], "yes");
  EXPECT_EQ(p_["rank1 sees_marker"], "yes") << "rank 1 ran before the main process made the file";
}

TEST_F(AcceleratorApi, LoadStateOfAPathRestoresParametersCountersAndRegisteredState) {
  for (const char* r : {"rank0", "rank1"}) {
    const std::string w(r);
    EXPECT_EQ(p_[w + " saved"], "complete") << w;
    EXPECT_EQ(p_[w + " moved"], "yes") << w << ": the step between save and load changed nothing";
    EXPECT_EQ(p_[w + " loaded"], "yes") << w;
    EXPECT_EQ(p_[w + " restored"], "yes") << w;
    EXPECT_EQ(p_[w + " step"], "0") << w;
  }
  EXPECT_EQ(p_["rank0 counter"], "41");
}

TEST_F(AcceleratorApi, BatchesGiveEachRankADisjointShardOfTheSameOrder) {
  EXPECT_EQ(p_["rank0 per_epoch"], "3");  // 20 samples / (3 x 2 ranks), the partial one dropped
  std::set<std::string> a, b;
  std::istringstream s0(p_["rank0 shard"]), s1(p_["rank1 shard"]);
  for (std::string x; std::getline(s0, x, ',');) a.insert(x);
  for (std::string x; std::getline(s1, x, ',');) b.insert(x);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(b.size(), 3u);
  for (const auto& x : a) EXPECT_EQ(b.count(x), 0u) << x << " is in both shards";
}

}  // namespace
}  // namespace accel::testing

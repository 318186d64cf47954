// TensorBoard event files written by Accel, read back by the real tensorboard package
// (pinned in scripts/setup-python.sh): its CRC-checking record reader and EventAccumulator.
#include <cmath>

#include "accel/tracking.h"
#include "reader_env.h"

using namespace accel;
using namespace accel::trackers_test;

namespace {
double loss_at(int step) { return 2.0 / (1.0 + step) + 0.001 * step; }
}  // namespace

TEST(TensorBoardReader, ReadsBackEveryScalarWithItsStepAndTheHyperparameters) {
  ScratchDir dir("tb");
  TrackerSettings s;
  s.logging_dir = dir.str();
  s.run_name = "tb-run";
  TrackerHub hub(make_trackers({"tensorboard"}, s), /*is_main_process=*/true);
  hub.start("demo", {{"lr", "0.001"}, {"optimizer", "adamw"}, {"note", "a|b"}});
  const int steps = 1203;  // more than one delivery batch
  for (int i = 0; i < steps; ++i) {
    std::map<std::string, double> v{{"train/loss", loss_at(i)}, {"lr", 1e-3 * (1 + i % 7)}};
    if (i % 100 == 0) v["eval/accuracy"] = i / 2000.0;
    hub.log(v, i);
  }
  auto reports = hub.finish(true);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].delivered, static_cast<size_t>(steps));
  EXPECT_EQ(reports[0].dropped, 0u);

  auto out = last_json(run_reader("read_tensorboard.py", {hub.run_dir()}));
  ASSERT_EQ(out["files"].size(), 1u);
  const std::string file = out["files"][0];
  EXPECT_EQ(file.rfind("events.out.tfevents.", 0), 0u) << file;
  EXPECT_EQ(out["file_version"], "brain.Event:2");
  EXPECT_TRUE(out["first_has_wall_time"].get<bool>());
  // file version + hparams text + one event per log call, every CRC checked.
  EXPECT_EQ(out["records"].get<int>(), 2 + steps);

  auto& loss = out["scalars"]["train/loss"];
  ASSERT_EQ(loss.size(), static_cast<size_t>(steps));
  for (int i = 0; i < steps; ++i) {
    EXPECT_EQ(loss[i][0].get<int>(), i);
    EXPECT_FLOAT_EQ(loss[i][1].get<float>(), static_cast<float>(loss_at(i))) << "step " << i;
  }
  auto& lr = out["scalars"]["lr"];
  ASSERT_EQ(lr.size(), static_cast<size_t>(steps));
  EXPECT_FLOAT_EQ(lr[5][1].get<float>(), 6e-3f);
  auto& acc = out["scalars"]["eval/accuracy"];
  ASSERT_EQ(acc.size(), 13u);
  EXPECT_EQ(acc[12][0].get<int>(), 1200);
  EXPECT_FLOAT_EQ(acc[12][1].get<float>(), 0.6f);

  ASSERT_TRUE(out["text"].contains("hparams")) << out["text"].dump();
  const std::string table = out["text"]["hparams"];
  EXPECT_NE(table.find("| lr | 0.001 |"), std::string::npos) << table;
  EXPECT_NE(table.find("| optimizer | adamw |"), std::string::npos) << table;
  EXPECT_NE(table.find("| note | a\\|b |"), std::string::npos) << table;
}

TEST(TensorBoardReader, KeepsNegativeAndLargeStepsAndNonFiniteValues) {
  ScratchDir dir("tb2");
  TrackerSettings s;
  s.logging_dir = dir.str();
  s.run_name = "edge";
  TrackerHub hub(make_trackers({"tensorboard"}, s), true);
  hub.start("demo", {});
  hub.log({{"x", 1.5}}, -1);
  hub.log({{"x", 2.5}}, int64_t{5'000'000'000});
  hub.log({{"x", std::nan("")}}, 7);
  hub.finish(true);
  auto out = last_json(run_reader("read_tensorboard.py", {hub.run_dir()}));
  EXPECT_EQ(out["records"].get<int>(), 1 + 3);  // no hparams record without hyperparameters
  auto& x = out["scalars"]["x"];
  ASSERT_EQ(x.size(), 3u);
  EXPECT_EQ(x[0][0].get<int64_t>(), -1);
  EXPECT_EQ(x[1][0].get<int64_t>(), 5'000'000'000);
  EXPECT_EQ(x[1][1].get<double>(), 2.5);
  EXPECT_EQ(x[2][1], "NaN");
}

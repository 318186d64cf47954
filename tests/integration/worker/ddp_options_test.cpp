// The ddp_* settings, checked on real training: 2 Gloo ranks as real processes through
// `accel launch`, running ddp_options_trainer (tests/integration/worker/ddp_options_trainer.cpp).
// Each option is set as a launch flag, so these tests also prove the flag reaches c10d's
// Reducer through ACCEL_* env and the resolved configuration. The reference for "trains
// correctly" is one process with twice the batch (no DDP at all): parameters agree within
// 2e-5 relative (float32 summation order only), as in distributed_training_test.
#include <cstdio>
#include <filesystem>
#include <set>

#include "training_harness.h"

namespace accel::testing {
namespace {

const std::string kTrainer = DDP_TRAINER;
constexpr double kTolerance = 2e-5;
constexpr auto kLimit = std::chrono::seconds(120);  // a failing gang never hangs the test

// One line of grads_rank<R>.txt as key → value.
using GradLine = std::map<std::string, std::string>;

std::vector<GradLine> grad_report(const std::string& path) {
  std::vector<GradLine> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    GradLine fields;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      auto eq = word.find('=');
      if (eq != std::string::npos) fields[word.substr(0, eq)] = word.substr(eq + 1);
    }
    lines.push_back(fields);
  }
  return lines;
}
int64_t num(const GradLine& l, const std::string& key) { return std::stoll(l.at(key)); }

// `accel launch` with 2 ranks (or `nproc`), a free port, and `flags`; the trainer writes to dir.
CommandResult train(const std::string& dir, int nproc, std::vector<std::string> flags,
                    std::vector<std::string> args) {
  std::vector<std::string> launch_flags{"--num_processes",      std::to_string(nproc),
                                        "--main_process_port",  "0",
                                        "--pg_timeout_seconds", "30"};
  launch_flags.insert(launch_flags.end(), flags.begin(), flags.end());
  args.push_back("--out");
  args.push_back(dir);
  return launch(dir, launch_flags, kTrainer, args, {}, kLimit);
}

// The trained parameters of rank 0, after checking that every rank ended with the same ones
// (a gradient that was not all-reduced makes the replicas drift apart).
std::vector<float> replica_params(const std::string& dir, int nproc) {
  auto p0 = read_floats(dir + "/p_rank0.bin");
  EXPECT_FALSE(p0.empty()) << dir;
  for (int r = 1; r < nproc; ++r)
    EXPECT_EQ(max_rel_diff(read_floats(dir + "/p_rank" + std::to_string(r) + ".bin"), p0), 0.0)
        << "rank " << r << " diverged from rank 0 in " << dir;
  return p0;
}

// --- ddp_gradient_as_bucket_view and ddp_bucket_cap_mb ------------------------------------
// The deep model: 16 hidden Linear(256, 256) layers, 256 KiB of weight each, ~4.2 MB of
// gradients in all. Buckets are filled in reverse parameter order and closed once they reach
// their cap (the first one at min(1 MiB, cap)), so no bucket exceeds cap + one parameter.
std::vector<std::string> deep(int steps, int batch = 4) {
  return {"--model",      "deep",
          "--layers",     "16",
          "--width",      "256",
          "--lr",         "0.01",
          "--steps",      std::to_string(steps),
          "--batch-size", std::to_string(batch)};
}

TEST(DdpOptions, GradientAsBucketViewMakesEachBucketsGradientsViewsOfOneFlatBuffer) {
  auto on = fresh_dir("view-on"), off = fresh_dir("view-off");
  auto a =
      train(on, 2, {"--ddp_gradient_as_bucket_view=true", "--ddp_bucket_cap_mb", "1"}, deep(3));
  ASSERT_TRUE(a.status.success()) << a.output;
  auto b =
      train(off, 2, {"--ddp_gradient_as_bucket_view=false", "--ddp_bucket_cap_mb", "1"}, deep(3));
  ASSERT_TRUE(b.status.success()) << b.output;

  auto with_view = grad_report(on + "/grads_rank0.txt");
  auto without = grad_report(off + "/grads_rank0.txt");
  ASSERT_EQ(with_view.size(), 3u);
  ASSERT_EQ(without.size(), 3u);
  const int64_t params = num(with_view[0], "params");
  ASSERT_EQ(params, 2 * 18);  // in, 16 hidden, out: weight and bias each

  // Off: every gradient is a tensor of its own.
  for (auto& l : without) EXPECT_EQ(num(l, "storages"), params) << l.at("storage_ids");
  // On: the gradients live in a handful of flat buffers (the buckets), packed back to back,
  // and those buffers stay the same across steps (zero_grad keeps them).
  const int64_t cap = 1 << 20, largest = num(with_view[0], "largest_param_bytes");
  const int64_t total = num(with_view[0], "total_param_bytes");
  for (auto& l : with_view) {
    EXPECT_LT(num(l, "storages"), params);
    EXPECT_EQ(num(l, "packed"), 1) << "a bucket holds bytes that are no parameter's gradient";
    EXPECT_LE(num(l, "max_storage_bytes"), cap + largest) << "a bucket exceeds ddp_bucket_cap_mb";
    EXPECT_GE(num(l, "storages"), (total + cap + largest - 1) / (cap + largest));
  }
  EXPECT_EQ(with_view[1].at("storage_ids"), with_view[2].at("storage_ids"));
}

TEST(DdpOptions, BucketCapMbDecidesHowManyBucketsTheGradientsFill) {
  // Seen through gradient_as_bucket_view: one gradient storage per bucket. 25 MiB holds
  // everything after the 1 MiB first bucket (2 buckets); 1 MiB needs at least 4.
  auto small = fresh_dir("cap1"), large = fresh_dir("cap25");
  auto args = deep(2);
  auto a =
      train(small, 2, {"--ddp_gradient_as_bucket_view=true", "--ddp_bucket_cap_mb", "1"}, args);
  ASSERT_TRUE(a.status.success()) << a.output;
  auto b =
      train(large, 2, {"--ddp_gradient_as_bucket_view=true", "--ddp_bucket_cap_mb", "25"}, args);
  ASSERT_TRUE(b.status.success()) << b.output;
  auto s = grad_report(small + "/grads_rank0.txt"), l = grad_report(large + "/grads_rank0.txt");
  ASSERT_EQ(s.size(), 2u);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(num(l.back(), "storages"), 2);
  EXPECT_GE(num(s.back(), "storages"), 4);
  EXPECT_GT(num(l.back(), "max_storage_bytes"), 2 * (1 << 20));  // the 25 MiB bucket is used
}

TEST(DdpOptions, GradientAsBucketViewTrainsToTheSameParameters) {
  // With accumulation (gradients accumulate into the bucket views between synchronisations).
  auto on = fresh_dir("view-train-on"), off = fresh_dir("view-train-off"),
       ref = fresh_dir("view-train-ref");
  auto args = deep(4);
  const std::vector<std::string> accumulate{"--gradient_accumulation_steps", "2",
                                            "--ddp_bucket_cap_mb", "1"};
  auto with = accumulate, without = accumulate;
  with.insert(with.end(), {"--ddp_gradient_as_bucket_view=true"});
  without.insert(without.end(), {"--ddp_gradient_as_bucket_view=false"});
  auto a = train(on, 2, with, args);
  ASSERT_TRUE(a.status.success()) << a.output;
  auto b = train(off, 2, without, args);
  ASSERT_TRUE(b.status.success()) << b.output;
  auto c = train(ref, 1, {"--gradient_accumulation_steps", "2"}, deep(4, 8));
  ASSERT_TRUE(c.status.success()) << c.output;

  auto p_on = replica_params(on, 2), p_off = replica_params(off, 2);
  // The same floating-point operations in the same order (only where the gradient is stored
  // differs): identical up to 1e-7 relative.
  EXPECT_LE(max_rel_diff(p_on, p_off), 1e-7);
  EXPECT_LT(max_rel_diff(p_on, read_floats(ref + "/p_rank0.bin")), kTolerance);
}

// --- ddp_static_graph ---------------------------------------------------------------------
// The reuse model runs one Linear in two reentrant checkpoint segments: its gradient hook fires
// twice in one backward. Plain DDP marks a parameter ready on the first hook and rejects the
// second; with a static graph the Reducer counts hooks in the first iteration and marks the
// parameter ready on its last one from then on. So: static off fails as c10d documents, static
// on trains, and trains correctly (equals one process without DDP).
const std::vector<std::string> kReuse{"--model", "reuse", "--steps", "4", "--batch-size", "4"};

TEST(DdpOptions, StaticGraphTrainsAModelThatReusesAParameterAcrossReentrantBackwards) {
  auto d = fresh_dir("static-reuse"), ref = fresh_dir("static-reuse-ref");
  auto r = train(d, 2, {"--ddp_static_graph=true", "--gradient_accumulation_steps", "2"}, kReuse);
  ASSERT_TRUE(r.status.success()) << r.output;
  auto ref_args = kReuse;
  ref_args.back() = "8";
  auto one = train(ref, 1, {"--gradient_accumulation_steps", "2"}, ref_args);
  ASSERT_TRUE(one.status.success()) << one.output;
  EXPECT_LT(max_rel_diff(replica_params(d, 2), read_floats(ref + "/p_rank0.bin")), kTolerance);
}

TEST(DdpOptions, WithoutStaticGraphTheReusedParameterIsRejectedNamingTheSetting) {
  auto d = fresh_dir("nostatic-reuse");
  auto r = train(d, 2, {"--ddp_static_graph=false"}, kReuse);
  EXPECT_EQ(r.status.code(), 1) << r.output;  // TrainingError, not a hang or a timeout
  EXPECT_NE(r.output.find("Expected to mark a variable ready only once"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("ddp_static_graph"), std::string::npos) << r.output;
}

TEST(DdpOptions, StaticGraphEqualsTheDynamicGraphOnAnOrdinaryModel) {
  // Covers the first iteration, where a static graph delays every all-reduce to the end of
  // backward (without it step 1 uses unreduced gradients), and accumulation, where no_sync
  // backwards before the first synchronisation must not be counted as part of the first
  // iteration (otherwise nothing is all-reduced from step 2 on). Equal within the float32
  // tolerance: the static graph's first window is all-reduced in two parts.
  auto s = fresh_dir("static-plain"), n = fresh_dir("dynamic-plain");
  const std::vector<std::string> args{"--model", "deep", "--layers", "3", "--steps", "4"};
  auto a = train(s, 2, {"--ddp_static_graph=true", "--gradient_accumulation_steps", "2"}, args);
  ASSERT_TRUE(a.status.success()) << a.output;
  auto b = train(n, 2, {"--ddp_static_graph=false", "--gradient_accumulation_steps", "2"}, args);
  ASSERT_TRUE(b.status.success()) << b.output;
  EXPECT_LT(max_rel_diff(replica_params(s, 2), replica_params(n, 2)), kTolerance);
}

// --- ddp_find_unused_parameters -----------------------------------------------------------
// The branch model uses its branch on micro-batches 0, 3, 6, 9 only. With 2 micro-batches per
// step the windows are {0,1} (branch used on the non-synchronising micro-batch only), {2,3}
// (used on the synchronising one), {4,5} (not used at all), {6,7}, ...
const std::vector<std::string> kBranch{"--model", "branch", "--steps", "6", "--batch-size", "4"};

TEST(DdpOptions, FindUnusedParametersTrainsAModelWithAnOccasionallyUnusedBranch) {
  auto d = fresh_dir("unused-on"), ref = fresh_dir("unused-ref");
  auto r = train(d, 2, {"--ddp_find_unused_parameters=true", "--gradient_accumulation_steps", "2"},
                 kBranch);
  ASSERT_TRUE(r.status.success()) << r.output;
  auto ref_args = kBranch;
  ref_args.back() = "8";
  auto one = train(ref, 1, {"--gradient_accumulation_steps", "2"}, ref_args);
  ASSERT_TRUE(one.status.success()) << one.output;
  auto p = replica_params(d, 2), p_ref = read_floats(ref + "/p_rank0.bin");
  EXPECT_LT(max_rel_diff(p, p_ref), kTolerance);
  // And the branch really trained: its parameters (after in: 16x32 + 32 floats; 32x32 + 32 of
  // them) moved away from their initial values.
  auto zero = fresh_dir("unused-zero");
  auto none = train(zero, 1, {}, {"--model", "branch", "--steps", "0"});
  ASSERT_TRUE(none.status.success()) << none.output;
  auto p0 = read_floats(zero + "/p_rank0.bin");
  ASSERT_EQ(p0.size(), p_ref.size());
  const size_t first = 16 * 32 + 32, count = 32 * 32 + 32;
  EXPECT_GT(max_rel_diff({p_ref.begin() + first, p_ref.begin() + first + count},
                         {p0.begin() + first, p0.begin() + first + count}),
            1e-4);
}

TEST(DdpOptions, WithoutFindUnusedParametersAnUnusedBranchFailsNamingTheSetting) {
  auto d = fresh_dir("unused-off");
  // Without accumulation: the branch is used in step 1, unused in step 2, and step 3 finds
  // step 2's reduction unfinished. (With accumulation the next micro-batch's hooks fire
  // first and c10d reports "Expected to mark a variable ready only once", with the same hint.)
  auto r = train(d, 2, {"--ddp_find_unused_parameters=false"}, kBranch);
  EXPECT_EQ(r.status.code(), 1) << r.output;  // TrainingError, not a hang or a timeout
  EXPECT_NE(r.output.find("Expected to have finished reduction in the prior iteration"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("ddp_find_unused_parameters"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace accel::testing

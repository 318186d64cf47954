// The precedence table, key by key: default < config file < ACCEL_<KEY> < launch flag < code,
// for every key of the key table, with the recorded source of each winner.
#include <gtest/gtest.h>

#include <array>

#include "accel/config.h"
#include "config_test_support.h"

namespace accel {
namespace {

using testing::ScratchDir;
using testing::write_text;

enum Layer { kFile, kEnv, kFlag, kCode, kLayers };

// Four raw values for a key, one per layer, valid and different from their neighbours, so
// that removing the top layer always changes the winner's source (and usually its value).
std::array<std::string, kLayers> layer_values(const KeySpec& k) {
  switch (k.type) {
    case KeyType::Bool:
      return {"yes", "0", "TRUE", "no"};  // every accepted spelling family, alternating
    case KeyType::Int: {
      const std::int64_t base = k.min_value + 2;
      return {std::to_string(base), std::to_string(base + 1), std::to_string(base + 2),
              std::to_string(base + 3)};
    }
    case KeyType::Choice: {
      std::vector<std::string> others;
      for (const auto& c : k.choices)
        if (c != k.default_value) others.push_back(c);
      // Alternate through the non-defaults, and the default where there is only one other:
      // a code value equal to the default must still win.
      std::vector<std::string> cycle = others;
      if (cycle.size() == 1) cycle.push_back(k.default_value);
      return {cycle[0], cycle[1 % cycle.size()], cycle[0], cycle[1 % cycle.size()]};
    }
    case KeyType::List:
      return {"tensorboard", "wandb", "mlflow,jsonl", "all"};
    case KeyType::GpuIds:
      return {"0", "1,2", "3", "all"};
    case KeyType::String:
      return {"from-file-" + k.name, "from-env-" + k.name, "from-flag-" + k.name,
              "from-code-" + k.name};
  }
  return {};
}

std::string yaml_quoted(const std::string& v) { return "\"" + v + "\""; }

class PrecedenceByKey : public ::testing::TestWithParam<std::string> {
 protected:
  // Inputs with every layer from `lowest` up to `highest` setting the key under test.
  ConfigInputs inputs(int highest) {
    const KeySpec& k = *find_config_key(GetParam());
    const auto v = layer_values(k);
    ConfigInputs in;
    in.env["HOME"] = dir_.path();  // no default config file there
    // machine_rank must stay below num_machines: give it room (in a layer below all tests').
    if (k.name == "machine_rank") in.code["num_machines"] = "1000";
    if (highest >= kFile) {
      const std::string path = dir_.file("layer.yaml");
      write_text(path, k.name + ": " + yaml_quoted(v[kFile]) + "\n");
      in.config_file = path;
      in.config_file_origin = "launch flag --config_file";
    }
    if (highest >= kEnv) in.env[env_var_for_key(k.name)] = v[kEnv];
    if (highest >= kFlag) in.launch_flags[k.name] = v[kFlag];
    if (highest >= kCode) in.code[k.name] = v[kCode];
    return in;
  }

  ScratchDir dir_;
};

TEST_P(PrecedenceByKey, HighestLayerWinsAndPeelingEachLayerFallsBackToTheNextOne) {
  const KeySpec& k = *find_config_key(GetParam());
  const auto v = layer_values(k);
  const std::array<ConfigSource, kLayers> sources = {ConfigSource::ConfigFile,
                                                     ConfigSource::Environment,
                                                     ConfigSource::LaunchFlag, ConfigSource::Code};
  const std::array<std::string, kLayers> origins = {dir_.file("layer.yaml"),
                                                    env_var_for_key(k.name), "--" + k.name,
                                                    "AcceleratorOptions::" + k.name};

  for (int top = kCode; top >= kFile; --top) {
    SCOPED_TRACE("top layer " + to_string(sources[top]));
    const ResolvedConfig cfg = resolve_config(inputs(top));
    const ResolvedValue& got = cfg.at(k.name);
    EXPECT_EQ(got.value, normalize_value(k, v[top], "test"));
    EXPECT_EQ(got.source, sources[top]);
    EXPECT_EQ(got.origin, origins[top]);
  }

  // Nothing set: the built-in (or derived) default.
  const ResolvedConfig cfg = resolve_config(inputs(-1));
  EXPECT_EQ(cfg.at(k.name).source, ConfigSource::Default);
  if (k.derived_default.empty()) {
    EXPECT_EQ(cfg.at(k.name).value, k.default_value);
  } else {
    EXPECT_EQ(cfg.at(k.name).origin, k.derived_default);
    EXPECT_FALSE(cfg.at(k.name).value.empty());
  }
}

// Keys with a fixed default (derived ones are covered by the DerivedDefaults tests).
class ExplicitDefaultByKey : public PrecedenceByKey {};

std::vector<std::string> keys_with_fixed_defaults() {
  std::vector<std::string> out;
  for (const auto& k : config_keys())
    if (k.derived_default.empty()) out.push_back(k.name);
  return out;
}

TEST_P(ExplicitDefaultByKey, CodeValueEqualToTheDefaultStillWinsOverEveryOtherLayer) {
  const KeySpec& k = *find_config_key(GetParam());
  ConfigInputs in = inputs(kFlag);
  in.code[k.name] = k.default_value;
  const ResolvedConfig cfg = resolve_config(in);
  EXPECT_EQ(cfg.at(k.name).value, k.default_value);
  EXPECT_EQ(cfg.at(k.name).source, ConfigSource::Code);
}

std::string key_name(const ::testing::TestParamInfo<std::string>& info) { return info.param; }
INSTANTIATE_TEST_SUITE_P(EveryKey, PrecedenceByKey, ::testing::ValuesIn(config_key_names()),
                         key_name);
INSTANTIATE_TEST_SUITE_P(EveryKey, ExplicitDefaultByKey,
                         ::testing::ValuesIn(keys_with_fixed_defaults()), key_name);

// --- the code layer through AcceleratorOptions ------------------------------------------------

TEST(AcceleratorOptions, ChainedSettersRecordEveryKeyAsExplicitlySet) {
  AcceleratorOptions o = AcceleratorOptions()
                             .mixed_precision("bf16")
                             .gradient_accumulation_steps(4)
                             .cpu(false)
                             .log_with({"tensorboard", "jsonl"})
                             .pg_timeout_seconds(1800);
  EXPECT_EQ(o.to_map().at("mixed_precision"), "bf16");
  EXPECT_EQ(o.to_map().at("gradient_accumulation_steps"), "4");
  EXPECT_EQ(o.to_map().at("cpu"), "false");
  EXPECT_EQ(o.to_map().at("log_with"), "tensorboard,jsonl");
  EXPECT_TRUE(o.is_set("pg_timeout_seconds"));
  EXPECT_FALSE(o.is_set("seed"));
}

TEST(AcceleratorOptions, TimeoutEqualToItsDefaultSetInCodeWinsOverTheEnvironment) {
  // Accelerate dropped a timeout equal to its own default (#2611); here setting it is what
  // counts, so the environment's 600 must lose to the code's explicit 1800.
  auto in = ConfigInputs::from_environment({{"ACCEL_PG_TIMEOUT_SECONDS", "600"}},
                                           AcceleratorOptions().pg_timeout_seconds(1800));
  const ResolvedConfig cfg = resolve_config(in);
  EXPECT_EQ(cfg.pg_timeout_seconds(), 1800);
  EXPECT_EQ(cfg.source_of("pg_timeout_seconds"), ConfigSource::Code);
  EXPECT_EQ(cfg.origin_of("pg_timeout_seconds"), "code (AcceleratorOptions::pg_timeout_seconds)");
}

TEST(AcceleratorOptions, MixedPrecisionNoSetInCodeBeatsTheEnvironmentsBf16) {
  // The example-script trap (accelerate PR #1018): an explicit "no" is a choice, not absence.
  auto in = ConfigInputs::from_environment({{"ACCEL_MIXED_PRECISION", "bf16"}},
                                           AcceleratorOptions().mixed_precision("no"));
  EXPECT_EQ(resolve_config(in).mixed_precision(), "no");
}

TEST(AcceleratorOptions, GradientAccumulationFromTheEnvironmentLosesToCode) {
  // Accelerate lets ACCELERATE_GRADIENT_ACCUMULATION_STEPS beat the constructor; not here.
  auto in = ConfigInputs::from_environment({{"ACCEL_GRADIENT_ACCUMULATION_STEPS", "8"}},
                                           AcceleratorOptions().gradient_accumulation_steps(2));
  EXPECT_EQ(resolve_config(in).gradient_accumulation_steps(), 2);
}

// keys.def generates one typed setter per key; each must set its own key (and only that one),
// so that AcceleratorOptions().seed(7) beats the environment.
TEST(AcceleratorOptions, EveryKeyOfTheTableHasItsOwnTypedSetter) {
  std::vector<std::string> called;
  auto value_of = [](const std::string& key) { return find_config_key(key)->default_value; };
#define ACCEL_CONFIG_TEST_VALUE_Int(key) std::stoi(value_of(key))
#define ACCEL_CONFIG_TEST_VALUE_Bool(key) (value_of(key) == "true")
#define ACCEL_CONFIG_TEST_VALUE_Text(key) value_of(key)
#define ACCEL_CONFIG_TEST_VALUE_Choice(key) value_of(key)
#define ACCEL_CONFIG_TEST_VALUE_GpuIds(key) value_of(key)
#define ACCEL_CONFIG_TEST_VALUE_List(key) std::vector<std::string>{}
#define ACCEL_KEY(key, kind, ...)                                 \
  {                                                              \
    AcceleratorOptions o;                                        \
    o.key(ACCEL_CONFIG_TEST_VALUE_##kind(#key));                 \
    EXPECT_EQ(o.to_map().size(), 1u) << #key;                    \
    EXPECT_TRUE(o.is_set(#key)) << #key " sets another key";      \
    called.push_back(#key);                                      \
  }
#include "accel/config/keys.def"
#undef ACCEL_KEY
  EXPECT_EQ(called, config_key_names());
}

// --- derived defaults ---------------------------------------------------------------------

TEST(DerivedDefaults, LoggingAndCheckpointDirsFollowProjectDirWhenUnset) {
  const ResolvedConfig cfg =
      resolve_config(ConfigInputs::from_environment({{"ACCEL_PROJECT_DIR", "/runs/exp1"}}));
  EXPECT_EQ(cfg.logging_dir(), "/runs/exp1/logs");
  EXPECT_EQ(cfg.checkpoint_dir(), "/runs/exp1/checkpoints");
  EXPECT_EQ(cfg.origin_of("logging_dir"), "default (<project_dir>/logs)");
}

TEST(DerivedDefaults, TrailingSlashOnProjectDirDoesNotDoubleTheSeparator) {
  const ResolvedConfig cfg =
      resolve_config(ConfigInputs::from_environment({}, AcceleratorOptions().project_dir("/p/")));
  EXPECT_EQ(cfg.logging_dir(), "/p/logs");
}

TEST(DerivedDefaults, DefaultProjectDirGivesDotLogs) {
  const ResolvedConfig cfg = resolve_config(ConfigInputs{});
  EXPECT_EQ(cfg.logging_dir(), "./logs");
  EXPECT_EQ(cfg.checkpoint_dir(), "./checkpoints");
}

TEST(DerivedDefaults, ExplicitLoggingDirIsNotDerived) {
  const ResolvedConfig cfg = resolve_config(ConfigInputs::from_environment(
      {{"ACCEL_PROJECT_DIR", "/runs/exp1"}, {"ACCEL_LOGGING_DIR", "/tb"}}));
  EXPECT_EQ(cfg.logging_dir(), "/tb");
  EXPECT_EQ(cfg.source_of("logging_dir"), ConfigSource::Environment);
  EXPECT_EQ(cfg.checkpoint_dir(), "/runs/exp1/checkpoints");
}

TEST(DerivedDefaults, RunNameIsThePrefixAndAUtcTimestamp) {
  EXPECT_EQ(derive_run_name("exp-", 0), "exp-19700101000000");
  EXPECT_EQ(derive_run_name("", 86400 + 3661), "19700102010101");
}

// --- typed accessors --------------------------------------------------------------------

// "all" stays "all": what it includes depends on the trackers' settings (mlflow only with a
// tracking URI), which make_trackers knows (tests/unit/trackers/factory_test.cpp).
TEST(TypedAccessors, LogWithAllIsLeftForTheTrackersToExpand) {
  const ResolvedConfig cfg =
      resolve_config(ConfigInputs::from_environment({{"ACCEL_LOG_WITH", "all"}}));
  EXPECT_EQ(cfg.log_with(), (std::vector<std::string>{"all"}));
}

TEST(RunName, AnEmptyRunNameIsThePrefixAndTheUtcStartTime) {
  ConfigInputs in = ConfigInputs::from_environment({{"ACCEL_RUN_NAME_PREFIX", "gpt-"}, {"ACCEL_RUN_NAME", ""}});
  in.now = 86400 + 3661;
  const ResolvedConfig cfg = resolve_config(in);
  EXPECT_EQ(cfg.run_name(), "gpt-19700102010101");
  EXPECT_EQ(cfg.source_of("run_name"), ConfigSource::Default);
  in.env["ACCEL_RUN_NAME"] = "baseline";
  EXPECT_EQ(resolve_config(in).run_name(), "baseline");
}

TEST(TypedAccessors, ListsAndGpuIdsAreCanonicalised) {
  const ResolvedConfig cfg = resolve_config(ConfigInputs::from_environment(
      {{"ACCEL_LOG_WITH", " WandB , jsonl,wandb"}, {"ACCEL_GPU_IDS", " 2, 0"}}));
  EXPECT_EQ(cfg.log_with(), (std::vector<std::string>{"wandb", "jsonl"}));
  EXPECT_EQ(cfg.gpu_ids(), "2,0");
  EXPECT_EQ(cfg.gpu_id_list(), (std::vector<int>{2, 0}));
}

// A GPU index past an int is a configuration error naming the source, not std::out_of_range
// from gpu_id_list() (found by fuzzing the env contract).
TEST(TypedAccessors, AGpuIndexPastAnyMachineIsAConfigError) {
  const std::string e = accel::testing::error_of<ConfigError>([] {
    resolve_config(ConfigInputs::from_environment({{"ACCEL_GPU_IDS", "0,6024306401"}}));
  });
  EXPECT_NE(e.find("has GPU index 6024306401, above 65535"), std::string::npos) << e;
  EXPECT_NE(e.find("ACCEL_GPU_IDS"), std::string::npos) << e;
}

TEST(TypedAccessors, GenericAccessorRejectsTheWrongType) {
  const ResolvedConfig cfg = resolve_config(ConfigInputs{});
  EXPECT_THROW(cfg.get_int("mixed_precision"), std::logic_error);
  EXPECT_THROW(cfg.get_string("no_such_key"), std::out_of_range);
  EXPECT_EQ(cfg.get_int("seed"), 42);
  EXPECT_FALSE(cfg.get_bool("cpu"));
}

}  // namespace
}  // namespace accel

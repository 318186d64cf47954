// The config file: which one is read, what it may contain, and writing it back.
#include <gtest/gtest.h>

#include "accel/config.h"
#include "config_test_support.h"
#include "files.h"

namespace accel {
namespace {

using testing::error_of;
using testing::read_file;
using testing::ScratchDir;
using testing::write_text;

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(ConfigFileLocation, DefaultPathUsesXdgConfigHomeThenHome) {
  EXPECT_EQ(default_config_path({{"XDG_CONFIG_HOME", "/x/cfg"}, {"HOME", "/home/u"}}),
            "/x/cfg/accel/default_config.yaml");
  EXPECT_EQ(default_config_path({{"HOME", "/home/u"}}),
            "/home/u/.config/accel/default_config.yaml");
  EXPECT_EQ(default_config_path({{"XDG_CONFIG_HOME", "relative"}, {"HOME", "/home/u"}}),
            "/home/u/.config/accel/default_config.yaml");
  EXPECT_EQ(default_config_path({}), "");
}

TEST(ConfigFileLocation, FileAtTheDefaultPathIsRead) {
  ScratchDir dir;
  write_text(dir.file("xdg/accel/default_config.yaml"), "seed: 7\n");
  const ResolvedConfig cfg =
      resolve_config(ConfigInputs::from_environment({{"XDG_CONFIG_HOME", dir.file("xdg")}}));
  EXPECT_EQ(cfg.seed(), 7);
  EXPECT_EQ(cfg.origin_of("seed"), "config file " + dir.file("xdg/accel/default_config.yaml"));
  EXPECT_EQ(cfg.config_file_reason, "the default path");
}

TEST(ConfigFileLocation, MissingDefaultFileIsFine) {
  ScratchDir dir;
  const ResolvedConfig cfg = resolve_config(ConfigInputs::from_environment({{"HOME", dir.path()}}));
  EXPECT_EQ(cfg.config_file, "");
  EXPECT_TRUE(contains(cfg.config_file_reason, "no file at the default path"))
      << cfg.config_file_reason;
}

TEST(ConfigFileLocation, AccelConfigFileBeatsTheDefaultPath) {
  ScratchDir dir;
  write_text(dir.file("xdg/accel/default_config.yaml"), "seed: 7\n");
  write_text(dir.file("env.yaml"), "seed: 8\n");
  const ResolvedConfig cfg = resolve_config(ConfigInputs::from_environment(
      {{"XDG_CONFIG_HOME", dir.file("xdg")}, {"ACCEL_CONFIG_FILE", dir.file("env.yaml")}}));
  EXPECT_EQ(cfg.seed(), 8);
  EXPECT_EQ(cfg.config_file, dir.file("env.yaml"));
}

TEST(ConfigFileLocation, MissingFileNamedByAccelConfigFileMeansNoFileLayer) {
  // Tests and wrappers point ACCEL_CONFIG_FILE at a missing file to keep ~/.config out.
  ScratchDir dir;
  write_text(dir.file("xdg/accel/default_config.yaml"), "seed: 7\n");
  const ResolvedConfig cfg = resolve_config(ConfigInputs::from_environment(
      {{"XDG_CONFIG_HOME", dir.file("xdg")}, {"ACCEL_CONFIG_FILE", dir.file("none.yaml")}}));
  EXPECT_EQ(cfg.seed(), 42);
  EXPECT_EQ(cfg.config_file, "");
}

TEST(ConfigFileLocation, ExplicitFileBeatsAccelConfigFile) {
  ScratchDir dir;
  write_text(dir.file("env.yaml"), "seed: 8\n");
  write_text(dir.file("explicit.yaml"), "seed: 9\n");
  auto in =
      ConfigInputs::from_environment({{"ACCEL_CONFIG_FILE", dir.file("env.yaml")},
                                      {"ACCEL_LAUNCH_CONFIG_FILE", dir.file("explicit.yaml")}});
  const ResolvedConfig cfg = resolve_config(in);
  EXPECT_EQ(cfg.seed(), 9);
  EXPECT_EQ(cfg.config_file_reason, "from launch flag --config_file");
}

TEST(ConfigFileLocation, ConfigFileSetInCodeBeatsTheLaunchFlag) {
  ScratchDir dir;
  write_text(dir.file("flag.yaml"), "seed: 8\n");
  write_text(dir.file("code.yaml"), "seed: 9\n");
  auto in = ConfigInputs::from_environment({{"ACCEL_LAUNCH_CONFIG_FILE", dir.file("flag.yaml")}},
                                           AcceleratorOptions().config_file(dir.file("code.yaml")));
  EXPECT_EQ(resolve_config(in).seed(), 9);
}

TEST(ConfigFileLocation, MissingExplicitFileIsAnError) {
  ScratchDir dir;
  ConfigInputs in;
  in.config_file = dir.file("typo.yaml");
  in.config_file_origin = "launch flag --config_file";
  const std::string msg = error_of<ConfigError>([&] { resolve_config(in); });
  EXPECT_TRUE(contains(msg, "config file '" + dir.file("typo.yaml") +
                                "' (from launch flag --config_file) does not exist"))
      << msg;
}

// --- contents ------------------------------------------------------------------------------

TEST(ConfigFileContents, UnknownKeyNamesTheFileAndTheKey) {
  ScratchDir dir;
  const std::string path = dir.file("c.yaml");
  write_text(path, "mixed_precision: bf16\ngradient_accumulation: 4\n");
  ConfigInputs in;
  in.config_file = path;
  const std::string msg = error_of<ConfigError>([&] { resolve_config(in); });
  EXPECT_TRUE(
      contains(msg, "unknown configuration key 'gradient_accumulation' in config file " + path))
      << msg;
}

TEST(ConfigFileContents, LogWithMayBeAYamlListOrACommaSeparatedString) {
  ScratchDir dir;
  write_text(dir.file("list.yaml"), "log_with:\n  - tensorboard\n  - jsonl\n");
  write_text(dir.file("string.yaml"), "log_with: tensorboard,jsonl\n");
  for (const char* name : {"list.yaml", "string.yaml"}) {
    ConfigInputs in;
    in.config_file = dir.file(name);
    EXPECT_EQ(resolve_config(in).log_with(), (std::vector<std::string>{"tensorboard", "jsonl"}))
        << name;
  }
}

TEST(ConfigFileContents, ListForAScalarKeyIsAnErrorNamingTheKey) {
  ScratchDir dir;
  write_text(dir.file("c.yaml"), "seed: [1, 2]\n");
  const std::string msg = error_of<ConfigError>([&] { read_config_file(dir.file("c.yaml")); });
  EXPECT_TRUE(contains(msg, "seed: the value in config file " + dir.file("c.yaml"))) << msg;
}

TEST(ConfigFileContents, InvalidYamlNamesTheFileAndLine) {
  ScratchDir dir;
  write_text(dir.file("c.yaml"), "seed: 1\nmixed_precision: [bf16\n");
  const std::string msg = error_of<ConfigError>([&] { read_config_file(dir.file("c.yaml")); });
  EXPECT_TRUE(contains(msg, "config file " + dir.file("c.yaml") + ":")) << msg;
  EXPECT_TRUE(contains(msg, "not valid YAML")) << msg;
}

TEST(ConfigFileContents, HostileYamlIsRefusedNamingTheFile) {
  ScratchDir dir;
  // Aliases that expand a billionfold, nesting, bytes that are not UTF-8, two documents.
  std::string laughs = "a0: &a0 x\n";
  for (int level = 1; level <= 9; ++level) {
    laughs += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [";
    for (int k = 0; k < 10; ++k) laughs += std::string(k ? ", " : "") + "*a" + std::to_string(level - 1);
    laughs += "]\n";
  }
  write_text(dir.file("laughs.yaml"), laughs);
  std::string msg = error_of<ConfigError>([&] { read_config_file(dir.file("laughs.yaml")); });
  EXPECT_TRUE(contains(msg, "config file " + dir.file("laughs.yaml"))) << msg;
  EXPECT_TRUE(contains(msg, "aliases expanded")) << msg;
  write_text(dir.file("deep.yaml"), "seed: " + std::string(80, '[') + std::string(80, ']') + "\n");
  msg = error_of<ConfigError>([&] { read_config_file(dir.file("deep.yaml")); });
  EXPECT_TRUE(contains(msg, "nested more than 64 levels deep")) << msg;
  write_text(dir.file("latin1.yaml"), "seed: 1\n# caf\xe9\n");
  msg = error_of<ConfigError>([&] { read_config_file(dir.file("latin1.yaml")); });
  EXPECT_TRUE(contains(msg, dir.file("latin1.yaml") + ":2 is not UTF-8")) << msg;
  write_text(dir.file("two.yaml"), "seed: 1\n---\nseed: 2\n");
  msg = error_of<ConfigError>([&] { read_config_file(dir.file("two.yaml")); });
  EXPECT_TRUE(contains(msg, "holds 2 YAML documents")) << msg;
}

TEST(ConfigFileContents, TopLevelMustBeAMapping) {
  ScratchDir dir;
  write_text(dir.file("c.yaml"), "- seed\n");
  EXPECT_THROW(read_config_file(dir.file("c.yaml")), ConfigError);
}

TEST(ConfigFileContents, EmptyFileAndNullValuesSetNothing) {
  ScratchDir dir;
  write_text(dir.file("empty.yaml"), "");
  write_text(dir.file("null.yaml"), "seed:\n");
  EXPECT_TRUE(read_config_file(dir.file("empty.yaml")).empty());
  EXPECT_TRUE(read_config_file(dir.file("null.yaml")).empty());
}

// --- writing ----------------------------------------------------------------------------------

TEST(ConfigFileWriting, WrittenFileResolvesBackToTheSameValues) {
  ScratchDir dir;
  const std::string path = dir.file("nested/dir/c.yaml");
  write_config_file(path, {{"mixed_precision", "BF16"},
                           {"log_with", "wandb,mlflow"},
                           {"cpu", "yes"},
                           {"run_name_prefix", ""},
                           {"project_dir", "/data/run: 1"},
                           {"gpu_ids", "0,1"},
                           {"seed", "123"}});
  ConfigInputs in;
  in.config_file = path;
  const ResolvedConfig cfg = resolve_config(in);
  EXPECT_EQ(cfg.mixed_precision(), "bf16");
  EXPECT_EQ(cfg.log_with(), (std::vector<std::string>{"wandb", "mlflow"}));
  EXPECT_TRUE(cfg.cpu());
  EXPECT_EQ(cfg.source_of("run_name_prefix"), ConfigSource::ConfigFile);
  EXPECT_EQ(cfg.project_dir(), "/data/run: 1");
  EXPECT_EQ(cfg.gpu_ids(), "0,1");
  EXPECT_EQ(cfg.seed(), 123);
  EXPECT_EQ(cfg.source_of("num_processes"), ConfigSource::Default);
}

TEST(ConfigFileWriting, EachKeyCarriesItsHelpAsAComment) {
  ScratchDir dir;
  write_config_file(dir.file("c.yaml"), {{"seed", "1"}});
  const std::string text = read_file(dir.file("c.yaml"));
  EXPECT_TRUE(contains(text, "# " + find_config_key("seed")->help)) << text;
}

TEST(ConfigFileWriting, RefusesAnInvalidValueNamingTheKey) {
  ScratchDir dir;
  const std::string msg = error_of<ConfigError>([&] {
    write_config_file(dir.file("c.yaml"), {{"num_processes", "0"}});
  });
  EXPECT_TRUE(contains(msg, "num_processes: '0'")) << msg;
  EXPECT_FALSE(std::filesystem::exists(dir.file("c.yaml")));
}

}  // namespace
}  // namespace accel

// explain_table: key | value | source for every key, columns aligned.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "accel/config.h"

namespace accel {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  return lines;
}

TEST(ExplainTable, ListsEveryKeyWithItsValueAndSourceInAlignedColumns) {
  ConfigInputs in;
  in.env["ACCEL_MIXED_PRECISION"] = "bf16";
  in.launch_flags["seed"] = "7";
  in.code["gradient_accumulation_steps"] = "4";
  const std::string table = explain_table(resolve_config(in));
  const auto lines = lines_of(table);
  ASSERT_EQ(lines.size(), config_keys().size() + 2) << table;  // header + rule + keys

  const size_t bar = lines[0].find(" | ");
  ASSERT_NE(bar, std::string::npos);
  const size_t bar2 = lines[0].find(" | ", bar + 1);
  for (size_t i = 2; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].find(" | "), bar) << lines[i];
    EXPECT_EQ(lines[i].find(" | ", bar + 1), bar2) << lines[i];
  }
  auto row = [&](const std::string& key) {
    for (const auto& l : lines)
      if (l.compare(0, key.size() + 1, key + " ") == 0) return l;
    return std::string();
  };
  EXPECT_NE(row("mixed_precision").find("bf16"), std::string::npos);
  EXPECT_NE(row("mixed_precision").find("environment variable ACCEL_MIXED_PRECISION"),
            std::string::npos);
  EXPECT_NE(row("seed").find("launch flag --seed"), std::string::npos);
  EXPECT_NE(row("gradient_accumulation_steps")
                .find("code (AcceleratorOptions::gradient_accumulation_steps)"),
            std::string::npos);
  EXPECT_NE(row("logging_dir").find("default (<project_dir>/logs)"), std::string::npos);
  EXPECT_NE(row("num_processes").find("| default"), std::string::npos);
  EXPECT_NE(row("metrics_host").find("\"\""), std::string::npos) << "empty values are visible";
}

TEST(ConfigDoc, ConfigMdListsEveryKeyWithItsDefault) {
  std::ifstream f(std::string(ACCEL_SOURCE_DIR) + "/worker/CONFIG.md");
  ASSERT_TRUE(f) << "worker/CONFIG.md is missing";
  std::stringstream text;
  text << f.rdbuf();
  for (const auto& k : config_keys()) {
    const std::string def = k.derived_default.empty()
                                ? (k.default_value.empty() ? "\"\"" : k.default_value)
                                : k.derived_default;
    const std::string row_start = "| `" + k.name + "` |";
    const auto at = text.str().find(row_start);
    ASSERT_NE(at, std::string::npos) << k.name << " has no row in CONFIG.md";
    const std::string row = text.str().substr(at, text.str().find('\n', at) - at);
    EXPECT_NE(row.find("`" + def + "`"), std::string::npos) << row;
  }
}

}  // namespace
}  // namespace accel

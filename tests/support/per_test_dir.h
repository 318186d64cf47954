// per_test_dir.h — a fresh folder for one test: <tmp>/<prefix>-<pid>-<test name>, emptied at the
// start, removed when the test passed and kept (and named on stderr) when it failed, so the
// processes' files can be read afterwards.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <string>

namespace accel::testing {

class PerTestDir {
 public:
  explicit PerTestDir(const std::string& prefix)
      : path_(std::filesystem::temp_directory_path() /
              (prefix + "-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~PerTestDir() {
    std::error_code ec;
    if (!::testing::Test::HasFailure())
      std::filesystem::remove_all(path_, ec);
    else
      std::cerr << "kept " << path_ << " for inspection\n";
  }
  PerTestDir(const PerTestDir&) = delete;
  PerTestDir& operator=(const PerTestDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace accel::testing

// files.h — reading what a test or the process it started wrote.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace accel::testing {

// The whole file at `path`; "" when it cannot be read (a log not written yet reads as empty).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The whole file at `path`; throws std::runtime_error("cannot read PATH") when it cannot be read
// (for files that must exist, such as the repository's own, so "" cannot pass for a match).
inline std::string read_file_or_throw(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace accel::testing

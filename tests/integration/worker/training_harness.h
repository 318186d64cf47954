// training_harness.h — runs real `accel launch` gangs of the example trainers for tests.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "accel/subprocess.h"

namespace accel::testing {

inline std::string fresh_dir(const std::string& name) {
  std::string d = ::testing::TempDir() + "/accel-" + name + "-" + std::to_string(::getpid());
  run_command({"rm", "-rf", d});
  run_command({"mkdir", "-p", d});
  return d;
}

// `accel launch <launch_flags> -- <trainer> <trainer_args>` with env, in project dir `dir`.
inline CommandResult launch(const std::string& dir, const std::vector<std::string>& launch_flags,
                            const std::string& trainer, const std::vector<std::string>& args,
                            std::map<std::string, std::string> env = {},
                            std::chrono::seconds timeout = std::chrono::seconds(300)) {
  std::vector<std::string> argv{ACCEL_CLI, "launch"};
  argv.insert(argv.end(), launch_flags.begin(), launch_flags.end());
  argv.push_back("--");
  argv.push_back(trainer);
  argv.insert(argv.end(), args.begin(), args.end());
  env.emplace("ACCEL_PROJECT_DIR", dir);
  env.emplace("ACCEL_CONFIG_FILE", dir + "/no-config-file.yaml");
  env.emplace("OMP_NUM_THREADS", "1");
  return run_command(argv, timeout, env);
}

inline std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<float> v;
  float f;
  while (in.read(reinterpret_cast<char*>(&f), sizeof f)) v.push_back(f);
  return v;
}

// Largest |a-b| / (1 + |b|) over all parameters.
inline double max_rel_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::fabs(double(a[i]) - double(b[i])) / (1.0 + std::fabs(double(b[i]))));
  return m;
}

// "step N loss L" lines printed by the example trainers.
inline std::map<int, double> losses(const std::string& output) {
  std::map<int, double> out;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    int step;
    double loss;
    if (std::sscanf(line.c_str(), "step %d loss %lf", &step, &loss) == 2) out[step] = loss;
  }
  return out;
}

}  // namespace accel::testing

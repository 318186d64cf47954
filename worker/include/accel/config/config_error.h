// accel/config/config_error.h — the one error type of configuration resolution.
#pragma once

#include <stdexcept>
#include <string>

namespace accel {

// A configuration value (or file, or combination of values) that cannot be used. The message
// is meant for the user and always names the key, the offending value and where it came from,
// e.g. "mixed_precision: 'bf17' from environment variable ACCEL_MIXED_PRECISION is not one of:
// no, fp16, bf16". Programs exit with api ExitCode::ConfigError (78) on it: never retried.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace accel

// accelerator_options.cpp — the code layer (layer 5).
#include "accel/config.h"

namespace accel {

namespace {
std::string as_value(bool v) { return v ? "true" : "false"; }
std::string as_value(int v) { return std::to_string(v); }
std::string as_value(const std::string& v) { return v; }
std::string as_value(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + items[i];
  return out;
}
}  // namespace

// Every setter marks its key as set: its value then beats every other layer.
#define ACCEL_KEY(key, kind, ...)                                         \
  AcceleratorOptions& AcceleratorOptions::key(ACCEL_CONFIG_ARG_##kind v) { \
    return set(#key, as_value(v));                                         \
  }
#include "accel/config/keys.def"
#undef ACCEL_KEY

AcceleratorOptions& AcceleratorOptions::set(const std::string& key, const std::string& value) {
  require_config_key(key, "code (AcceleratorOptions::set)");
  values_[key] = value;  // recorded even when equal to the default: setting is what counts
  return *this;
}

AcceleratorOptions& AcceleratorOptions::config_file(const std::string& path) {
  config_file_ = path;
  return *this;
}

}  // namespace accel

#include "checkpoint_manifest.h"

#include <climits>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace accel {

nlohmann::json parse_checkpoint_manifest(const std::string& text) {
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("meta.json is not the manifest: ") + e.what());
  }
  if (!meta.is_object() || !meta.value("step", nlohmann::json()).is_number_integer())
    throw std::runtime_error("meta.json has no step");
  return meta;
}

void check_manifest_files(const nlohmann::json& meta, const std::string& dir) {
  namespace fs = std::filesystem;
  if (auto files = meta.find("files"); files != meta.end() && files->is_object())
    for (const auto& [name, size] : files->items()) {
      std::error_code ec;
      const auto actual = fs::file_size(dir + "/" + name, ec);
      if (ec) throw std::runtime_error(name + " is missing");
      if (!size.is_number_unsigned() || actual != size.get<std::uint64_t>())
        throw std::runtime_error(name + " is " + std::to_string(actual) + " bytes, the manifest says " +
                                 size.dump() + " (truncated?)");
    }
}

namespace {

// An integer field, 0 when absent. Anything else throws: nlohmann's value() would throw its own
// type_error for a string, and convert a double past int64 with undefined behaviour.
int64_t integer_field(const nlohmann::json& meta, const char* key) {
  const auto it = meta.find(key);
  if (it == meta.end()) return 0;
  if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    throw std::runtime_error(std::string("meta.json: '") + key + "' is too large");
  if (!it->is_number_integer())
    throw std::runtime_error(std::string("meta.json: '") + key + "' is not an integer: " +
                             it->dump().substr(0, 100));
  return it->get<int64_t>();
}

}  // namespace

CheckpointPosition manifest_position(const nlohmann::json& meta) {
  CheckpointPosition p;
  p.step = integer_field(meta, "step");
  p.scheduler_steps = integer_field(meta, "scheduler_steps");
  p.save_index = integer_field(meta, "save_index");
  p.epoch = integer_field(meta, "epoch");
  p.batch_in_epoch = integer_field(meta, "batch_in_epoch");
  return p;
}

}  // namespace accel

#include "checkpoint_manifest.h"

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

CheckpointPosition manifest_position(const nlohmann::json& meta) {
  CheckpointPosition p;
  p.step = meta.value("step", int64_t{0});
  p.scheduler_steps = meta.value("scheduler_steps", int64_t{0});
  p.save_index = meta.value("save_index", int64_t{0});
  p.epoch = meta.value("epoch", int64_t{0});
  p.batch_in_epoch = meta.value("batch_in_epoch", int64_t{0});
  return p;
}

}  // namespace accel

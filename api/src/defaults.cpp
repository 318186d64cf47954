// defaults.cpp — apply_defaults(): the field table's defaults, applied the way kube-apiserver
// applies a structural schema's defaults (objects with default {} are created, then their
// fields defaulted; list items are defaulted one by one), plus the one derived default the
// schema cannot state (procsPerNode follows gpusPerNode).
#include "accel/api/acceljob.h"
#include "accel/api/field_table.h"
#include "schema_walk.h"

#include <stdexcept>

namespace accel::api {
namespace {

using json = nlohmann::json;

void default_object(json& obj, const std::string& schema) {
  for (const FieldSpec* f : child_fields(schema)) {
    const std::string key = last_segment(f->path);
    if ((!obj.contains(key) || obj[key].is_null()) && !f->default_value.is_null())
      obj[key] = f->default_value;
    if (!obj.contains(key)) continue;
    json& v = obj[key];
    if (f->type == FieldType::Object && v.is_object()) {
      default_object(v, f->path);
    } else if (f->type == FieldType::ObjectList && v.is_array()) {
      for (auto& item : v)
        if (item.is_object()) default_object(item, f->path + "[]");
    }
  }
}

std::string strip_trailing_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

bool mount_covers(const std::string& mount, const std::string& dir) {
  if (mount.empty() || dir.empty()) return false;
  const std::string m = strip_trailing_slash(mount), d = strip_trailing_slash(dir);
  return d == m || m == "/" ||
         (d.size() > m.size() && d.compare(0, m.size(), m) == 0 && d[m.size()] == '/');
}

bool worker_dirs_on_volumes(const AccelJobSpec& s) {
  const std::string project = s.logging.projectDir.value_or("/workspace");
  auto absolute = [&](const std::string& p) {
    return !p.empty() && p.front() == '/' ? p : project + "/" + p;
  };
  std::vector<std::string> mounts = {kScratchDir};
  if (s.template_.volumeMounts.is_array())
    for (const auto& m : s.template_.volumeMounts)
      if (m.is_object() && m.value("mountPath", json()).is_string())
        mounts.push_back(m["mountPath"].get<std::string>());
  const std::string ckpt = absolute(s.checkpoint.dir.value_or("/workspace/checkpoints"));
  if (s.checkpoint.volume && !s.checkpoint.volume->empty()) mounts.push_back(ckpt);
  auto on_volume = [&](const std::string& dir) {
    for (const auto& m : mounts)
      if (mount_covers(m, dir)) return true;
    return false;
  };
  std::vector<std::string> dirs = {absolute(project), ckpt};
  if (s.logging.loggingDir && !s.logging.loggingDir->empty())
    dirs.push_back(absolute(*s.logging.loggingDir));
  for (const auto& d : dirs)
    if (!on_volume(d)) return false;
  return true;
}

void apply_defaults(AccelJob& job) {
  if (job.defaulted) return;
  json spec = job.spec;
  default_object(spec, "spec");
  job.spec = spec.get<AccelJobSpec>();
  if (!job.spec.procsPerNode) {
    std::int64_t gpus = job.spec.gpusPerNode.value_or(0);
    job.spec.procsPerNode = gpus > 0 ? gpus : 1;
  }
  auto& sc = job.spec.template_.securityContext;
  if (!sc.readOnlyRootFilesystem) sc.readOnlyRootFilesystem = worker_dirs_on_volumes(job.spec);
  job.defaulted = true;
}

void require_defaulted(const AccelJob& job, const char* who) {
  if (!job.defaulted)
    throw std::logic_error(std::string(who) + ": the AccelJob '" + job.metadata.name +
                           "' was not defaulted (api::apply_defaults where it was read)");
}

}  // namespace accel::api

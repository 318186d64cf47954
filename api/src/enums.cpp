// enums.cpp — spellings of the AccelJob enums (the same as the field table's enum lists).
#include "accel/api/acceljob.h"

namespace accel::api {
namespace {
template <typename E, std::size_t N>
std::optional<E> lookup(const std::string& s, const std::pair<E, const char*> (&table)[N]) {
  for (const auto& [e, name] : table)
    if (s == name) return e;
  return std::nullopt;
}
template <typename E, std::size_t N>
std::string name_of(E e, const std::pair<E, const char*> (&table)[N]) {
  for (const auto& [v, name] : table)
    if (v == e) return name;
  return "?";
}

const std::pair<Precision, const char*> kPrecision[] = {
    {Precision::No, "no"}, {Precision::Fp16, "fp16"}, {Precision::Bf16, "bf16"}};
const std::pair<Backend, const char*> kBackend[] = {
    {Backend::Auto, "auto"}, {Backend::Nccl, "nccl"}, {Backend::Gloo, "gloo"}};
const std::pair<RestartPolicy, const char*> kRestart[] = {{RestartPolicy::OnFailure, "OnFailure"},
                                                          {RestartPolicy::ExitCode, "ExitCode"},
                                                          {RestartPolicy::Never, "Never"}};
const std::pair<CleanPodPolicy, const char*> kClean[] = {{CleanPodPolicy::All, "All"},
                                                         {CleanPodPolicy::Running, "Running"},
                                                         {CleanPodPolicy::None, "None"}};
const std::pair<TrackerType, const char*> kTracker[] = {{TrackerType::TensorBoard, "tensorboard"},
                                                        {TrackerType::WandB, "wandb"},
                                                        {TrackerType::MLflow, "mlflow"},
                                                        {TrackerType::Jsonl, "jsonl"}};
const std::pair<JobPhase, const char*> kPhase[] = {
    {JobPhase::Pending, "Pending"},       {JobPhase::Queued, "Queued"},
    {JobPhase::Starting, "Starting"},
    {JobPhase::Running, "Running"},       {JobPhase::Restarting, "Restarting"},
    {JobPhase::Succeeded, "Succeeded"},   {JobPhase::Failed, "Failed"},
    {JobPhase::Suspended, "Suspended"}};
}  // namespace

std::string to_string(Precision v) { return name_of(v, kPrecision); }
std::string to_string(Backend v) { return name_of(v, kBackend); }
std::string to_string(RestartPolicy v) { return name_of(v, kRestart); }
std::string to_string(CleanPodPolicy v) { return name_of(v, kClean); }
std::string to_string(TrackerType v) { return name_of(v, kTracker); }
std::string to_string(JobPhase v) { return name_of(v, kPhase); }
std::optional<Precision> parse_precision(const std::string& s) { return lookup(s, kPrecision); }
std::optional<Backend> parse_backend(const std::string& s) { return lookup(s, kBackend); }
std::optional<RestartPolicy> parse_restart_policy(const std::string& s) { return lookup(s, kRestart); }
std::optional<CleanPodPolicy> parse_clean_pod_policy(const std::string& s) { return lookup(s, kClean); }
std::optional<TrackerType> parse_tracker_type(const std::string& s) { return lookup(s, kTracker); }
const std::vector<TrackerType>& all_tracker_types() {
  static const std::vector<TrackerType> all = [] {
    std::vector<TrackerType> v;
    for (const auto& [type, name] : kTracker) v.push_back(type);
    return v;
  }();
  return all;
}
std::optional<JobPhase> parse_job_phase(const std::string& s) { return lookup(s, kPhase); }

SpecError::SpecError(std::string path, const std::string& message)
    : std::runtime_error(message), path_(std::move(path)) {}

ValidationError::ValidationError(const std::string& what, std::vector<FieldError> errors)
    : std::runtime_error(what), errors_(std::move(errors)) {}

}  // namespace accel::api

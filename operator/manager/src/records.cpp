// records.cpp — the informer records (records.h) and the informers that cache them.
#include "accel/manager/records.h"

#include <algorithm>
#include <iterator>

#include "accel/controller/naming.h"
#include "accel/kube/informer_impl.h"

namespace accel::kube {

namespace {

using nlohmann::json;

const json& child(const json& obj, const char* key) {
  static const json null;
  if (!obj.is_object()) return null;
  auto it = obj.find(key);
  return it != obj.end() ? *it : null;
}

std::string str(const json& obj, const char* key) {
  const json& v = child(obj, key);
  return v.is_string() ? v.get<std::string>() : "";
}

bool reconciled_condition(const std::string& type) {
  return std::any_of(std::begin(op::kReconciledPodConditions), std::end(op::kReconciledPodConditions),
                     [&](const char* t) { return type == t; });
}

}  // namespace

std::shared_ptr<const op::PodRecord> RecordTraits<op::PodRecord>::decode(json&& object) {
  auto r = std::make_shared<op::PodRecord>();
  const json& meta = child(object, "metadata");
  const json& labels = child(meta, "labels");
  r->ns = str(meta, "namespace");
  r->resource_version = str(meta, "resourceVersion");
  r->job_name = str(labels, op::kLabelJobName);
  r->job_uid = str(labels, op::kLabelJobUid);
  r->pod_ip = str(child(object, "status"), "podIP");
  r->observed = op::observed_pod_from_json(object);
  auto& conditions = r->observed.conditions;
  conditions.erase(std::remove_if(conditions.begin(), conditions.end(),
                                  [](const op::PodCondition& c) { return !reconciled_condition(c.type); }),
                   conditions.end());
  conditions.shrink_to_fit();
  return r;
}

std::string RecordTraits<op::PodRecord>::label(const op::PodRecord& r, const std::string& key) {
  if (key == op::kLabelJobName) return r.job_name;
  if (key == op::kLabelJobUid) return r.job_uid;
  return "";
}

std::shared_ptr<const op::ServiceRecord> RecordTraits<op::ServiceRecord>::decode(json&& object) {
  auto r = std::make_shared<op::ServiceRecord>();
  const json& meta = child(object, "metadata");
  const json& labels = child(meta, "labels");
  r->ns = str(meta, "namespace");
  r->name = str(meta, "name");
  r->resource_version = str(meta, "resourceVersion");
  r->job_name = str(labels, op::kLabelJobName);
  r->job_uid = str(labels, op::kLabelJobUid);
  return r;
}

std::string RecordTraits<op::ServiceRecord>::label(const op::ServiceRecord& r,
                                                   const std::string& key) {
  if (key == op::kLabelJobName) return r.job_name;
  if (key == op::kLabelJobUid) return r.job_uid;
  return "";
}

std::shared_ptr<const op::JobRecord> RecordTraits<op::JobRecord>::decode(json&& object) {
  auto r = std::make_shared<op::JobRecord>();
  r->ref = ObjectReference::from_object(object);
  // Items of a list need not carry apiVersion and kind; the Events about the job do.
  if (r->ref.api_version.empty()) r->ref.api_version = "accel.dev/v1alpha1";
  if (r->ref.kind.empty()) r->ref.kind = "AccelJob";
  r->has_status = child(object, "status").is_object();
  try {
    r->job = object.get<api::AccelJob>();
    r->job->metadata.annotations.erase("kubectl.kubernetes.io/last-applied-configuration");
  } catch (const std::exception& e) {
    r->error = e.what();
  }
  return r;
}

std::string RecordTraits<op::JobRecord>::label(const op::JobRecord& r, const std::string& key) {
  if (!r.job) return "";
  auto it = r.job->metadata.labels.find(key);
  return it != r.job->metadata.labels.end() ? it->second : "";
}

template class BasicInformer<op::PodRecord>;
template class BasicInformer<op::ServiceRecord>;
template class BasicInformer<op::JobRecord>;

}  // namespace accel::kube

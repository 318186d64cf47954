// records.h — what the operator's informer caches keep of each object: compact typed records of
// exactly what the reconciler (observed.h, reconcile.h) and the controller loop read, made once
// when an object arrives (RecordTraits<T>::decode, object_cache.h), instead of whole JSON
// documents. A pod costs a few hundred bytes instead of ~5 KiB, and a job is parsed once per
// change instead of once per reconcile.
//
// Adding a field the reconciler reads means adding it here too: a record keeps nothing else.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "accel/api/acceljob.h"
#include "accel/controller/observed.h"
#include "accel/kube/event_recorder.h"
#include "accel/kube/informer.h"
#include "accel/kube/object_cache.h"

namespace accel::op {

// A Pod the operator created (label accel.dev/job-name).
struct PodRecord {
  std::string ns, resource_version;
  std::string job_name, job_uid;  // labels accel.dev/job-name, accel.dev/job-uid
  std::string pod_ip;             // status.podIP (rank 0's /progress)
  // What reconcile() reads. Its conditions are only the types it reads
  // (kReconciledPodConditions); the name is the pod's.
  ObservedPod observed;
};

// A Service the operator created.
struct ServiceRecord {
  std::string ns, name, resource_version;
  std::string job_name, job_uid;
};

// An AccelJob, parsed.
struct JobRecord {
  kube::ObjectReference ref;  // apiVersion, kind, namespace, name, uid, resourceVersion
  // The job as the api/ types read it; nullopt when it cannot be read (then `error` says why:
  // the reconcile reports it as an InvalidObject Event and waits for the next change).
  // Its metadata.annotations lack kubectl's last-applied-configuration (a copy of the whole
  // spec that nothing here reads).
  std::optional<api::AccelJob> job;
  std::string error;
  // Whether the server's document has a .status at all. The operator is the status's only
  // writer and writes all of it, so a status that exists is the typed one's JSON; one that does
  // not exist lacks even the fields the typed status always writes (restarts, attempt, ...).
  bool has_status = false;
};

// The pod condition types reconcile() reads; a PodRecord keeps no others.
inline constexpr const char* kReconciledPodConditions[] = {"PodScheduled", "DisruptionTarget",
                                                           "TerminationTarget"};

}  // namespace accel::op

namespace accel::kube {

template <>
struct RecordTraits<op::PodRecord> {
  static std::shared_ptr<const op::PodRecord> decode(nlohmann::json&& object);
  static std::string key(const op::PodRecord& r) { return object_key(r.ns, r.observed.name); }
  static std::string resource_version(const op::PodRecord& r) { return r.resource_version; }
  static std::string label(const op::PodRecord& r, const std::string& key);
};

template <>
struct RecordTraits<op::ServiceRecord> {
  static std::shared_ptr<const op::ServiceRecord> decode(nlohmann::json&& object);
  static std::string key(const op::ServiceRecord& r) { return object_key(r.ns, r.name); }
  static std::string resource_version(const op::ServiceRecord& r) { return r.resource_version; }
  static std::string label(const op::ServiceRecord& r, const std::string& key);
};

template <>
struct RecordTraits<op::JobRecord> {
  static std::shared_ptr<const op::JobRecord> decode(nlohmann::json&& object);
  static std::string key(const op::JobRecord& r) { return object_key(r.ref.ns, r.ref.name); }
  static std::string resource_version(const op::JobRecord& r) { return r.ref.resource_version; }
  static std::string label(const op::JobRecord& r, const std::string& key);
};

// Instantiated in records.cpp.
extern template class BasicInformer<op::PodRecord>;
extern template class BasicInformer<op::ServiceRecord>;
extern template class BasicInformer<op::JobRecord>;

}  // namespace accel::kube

// acceljob.h — the AccelJob custom resource (accel.dev/v1alpha1) as plain C++ structs.
//
// One type is shared by the operator (reads it from kube-apiserver as JSON), the worker CLI
// (`accel run job.yaml` reads it as YAML) and the tests. The rules that decide what a valid
// spec is live in one table (field_table.h) that also generates crds/acceljob.yaml, so a spec
// that `accel run` accepts is one `kubectl apply` accepts, with errors worded alike.
//
// Life of a spec:  parse (strict: unknown fields and wrong types throw SpecError naming the
// field path) -> apply_defaults (fills every defaulted field) -> validate (all rule failures
// at once, kube-apiserver wording).
//
// Optional fields: a std::optional that is empty means "not written by the user". After
// apply_defaults() every field that has a default is set, so code that runs after defaulting
// may use `*spec.nodes` etc. Fields without a default (e.g. runPolicy.activeDeadlineSeconds)
// stay empty when unset, which means "off".
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace YAML {
class Node;
}

namespace accel::api {

inline constexpr const char* kGroup = "accel.dev";
inline constexpr const char* kVersion = "v1alpha1";
inline constexpr const char* kApiVersion = "accel.dev/v1alpha1";
inline constexpr const char* kKind = "AccelJob";
inline constexpr const char* kPlural = "acceljobs";
inline constexpr const char* kSingular = "acceljob";
inline constexpr const char* kShortName = "aj";
// Job names are DNS-1035 labels of at most this many characters, so that the names the
// operator derives from them ("<job>-node-<i>", "<job>-headless") stay within 63.
inline constexpr std::size_t kMaxJobNameLength = 50;

// ---- enums (their spellings are the ones in YAML/JSON, see to_string/parse below) ----
enum class Precision { No, Fp16, Bf16 };                       // "no", "fp16", "bf16"
enum class Backend { Auto, Nccl, Gloo };                       // "auto", "nccl", "gloo"
enum class RestartPolicy { OnFailure, ExitCode, Never };       // "OnFailure", "ExitCode", "Never"
enum class CleanPodPolicy { All, Running, None };              // "All", "Running", "None"
enum class TrackerType { TensorBoard, WandB, MLflow, Jsonl };  // "tensorboard", "wandb", "mlflow", "jsonl"
enum class JobPhase { Pending, Queued, Starting, Running, Restarting, Succeeded, Failed, Suspended };

std::string to_string(Precision);
std::string to_string(Backend);
std::string to_string(RestartPolicy);
std::string to_string(CleanPodPolicy);
std::string to_string(TrackerType);
std::string to_string(JobPhase);
// Parse the exact spelling; std::nullopt for anything else (callers build the error).
std::optional<Precision> parse_precision(const std::string&);
std::optional<Backend> parse_backend(const std::string&);
std::optional<RestartPolicy> parse_restart_policy(const std::string&);
std::optional<CleanPodPolicy> parse_clean_pod_policy(const std::string&);
std::optional<TrackerType> parse_tracker_type(const std::string&);
// Every tracker type, in declaration order (the one list of tracker names).
const std::vector<TrackerType>& all_tracker_types();
std::optional<JobPhase> parse_job_phase(const std::string&);

// ---- metadata (the subset of ObjectMeta Accel reads; unknown metadata is ignored) ----
struct ObjectMeta {
  std::string name;
  std::string namespace_;  // "namespace" in YAML/JSON
  std::string uid;
  std::int64_t generation = 0;
  std::string resourceVersion;
  std::string creationTimestamp;  // RFC 3339, empty when unknown
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::optional<std::string> deletionTimestamp;
};

// ---- spec ----
struct SecretKeySelector {
  std::string name;
  std::string key;
};
struct EnvVarSource {
  std::optional<SecretKeySelector> secretKeyRef;
};
// Exactly one of value / valueFrom. Names reserved by the env contract are rejected.
struct EnvVar {
  std::string name;
  std::optional<std::string> value;
  std::optional<EnvVarSource> valueFrom;
};
struct ResourceRequirements {
  std::map<std::string, std::string> requests;  // quantities as written ("4", "16Gi")
  std::map<std::string, std::string> limits;
};
struct Tracker {
  TrackerType type = TrackerType::TensorBoard;
  std::map<std::string, std::string> settings;   // tracker-specific, never secrets
  std::optional<SecretKeySelector> secretRef;    // e.g. the W&B API key, mounted as env by the operator
};
struct LoggingSpec {
  std::optional<std::string> projectDir;  // default /workspace
  std::optional<std::string> loggingDir;  // default: the worker's choice under projectDir
  std::optional<std::string> runNamePrefix;
};
struct ProcessGroupSpec {
  std::optional<Backend> backend;                        // default auto
  std::optional<std::int64_t> timeoutSeconds;            // default 1800
  std::optional<std::int64_t> rendezvousTimeoutSeconds;  // default 300
};
struct DdpSpec {
  std::optional<std::int64_t> bucketCapMB;  // default 25
  std::optional<bool> gradientAsBucketView;
  std::optional<bool> staticGraph;
  std::optional<bool> findUnusedParameters;
};
struct CheckpointSpec {
  std::optional<std::string> dir;           // default /workspace/checkpoints
  std::optional<std::int64_t> everySteps;   // default 0 = off
  std::optional<std::int64_t> keep;         // default 3
  std::optional<std::string> volume;        // a volume of spec.template.volumes, optional
};
struct MetricsSpec {
  std::optional<std::int64_t> port;  // default 9400; 0 = no /metrics
};
struct BackoffSpec {
  std::optional<std::int64_t> initialSeconds;  // default 10
  std::optional<std::int64_t> maxSeconds;      // default 300
  std::optional<double> factor;                // default 2.0
};
struct RunPolicy {
  std::optional<RestartPolicy> restartPolicy;  // default OnFailure
  std::optional<std::int64_t> maxRestarts;     // default 3
  BackoffSpec backoff;
  std::optional<std::int64_t> activeDeadlineSeconds;    // unset = no deadline
  std::optional<std::int64_t> startupTimeoutSeconds;    // default 600
  std::optional<std::int64_t> stallTimeoutSeconds;      // unset = no stall watchdog
  std::optional<std::int64_t> ttlSecondsAfterFinished;  // unset = keep forever
  std::optional<CleanPodPolicy> cleanPodPolicy;         // default Running
  std::optional<bool> suspend;                          // default false
};
// The worker's Linux security settings. Defaults meet the "restricted" Pod Security Standard;
// each field is an opt-out of its own (see operator/OPERATOR.md, "Pod security").
struct CapabilitiesSpec {
  std::vector<std::string> add;   // e.g. IPC_LOCK for RDMA; default none
  std::optional<std::vector<std::string>> drop;  // default ["ALL"]; [] keeps the runtime's set
};
struct SecurityContextSpec {
  std::optional<bool> runAsNonRoot;              // default true
  std::optional<std::int64_t> runAsUser;         // unset: the image's USER
  std::optional<std::int64_t> runAsGroup;        // unset: the image's group
  std::optional<std::int64_t> fsGroup;           // unset: volumes keep their owner
  std::optional<bool> allowPrivilegeEscalation;  // default false
  std::optional<bool> readOnlyRootFilesystem;    // default: true when every directory the
                                                 // worker writes is on a volume (see defaults.cpp)
  std::optional<std::string> seccompProfile;     // RuntimeDefault (default) or Unconfined
  CapabilitiesSpec capabilities;
};

// Pieces copied verbatim into each worker pod. tolerations/volumes/volumeMounts are kept as
// raw JSON (lists of core/v1 objects); the API server validates them when the pod is created.
struct PodTemplateSpec {
  std::map<std::string, std::string> nodeSelector;
  nlohmann::json tolerations = nlohmann::json::array();
  nlohmann::json volumes = nlohmann::json::array();
  nlohmann::json volumeMounts = nlohmann::json::array();
  std::string serviceAccountName;
  std::string priorityClassName;
  std::optional<std::int64_t> terminationGracePeriodSeconds;  // default 120
  SecurityContextSpec securityContext;
};

struct AccelJobSpec {
  std::string image;  // required
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<EnvVar> env;
  std::string workingDir;
  std::optional<std::int64_t> nodes;         // default 1
  std::optional<std::int64_t> gpusPerNode;   // default 0 (CPU)
  std::optional<std::int64_t> procsPerNode;  // default gpusPerNode, or 1 on CPU
  ResourceRequirements resources;
  std::optional<Precision> precision;                    // default bf16
  std::optional<std::int64_t> gradientAccumulationSteps; // default 1
  std::vector<Tracker> trackers;
  LoggingSpec logging;
  ProcessGroupSpec processGroup;
  DdpSpec ddp;
  CheckpointSpec checkpoint;
  MetricsSpec metrics;
  RunPolicy runPolicy;
  PodTemplateSpec template_;  // "template" in YAML/JSON
};

// ---- status (written by the operator through the status subresource) ----
struct Condition {
  std::string type;
  std::string status;  // "True", "False", "Unknown"
  std::string reason;
  std::string message;
  std::string lastTransitionTime;  // RFC 3339
};
struct FailureInfo {
  std::string pod;
  std::int64_t rank = -1;  // global rank, -1 when unknown
  std::int64_t exitCode = 0;
  std::string reason;
  bool disruption = false;  // preemption, eviction, deletion, node loss: no backoff, no restart spent
};
struct Progress {
  std::int64_t step = 0;
  std::int64_t totalSteps = 0;  // 0 = unknown
  double samplesPerSecond = 0;
  double etaSeconds = 0;
  std::string lastStepTime;   // RFC 3339
  std::optional<double> loss;  // the last loss the program logged, if it logs one
  std::string activity;        // training, checkpointing, evaluating ("" = not reported)
};
struct AccelJobStatus {
  std::optional<JobPhase> phase;
  std::vector<Condition> conditions;
  std::int64_t restarts = 0;     // after failures (count against maxRestarts)
  std::int64_t disruptions = 0;  // after disruptions (do not)
  std::int64_t attempt = 0;
  std::optional<FailureInfo> lastFailure;
  std::string startTime;
  std::string completionTime;
  std::int64_t observedGeneration = 0;
  std::optional<Progress> progress;
};

struct AccelJob {
  std::string apiVersion = kApiVersion;
  std::string kind = kKind;
  ObjectMeta metadata;
  AccelJobSpec spec;
  AccelJobStatus status;
  // Set by apply_defaults (not part of the object's JSON). A job is defaulted once, where it
  // enters (the operator's cache read, `accel run`'s file); what runs after that (desired,
  // reconcile, node_env) requires it and never defaults a copy of its own.
  bool defaulted = false;
};

// ---- errors ----

// A spec that cannot be read: bad YAML/JSON, wrong type, unknown field. path() is the field
// path ("spec.runPolicy.maxRestarts"), empty when the document itself is unreadable.
class SpecError : public std::runtime_error {
 public:
  SpecError(std::string path, const std::string& message);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// One failed rule; message() is kube-apiserver's wording ("Required value",
// "Unsupported value: \"bf17\": supported values: ...", "Invalid value: 0: ...").
struct FieldError {
  std::string path;
  std::string message;
  std::string to_string() const { return path + ": " + message; }  // as kubectl prints it
  bool operator==(const FieldError& o) const { return path == o.path && message == o.message; }
};

// Thrown by validate_or_throw; what() lists every error, one per line, like kubectl.
class ValidationError : public std::runtime_error {
 public:
  ValidationError(const std::string& what, std::vector<FieldError> errors);
  const std::vector<FieldError>& errors() const { return errors_; }

 private:
  std::vector<FieldError> errors_;
};

// ---- parse / serialize ----

// Reads one AccelJob from YAML text. Strict like kubectl: unknown fields (outside metadata
// and status), duplicate keys and wrong types throw SpecError naming the path and the line.
// YAML 1.1 scalars as kubectl reads them: unquoted yes/no/on/off are booleans.
AccelJob parse_acceljob_yaml(const std::string& text);
AccelJob parse_acceljob_yaml(const YAML::Node& node);
// Same, from a file; errors start with the file name.
AccelJob load_acceljob_file(const std::string& path);

// nlohmann ADL hooks: `j.get<AccelJob>()` and `nlohmann::json j = job;`.
// from_json is strict in the same way as the YAML parser; to_json leaves out unset optionals.
void to_json(nlohmann::json& j, const AccelJob& job);
void from_json(const nlohmann::json& j, AccelJob& job);
void to_json(nlohmann::json& j, const AccelJobSpec& spec);
void from_json(const nlohmann::json& j, AccelJobSpec& spec);
void to_json(nlohmann::json& j, const AccelJobStatus& status);
void from_json(const nlohmann::json& j, AccelJobStatus& status);
void to_json(nlohmann::json& j, const ObjectMeta& meta);
void from_json(const nlohmann::json& j, ObjectMeta& meta);

// YAML -> JSON with kubectl's scalar typing; marks (optional) receive "path -> line:column".
nlohmann::json yaml_to_json(const YAML::Node& node,
                            std::map<std::string, std::string>* marks = nullptr);

// ---- defaults and validation ----

// Fills every unset field that has a default (the same defaults the CRD declares), then the
// derived ones: procsPerNode = gpusPerNode when > 0, else 1; template.securityContext.
// readOnlyRootFilesystem = whether every directory the worker writes is on a volume
// (worker_dirs_on_volumes), and marks the job defaulted.
// Idempotent (a defaulted job is left as it is).
void apply_defaults(AccelJob& job);
// True when `mount` is `dir` or one of its parent directories ("/a" covers "/a/b", not "/ab").
bool mount_covers(const std::string& mount, const std::string& dir);
// True when logging.projectDir, logging.loggingDir and checkpoint.dir (relative ones resolve
// under projectDir; unset ones take their defaults) each lie on template.volumeMounts, the
// checkpoint volume or the worker's /tmp scratch volume: the worker then needs no writable
// image filesystem.
bool worker_dirs_on_volumes(const AccelJobSpec& spec);
// Where the operator mounts the worker's scratch emptyDir (unless a volumeMount covers it).
inline constexpr const char* kScratchDir = "/tmp";
// Throws std::logic_error naming `who` when `job` has not been through apply_defaults: a
// programming error (the boundary that reads jobs defaults them).
void require_defaulted(const AccelJob& job, const char* who);

// Every rule failure of a job, judged on its defaulted values (a job not yet defaulted is
// defaulted on a copy): metadata.name, bounds, enums, required fields and the cross-field rules
// the CRD states as CEL. Empty when valid.
std::vector<FieldError> validate(const AccelJob& job);
// Immutability for an update of a running job (the CRD's `self == oldSelf` rules).
std::vector<FieldError> validate_update(const AccelJob& old_job, const AccelJob& new_job);
// Throws ValidationError listing all errors of validate(job); returns when there are none.
void validate_or_throw(const AccelJob& job);

}  // namespace accel::api

// field_table.cpp — the AccelJob schema, once. See field_table.h.
#include "accel/api/field_table.h"

#include "accel/api/acceljob.h"

#include <stdexcept>
#include <unordered_map>

namespace accel::api {
namespace {

using T = FieldType;
using json = nlohmann::json;

// Chained setters so each row reads as one line of the schema.
struct F {
  FieldSpec s;
  F(std::string path, FieldType type, std::string description) {
    s.path = std::move(path);
    s.type = type;
    s.description = std::move(description);
  }
  F& def(json v) { s.default_value = std::move(v); return *this; }
  F& oneof(std::vector<std::string> v) { s.enum_values = std::move(v); return *this; }
  F& min(double v) { s.minimum = v; return *this; }
  F& max(double v) { s.maximum = v; return *this; }
  F& maxlen(long v) { s.max_length = v; return *this; }
  F& maxitems(long v) { s.max_items = v; return *this; }
  F& required() { s.required = true; return *this; }
  F& immutable() { s.immutable = true; return *this; }
  F& map_keys(std::vector<std::string> k) { s.list_map_keys = std::move(k); return *this; }
  operator FieldSpec() const { return s; }  // NOLINT: rows convert implicitly
};

std::vector<FieldSpec> build_fields() {
  return {
      F("spec", T::Object, "What to run: the container, how many nodes and processes, and the "
                           "training settings handed to every rank.").required(),
      F("spec.image", T::String, "Container image of the worker (runs `accel launch`). Cannot "
                                 "change while the job exists.").required().maxlen(1024).immutable(),
      F("spec.command", T::StringList, "The training program, run once per process by `accel "
                                       "launch` (the image's entrypoint is not used): command "
                                       "or args is required."),
      F("spec.args", T::StringList, "Arguments appended to command (alone, args[0] is the "
                                    "program)."),
      F("spec.env", T::ObjectList, "Extra environment variables for every process. Names reserved "
                                   "by the Accel env contract (MASTER_ADDR, RANK, ACCEL_*, ...) "
                                   "are rejected.").maxitems(256),
      F("spec.env[].name", T::String, "Variable name.").required().maxlen(256),
      F("spec.env[].value", T::String, "Literal value. At most one of value and valueFrom."),
      F("spec.env[].valueFrom", T::Object, "Value taken from a Secret, for credentials such as "
                                           "a W&B API key."),
      F("spec.env[].valueFrom.secretKeyRef", T::Object, "A key of a Secret in the job's "
                                                        "namespace.").required(),
      F("spec.env[].valueFrom.secretKeyRef.name", T::String, "Secret name.").required(),
      F("spec.env[].valueFrom.secretKeyRef.key", T::String, "Key within the Secret.").required(),
      F("spec.workingDir", T::String, "Working directory of the training processes (the "
                                      "image's when empty)."),
      F("spec.nodes", T::Integer, "Number of nodes (one pod each). Cannot change while the job "
                                  "exists.").def(1).min(1).max(4096).immutable(),
      F("spec.gpusPerNode", T::Integer, "GPUs per node (nvidia.com/gpu); 0 runs on CPU with the "
                                        "gloo backend. Cannot change while the job exists.")
          .def(0).min(0).max(64).immutable(),
      F("spec.procsPerNode", T::Integer, "Training processes per node. Defaults to gpusPerNode, or "
                                         "1 on CPU; must equal gpusPerNode when gpusPerNode > 0. "
                                         "Cannot change while the job exists.")
          .min(1).max(1024).immutable(),
      F("spec.resources", T::Object, "Compute resources of each worker container (nvidia.com/gpu "
                                     "is added from gpusPerNode)."),
      F("spec.resources.requests", T::QuantityMap, "Minimum resources, e.g. cpu: \"4\", memory: 16Gi."),
      F("spec.resources.limits", T::QuantityMap, "Maximum resources."),
      F("spec.precision", T::String, "Mixed precision: no (fp32), fp16 (needs GPUs, uses loss "
                                     "scaling) or bf16 (autocast).")
          .def("bf16").oneof({"no", "fp16", "bf16"}),
      F("spec.gradientAccumulationSteps", T::Integer, "Micro-batches per optimizer step; gradients "
                                                      "are synchronized only on the last one.")
          .def(1).min(1).max(65536),
      F("spec.trackers", T::ObjectList, "Experiment trackers the main process logs to; each type "
                                        "at most once.").maxitems(16).map_keys({"type"}),
      F("spec.trackers[].type", T::String, "Tracker kind.").required()
          .oneof({"tensorboard", "wandb", "mlflow", "jsonl"}),
      F("spec.trackers[].settings", T::QuantityMap, "Tracker settings (e.g. project, tracking_uri), "
                                                    "passed as ACCEL_TRACKER_<TYPE>_<SETTING>. Not "
                                                    "for secrets: use secretRef.")
          .maxitems(16).maxlen(4096),
      F("spec.trackers[].secretRef", T::Object, "Secret key holding the tracker's credential "
                                                "(e.g. WANDB_API_KEY), exposed to workers as env."),
      F("spec.trackers[].secretRef.name", T::String, "Secret name.").required(),
      F("spec.trackers[].secretRef.key", T::String, "Key within the Secret.").required(),
      F("spec.logging", T::Object, "Where trackers and logs write.").def(json::object()),
      F("spec.logging.projectDir", T::String, "Project directory; relative paths of the run "
                                              "resolve here.").def("/workspace"),
      F("spec.logging.loggingDir", T::String, "Directory for tracker output (the worker's "
                                              "default under projectDir when empty)."),
      F("spec.logging.runNamePrefix", T::String, "Prefix of the run name trackers show.")
          .maxlen(128),
      F("spec.processGroup", T::Object, "The torch.distributed process group.").def(json::object()),
      F("spec.processGroup.backend", T::String, "Collective backend: auto (nccl with GPUs, else "
                                                "gloo), nccl (needs GPUs) or gloo.")
          .def("auto").oneof({"auto", "nccl", "gloo"}),
      F("spec.processGroup.timeoutSeconds", T::Integer, "Timeout of each collective; a rank that "
                                                        "exceeds it exits 80 (CollectiveTimeout).")
          .def(1800).min(1),
      F("spec.processGroup.rendezvousTimeoutSeconds", T::Integer, "How long ranks wait for each "
                                                                  "other at start-up; exceeding it "
                                                                  "exits 79 (RendezvousTimeout).")
          .def(300).min(1),
      F("spec.ddp", T::Object, "DistributedDataParallel options.").def(json::object()),
      F("spec.ddp.bucketCapMB", T::Integer, "Gradient bucket size in MiB for the overlapped "
                                            "all-reduce.").def(25).min(1).max(4096),
      F("spec.ddp.gradientAsBucketView", T::Boolean, "Make gradients views into the all-reduce "
                                                     "buckets (saves memory).").def(false),
      F("spec.ddp.staticGraph", T::Boolean, "The model's graph is the same every step.").def(false),
      F("spec.ddp.findUnusedParameters", T::Boolean, "Search for parameters that get no gradient "
                                                     "(slower; needed for some models).").def(false),
      F("spec.checkpoint", T::Object, "Checkpointing of model, optimizer and loop state.")
          .def(json::object()),
      F("spec.checkpoint.dir", T::String, "Directory for checkpoints; restarts resume from the "
                                          "newest.").def("/workspace/checkpoints"),
      F("spec.checkpoint.everySteps", T::Integer, "Save every N optimizer steps; 0 = only when "
                                                  "the program asks.").def(0).min(0),
      F("spec.checkpoint.keep", T::Integer, "How many checkpoints to keep.").def(3).min(1),
      F("spec.checkpoint.volume", T::String, "Name of a volume in template.volumes that holds "
                                             "checkpoint.dir (mounted on every node).")
          .maxlen(63),
      F("spec.metrics", T::Object, "Prometheus /metrics of each worker.").def(json::object()),
      F("spec.metrics.port", T::Integer, "Port of /metrics on each node; 0 turns it off.")
          .def(9400).min(0).max(65535),
      F("spec.runPolicy", T::Object, "Restarts, deadlines and clean-up.").def(json::object()),
      F("spec.runPolicy.restartPolicy", T::String, "OnFailure restarts the whole gang on any "
                                                   "failure but a configuration error (exit 78); "
                                                   "ExitCode restarts only on retryable exit codes "
                                                   "(79, 80, 81, signals); Never does not restart.")
          .def("OnFailure").oneof({"OnFailure", "ExitCode", "Never"}),
      F("spec.runPolicy.maxRestarts", T::Integer, "Gang restarts before the job fails.")
          .def(3).min(0),
      F("spec.runPolicy.backoff", T::Object, "Delay between restarts: initialSeconds * "
                                             "factor^restarts, at most maxSeconds.")
          .def(json::object()),
      F("spec.runPolicy.backoff.initialSeconds", T::Integer, "First delay.").def(10).min(0),
      F("spec.runPolicy.backoff.maxSeconds", T::Integer, "Largest delay.").def(300).min(0),
      F("spec.runPolicy.backoff.factor", T::Number, "Growth per restart.").def(2.0).min(1),
      F("spec.runPolicy.activeDeadlineSeconds", T::Integer, "Fail the job when it has run longer "
                                                            "than this (unset = no deadline).").min(1),
      F("spec.runPolicy.startupTimeoutSeconds", T::Integer, "Restart the gang when not all pods "
                                                            "are running within this time.")
          .def(600).min(1),
      F("spec.runPolicy.stallTimeoutSeconds", T::Integer, "Watchdog: a rank that completes no "
                                                          "step for this long exits 81 (Stalled); "
                                                          "unset = off.").min(1),
      F("spec.runPolicy.ttlSecondsAfterFinished", T::Integer, "Delete the job this long after it "
                                                              "finished (unset = keep).").min(0),
      F("spec.runPolicy.cleanPodPolicy", T::String, "Pods deleted when the job finishes: All, "
                                                    "Running (leave finished pods for their logs) "
                                                    "or None.")
          .def("Running").oneof({"All", "Running", "None"}),
      F("spec.runPolicy.suspend", T::Boolean, "Suspended jobs have no pods; resuming starts a "
                                              "new attempt.").def(false),
      F("spec.template", T::Object, "Pod settings copied into every worker pod.")
          .def(json::object()),
      F("spec.template.nodeSelector", T::StringMap, "Node labels the pods must match."),
      F("spec.template.tolerations", T::RawObjectList, "core/v1 Tolerations of the pods.")
          .maxitems(64),
      F("spec.template.volumes", T::RawObjectList, "core/v1 Volumes of the pods.").maxitems(64),
      F("spec.template.volumes[].name", T::String, "Volume name.").required().maxlen(63),
      F("spec.template.volumeMounts", T::RawObjectList, "core/v1 VolumeMounts of the worker "
                                                        "container.").maxitems(64),
      F("spec.template.volumeMounts[].name", T::String, "Name of a volume of template.volumes.")
          .required().maxlen(63),
      F("spec.template.volumeMounts[].mountPath", T::String, "Where it is mounted.").required()
          .maxlen(4096),
      F("spec.template.serviceAccountName", T::String, "Service account of the pods."),
      F("spec.template.priorityClassName", T::String, "Priority class of the pods."),
      F("spec.template.terminationGracePeriodSeconds", T::Integer,
        "Seconds from SIGTERM to SIGKILL when a pod is stopped (deleted, preempted, evicted, "
        "drained): a worker finishes its step, writes a checkpoint and exits 82 within it.")
          .def(120).min(1).max(86400),
      F("spec.template.securityContext", T::Object,
        "Linux security of the worker. The defaults meet the restricted Pod Security Standard; "
        "each field opts out on its own.").def(json::object()),
      F("spec.template.securityContext.runAsNonRoot", T::Boolean,
        "Refuse to start a container whose user is root.").def(true),
      F("spec.template.securityContext.runAsUser", T::Integer,
        "UID of the worker (unset: the image's USER; accel-worker's is 65532).").min(0),
      F("spec.template.securityContext.runAsGroup", T::Integer,
        "GID of the worker (unset: the image's).").min(0),
      F("spec.template.securityContext.fsGroup", T::Integer,
        "Group that owns the pod's volumes (e.g. a checkpoint PVC the non-root worker must "
        "write); unset: volumes keep their owner.").min(0),
      F("spec.template.securityContext.allowPrivilegeEscalation", T::Boolean,
        "Allow setuid binaries to gain privileges.").def(false),
      F("spec.template.securityContext.readOnlyRootFilesystem", T::Boolean,
        "Mount the image read-only (scratch space: an emptyDir at /tmp). Default: true when "
        "logging.projectDir, logging.loggingDir and checkpoint.dir are all on volumeMounts, "
        "else false."),
      F("spec.template.securityContext.seccompProfile", T::String,
        "Seccomp profile of the pod.").def("RuntimeDefault").oneof({"RuntimeDefault", "Unconfined"}),
      F("spec.template.securityContext.capabilities", T::Object,
        "Linux capabilities of the worker container.").def(json::object()),
      F("spec.template.securityContext.capabilities.add", T::StringList,
        "Capabilities to add (e.g. IPC_LOCK for RDMA).").maxitems(64),
      F("spec.template.securityContext.capabilities.drop", T::StringList,
        "Capabilities to drop; [] keeps the container runtime's default set.")
          .def(json::array({"ALL"})).maxitems(64),

      F("status", T::Object, "What the operator observed; written through the status "
                             "subresource."),
      F("status.phase", T::String, "Where the job is in its life.")
          .oneof({"Pending", "Queued", "Starting", "Running", "Restarting", "Succeeded", "Failed",
                  "Suspended"}),
      F("status.conditions", T::ObjectList, "Latest observations (Created, Queued, GangScheduled, "
                                            "Running, Restarting, Succeeded, Failed, Suspended).")
          .map_keys({"type"}),
      F("status.conditions[].type", T::String, "Condition type.").required(),
      F("status.conditions[].status", T::String, "True, False or Unknown.").required()
          .oneof({"True", "False", "Unknown"}),
      F("status.conditions[].reason", T::String, "Machine-readable reason (CamelCase)."),
      F("status.conditions[].message", T::String, "Human-readable details."),
      F("status.conditions[].lastTransitionTime", T::DateTime, "When status last changed."),
      F("status.restarts", T::Integer, "Gang restarts after failures so far; they count against "
                                       "runPolicy.maxRestarts.").min(0),
      F("status.disruptions", T::Integer, "Gang restarts after disruptions so far (preemption, "
                                          "eviction, pod deletion, node loss, exit 82/83); they "
                                          "do not count against runPolicy.maxRestarts.").min(0),
      F("status.attempt", T::Integer, "Current attempt, 0-based; workers see it as "
                                      "ACCEL_RESTART_COUNT.").min(0),
      F("status.lastFailure", T::Object, "The pod that ended the most recent gang."),
      F("status.lastFailure.pod", T::String, "Pod name."),
      F("status.lastFailure.rank", T::Integer, "Global rank that failed first, -1 if unknown."),
      F("status.lastFailure.exitCode", T::Integer, "Exit code (see EXIT_CODES.md)."),
      F("status.lastFailure.reason", T::String, "Reason derived from the exit code."),
      F("status.lastFailure.disruption", T::Boolean, "Whether it was a disruption (see "
                                                     "restarts and disruptions)."),
      F("status.startTime", T::DateTime, "When the first attempt started."),
      F("status.completionTime", T::DateTime, "When the job succeeded or failed."),
      F("status.observedGeneration", T::Integer, "metadata.generation the status reflects."),
      F("status.progress", T::Object, "Training progress reported by rank 0."),
      F("status.progress.step", T::Integer, "Optimizer steps completed."),
      F("status.progress.totalSteps", T::Integer, "Planned steps, 0 if unknown."),
      F("status.progress.samplesPerSecond", T::Number, "Recent throughput over all ranks."),
      F("status.progress.etaSeconds", T::Number, "Estimated seconds to totalSteps."),
      F("status.progress.lastStepTime", T::DateTime, "When the last step completed."),
      F("status.progress.loss", T::Number, "The last training loss the program logged."),
      F("status.progress.activity", T::String, "What rank 0 is doing: training, "
                                               "checkpointing or evaluating (the stall clock "
                                               "runs only while training).")
          .maxlen(32),
  };
}

std::string reserved_names_cel_list() {
  std::string out = "[";
  for (const auto& n : reserved_env_names()) out += (out.size() > 1 ? ", '" : "'") + n + "'";
  return out + "]";
}

// self.type -> its settings, as a CEL conditional over list literals.
std::string tracker_settings_cel() {
  std::string out, close;
  for (TrackerType t : all_tracker_types()) {
    std::string list = "[";
    for (const auto& k : tracker_setting_keys(t)) list += (list.size() > 1 ? ", '" : "'") + k + "'";
    out += "self.type == '" + to_string(t) + "' ? " + list + "] : (";
    close += ")";
  }
  return out + "[]" + close;
}

std::string tracker_settings_message() {
  std::string takes, none;
  for (TrackerType t : all_tracker_types()) {
    const auto& keys = tracker_setting_keys(t);
    if (keys.empty()) {
      none += (none.empty() ? "" : " and ") + to_string(t);
      continue;
    }
    std::string list;
    for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
    takes += (takes.empty() ? "" : "; ") + to_string(t) + " takes " + list;
  }
  return "has a setting its tracker type does not take: " + takes +
         (none.empty() ? "" : "; " + none + " take none");
}

std::vector<CelRule> build_rules() {
  return {
      {"name-length", "", "size(self.metadata.name) <= 50",
       "must be no more than 50 characters (pod and service names are derived from it)",
       ".metadata.name", ""},
      {"name-dns1035", "", "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
       "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
       "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or "
       "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
       ".metadata.name", ""},
      {"nccl-needs-gpus", "spec",
       "!has(self.processGroup) || !has(self.processGroup.backend) || "
       "self.processGroup.backend != 'nccl' || (has(self.gpusPerNode) && self.gpusPerNode > 0)",
       "backend nccl needs GPUs: set gpusPerNode > 0, or use backend gloo or auto",
       ".processGroup.backend", ""},
      {"fp16-needs-gpus", "spec",
       "!has(self.precision) || self.precision != 'fp16' || "
       "(has(self.gpusPerNode) && self.gpusPerNode > 0)",
       "precision fp16 needs GPUs: set gpusPerNode > 0, or use bf16 or no", ".precision", ""},
      {"procs-match-gpus", "spec",
       "!has(self.gpusPerNode) || self.gpusPerNode == 0 || !has(self.procsPerNode) || "
       "self.procsPerNode == self.gpusPerNode",
       "must equal gpusPerNode when gpusPerNode > 0 (one process per GPU)", ".procsPerNode", ""},
      {"procs-immutable", "spec",
       "has(self.procsPerNode) == has(oldSelf.procsPerNode) && "
       "(!has(self.procsPerNode) || self.procsPerNode == oldSelf.procsPerNode)",
       "field is immutable", ".procsPerNode", ""},
      {"backoff-max-ge-initial", "spec.runPolicy.backoff",
       "!has(self.initialSeconds) || !has(self.maxSeconds) || self.maxSeconds >= self.initialSeconds",
       "must be greater than or equal to initialSeconds", ".maxSeconds", ""},
      {"env-reserved", "spec.env[].name",
       "!(self in " + reserved_names_cel_list() + ") && !self.startsWith('ACCEL_')",
       "is reserved by the Accel env contract (the operator sets it); choose another name", "",
       ""},
      {"env-one-source", "spec.env[]", "!(has(self.value) && has(self.valueFrom))",
       "may not be specified when `value` is not empty", ".valueFrom", ""},
      // Fields that name another field, and settings the worker would refuse at start-up: a
      // spec the API server accepts does not fail later for a reason it already shows.
      {"program-required", "spec",
       "(has(self.command) && size(self.command) > 0) || (has(self.args) && size(self.args) > 0)",
       "the training program to run: set command (and args); `accel launch` runs them, not the "
       "image's entrypoint",
       ".command", "FieldValueRequired"},
      {"checkpoint-volume-declared", "spec",
       "!has(self.checkpoint) || !has(self.checkpoint.volume) || self.checkpoint.volume == '' || "
       "(has(self.template) && has(self.template.volumes) && "
       "self.template.volumes.exists(v, v.name == self.checkpoint.volume))",
       "must name a volume of spec.template.volumes", ".checkpoint.volume", ""},
      {"volume-mounts-declared", "spec.template",
       "!has(self.volumeMounts) || self.volumeMounts.all(m, has(self.volumes) && "
       "self.volumes.exists(v, v.name == m.name))",
       "every volumeMounts[].name must name a volume of spec.template.volumes", ".volumeMounts",
       ""},
      {"metrics-ports-fit", "spec",
       "!has(self.metrics) || !has(self.metrics.port) || self.metrics.port == 0 || "
       "self.metrics.port > 65535 || "
       "self.metrics.port + (has(self.procsPerNode) ? self.procsPerNode : "
       "(has(self.gpusPerNode) && self.gpusPerNode > 0 ? self.gpusPerNode : 1)) - 1 <= 65535",
       "port + procsPerNode - 1 must be at most 65535 (each process serves /metrics on its own "
       "port)",
       ".metrics.port", ""},
      {"run-name-prefix-one-segment", "spec.logging",
       "!has(self.runNamePrefix) || !self.runNamePrefix.contains('/')",
       "may not contain '/' (the run name is one directory name)", ".runNamePrefix", ""},
      {"tracker-settings-known", "spec.trackers[]",
       "!has(self.settings) || self.settings.all(k, k in (" + tracker_settings_cel() + "))",
       tracker_settings_message(), ".settings", ""},
      {"mlflow-needs-tracking-uri", "spec",
       "!has(self.trackers) || self.trackers.all(t, t.type != 'mlflow' || "
       "(has(t.settings) && 'tracking_uri' in t.settings && "
       "string(t.settings['tracking_uri']) != '')) || "
       "(has(self.env) && self.env.exists(e, e.name == 'MLFLOW_TRACKING_URI'))",
       "an mlflow tracker needs its tracking server: set its setting tracking_uri, or "
       "MLFLOW_TRACKING_URI in spec.env",
       ".trackers", "FieldValueRequired"},
      {"mlflow-tracking-uri-http", "spec.trackers[]",
       "self.type != 'mlflow' || !has(self.settings) || !('tracking_uri' in self.settings) || "
       "string(self.settings['tracking_uri']) == '' || "
       "string(self.settings['tracking_uri']).startsWith('http://') || "
       "string(self.settings['tracking_uri']).startsWith('https://')",
       "tracking_uri must be an http:// or https:// MLflow tracking server", ".settings", ""},
      {"mlflow-timeout-seconds", "spec.trackers[]",
       "self.type != 'mlflow' || !has(self.settings) || !('timeout_seconds' in self.settings) || "
       "(string(self.settings['timeout_seconds']).matches('^[0-9]{1,4}$') && "
       "int(string(self.settings['timeout_seconds'])) >= 1 && "
       "int(string(self.settings['timeout_seconds'])) <= 3600)",
       "timeout_seconds must be a whole number of seconds from 1 to 3600", ".settings", ""},
      {"wandb-mode", "spec.trackers[]",
       "self.type != 'wandb' || !has(self.settings) || !('mode' in self.settings) || "
       "string(self.settings['mode']) in ['offline', 'online', '']",
       "mode must be offline or online (both write an offline run that `wandb sync` uploads)",
       ".settings", ""},
      {"wandb-run-id", "spec.trackers[]",
       "self.type != 'wandb' || !has(self.settings) || !('run_id' in self.settings) || "
       "string(self.settings['run_id']).matches('^[A-Za-z0-9_-]{1,64}$')",
       "run_id must be 1-64 letters, digits, '_' or '-'", ".settings", ""},
  };
}

}  // namespace

const std::vector<FieldSpec>& acceljob_fields() {
  static const std::vector<FieldSpec> fields = build_fields();
  return fields;
}

const FieldSpec* find_field(const std::string& path) {
  static const auto index = [] {
    std::unordered_map<std::string, const FieldSpec*> m;
    for (const auto& f : acceljob_fields()) m.emplace(f.path, &f);
    return m;
  }();
  auto it = index.find(path);
  return it == index.end() ? nullptr : it->second;
}

const FieldSpec& field(const std::string& path) {
  const FieldSpec* f = find_field(path);
  if (!f) throw std::logic_error("accel::api field table has no entry for " + path);
  return *f;
}

const std::vector<CelRule>& acceljob_cel_rules() {
  static const std::vector<CelRule> rules = build_rules();
  return rules;
}

const CelRule& cel_rule(const std::string& id) {
  for (const auto& r : acceljob_cel_rules())
    if (r.id == id) return r;
  throw std::logic_error("accel::api has no CEL rule " + id);
}

const std::vector<std::string>& tracker_setting_keys(TrackerType type) {
  static const std::vector<std::string> none;
  static const std::vector<std::string> wandb = {"project", "entity", "mode", "dir", "run_id"};
  static const std::vector<std::string> mlflow = {"tracking_uri", "experiment_name", "run_name",
                                                  "timeout_seconds"};
  switch (type) {
    case TrackerType::WandB:
      return wandb;
    case TrackerType::MLflow:
      return mlflow;
    default:
      return none;
  }
}

const std::vector<std::string>& reserved_env_names() {
  static const std::vector<std::string> names = {"MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE",
                                                 "RANK",        "LOCAL_RANK",  "LOCAL_WORLD_SIZE",
                                                 "NODE_RANK",   "NNODES"};
  return names;
}

bool is_reserved_env_name(const std::string& name) {
  if (name.rfind(kReservedEnvPrefix, 0) == 0) return true;
  for (const auto& n : reserved_env_names())
    if (n == name) return true;
  return false;
}

}  // namespace accel::api

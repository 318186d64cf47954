// key_table.cpp — the configuration keys (see accel/config/key_table.h and worker/CONFIG.md).
#include "accel/config/key_table.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace accel {

namespace {

using Values = std::map<std::string, std::string>;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
  return out;
}

bool more_than_one_machine(const Values& v) {
  auto it = v.find("num_machines");
  return it != v.end() && it->second != "1";
}

// Builders keep the table below readable: one entry per key.
KeySpec boolean(std::string name, bool def, std::string help, std::string question = "") {
  KeySpec k;
  k.name = std::move(name);
  k.type = KeyType::Bool;
  k.default_value = def ? "true" : "false";
  k.help = std::move(help);
  k.question = std::move(question);
  return k;
}

KeySpec integer(std::string name, std::int64_t def, std::int64_t min, std::int64_t max,
                std::string help, std::string question = "") {
  KeySpec k;
  k.name = std::move(name);
  k.type = KeyType::Int;
  k.default_value = std::to_string(def);
  k.min_value = min;
  k.max_value = max;
  k.help = std::move(help);
  k.question = std::move(question);
  return k;
}

KeySpec text(std::string name, std::string def, bool allow_empty, std::string help,
             std::string question = "") {
  KeySpec k;
  k.name = std::move(name);
  k.type = KeyType::String;
  k.default_value = std::move(def);
  k.allow_empty = allow_empty;
  k.help = std::move(help);
  k.question = std::move(question);
  return k;
}

KeySpec choice(std::string name, std::string def, std::vector<std::string> choices,
               std::string help, std::string question = "") {
  KeySpec k;
  k.name = std::move(name);
  k.type = KeyType::Choice;
  k.default_value = std::move(def);
  k.choices = std::move(choices);
  k.help = std::move(help);
  k.question = std::move(question);
  return k;
}

KeySpec with_ask_if(KeySpec k, std::function<bool(const Values&)> f) {
  k.ask_if = std::move(f);
  return k;
}

KeySpec derived(KeySpec k, std::string derivation) {
  k.derived_default = std::move(derivation);
  k.default_value.clear();
  return k;
}

std::vector<KeySpec> build_table() {
  constexpr std::int64_t kMax = INT32_MAX;
  std::vector<KeySpec> t;
  // --- where and how many processes ---------------------------------------------------------
  t.push_back(integer("num_machines", 1, 1, kMax, "Machines (nodes) in the job",
                      "How many machines will the job use?"));
  t.push_back(with_ask_if(
      integer("machine_rank", 0, 0, kMax, "This machine's rank, 0-based, below num_machines",
              "What is the rank of this machine (0 for the main one)?"),
      more_than_one_machine));
  t.push_back(with_ask_if(
      text("main_process_ip", "127.0.0.1", false, "Address of the rank-0 machine (rendezvous host)",
           "What is the IP address of the main machine?"),
      more_than_one_machine));
  t.push_back(with_ask_if(
      integer("main_process_port", 29500, 0, 65535,
              "Rendezvous TCP port on the main machine; 0 picks a free port (one machine only)",
              "Which port should the main machine listen on?"),
      more_than_one_machine));
  t.push_back(integer("num_processes", 1, 1, kMax, "Processes to start on this machine",
                      "How many processes should run on this machine (usually one per GPU)?"));
  t.push_back(
      boolean("cpu", false, "Train on CPU even when a GPU is present", "Train on CPU only?"));
  {
    KeySpec k;
    k.name = "gpu_ids";
    k.type = KeyType::GpuIds;
    k.default_value = "all";
    k.help = "GPUs this machine may use: all, or comma-separated indices (0,1)";
    k.question = "Which GPUs should be used (all, or indices like 0,1)?";
    k.ask_if = [](const Values& v) {
      auto it = v.find("cpu");
      return it == v.end() || it->second != "true";
    };
    t.push_back(k);
  }
  t.push_back(integer("gpus_per_node", 0, 0, kMax,
                      "CUDA devices this node must have (the operator sets it from "
                      "spec.gpusPerNode); > 0 makes a missing GPU a configuration error"));
  t.push_back(boolean("allow_tf32", false,
                      "Use TF32 tensor cores for float32 matmuls and convolutions on CUDA"));
  t.push_back(integer("num_cpu_threads_per_process", 0, 0, kMax,
                      "CPU threads per process (OMP_NUM_THREADS); 0 = cores / processes"));
  t.push_back(choice("backend", "auto", {"auto", "nccl", "gloo"},
                     "Process-group backend; auto = nccl on GPU, gloo on CPU"));
  t.push_back(integer("pg_timeout_seconds", 1800, 1, kMax,
                      "Timeout of one collective operation, in seconds"));
  t.push_back(integer("rendezvous_timeout_seconds", 300, 1, kMax,
                      "How long ranks wait for each other at start-up, in seconds"));
  t.push_back(integer("flight_recorder_entries", 2000, 0, kMax,
                      "NCCL flight recorder: collectives each rank remembers and dumps on a "
                      "timeout; 0 = off"));
  t.push_back(derived(text("flight_recorder_dir", "", false,
                           "Where NCCL flight-recorder dumps go (attempt_<N>/rank_<R>)"),
                      "<project_dir>/flight_recorder"));
  // --- the training step -------------------------------------------------------------------
  t.push_back(choice("mixed_precision", "no", {"no", "fp16", "bf16"},
                     "Mixed precision: no, fp16 (with loss scaling) or bf16",
                     "Which mixed precision (no, fp16, bf16)?"));
  t.push_back(integer("gradient_accumulation_steps", 1, 1, kMax, "Micro-batches per optimizer step",
                      "How many micro-batches should be accumulated per optimizer step?"));
  t.push_back(integer("ddp_bucket_cap_mb", 25, 1, kMax, "DDP gradient bucket size, in MiB"));
  t.push_back(boolean("ddp_gradient_as_bucket_view", false,
                      "Let gradients be views into DDP buckets (saves a copy and memory)"));
  t.push_back(boolean("ddp_static_graph", false,
                      "The model's graph and used parameters never change between steps"));
  t.push_back(boolean("ddp_find_unused_parameters", false,
                      "Look for parameters that get no gradient in a step (slower)"));
  t.push_back(integer("seed", 42, 0, kMax, "Random seed of every rank"));
  // --- logging, checkpoints, supervision ---------------------------------------------------
  {
    KeySpec k;
    k.name = "log_with";
    k.type = KeyType::List;
    k.choices = {"tensorboard", "wandb", "mlflow", "jsonl"};
    k.help = "Trackers: comma-separated tensorboard, wandb, mlflow, jsonl, or all; empty = none";
    k.question =
        "Which trackers should log metrics (tensorboard, wandb, mlflow, jsonl, all; "
        "empty for none)?";
    t.push_back(k);
  }
  t.push_back(text("project_dir", ".", false, "Base directory for logs and checkpoints",
                   "Which project directory should hold logs and checkpoints?"));
  t.push_back(
      derived(text("logging_dir", "", false, "Tracker output directory"), "<project_dir>/logs"));
  t.push_back(text("run_name_prefix", "", true, "Prefix of the generated run name"));
  t.push_back(text("run_name", "", true,
                   "Run name for trackers; empty = run_name_prefix + UTC YYYYmmddHHMMSS"));
  t.push_back(derived(text("checkpoint_dir", "", false, "Checkpoint directory"),
                      "<project_dir>/checkpoints"));
  t.push_back(integer("checkpoint_every_steps", 0, 0, kMax,
                      "Save a checkpoint every N optimizer steps; 0 = off",
                      "Save a checkpoint every how many optimizer steps (0 = never)?"));
  t.push_back(with_ask_if(integer("checkpoint_keep", 3, 1, kMax, "Checkpoints to keep",
                                  "How many checkpoints should be kept?"),
                          [](const Values& v) {
                            auto it = v.find("checkpoint_every_steps");
                            return it != v.end() && it->second != "0";
                          }));
  t.push_back(integer("stall_timeout_seconds", 0, 0, kMax,
                      "Fail the job when no step completes for this long, in seconds; 0 = off",
                      "Fail when no step completes for how many seconds (0 = never)?"));
  t.push_back(integer("metrics_port", 0, 0, 65535,
                      "Prometheus /metrics port of local rank 0 (rank r uses port + r); 0 = off"));
  t.push_back(text("metrics_host", "", true,
                   "Address the /metrics server binds (e.g. the pod IP); empty = all interfaces"));
  t.push_back(choice("print_scope", "global", {"global", "node"},
                     "Accelerator::print on the main process only (global) or once per node"));
  // --- set by the operator -----------------------------------------------------------------
  t.push_back(text("job_name", "", true, "AccelJob name (set by the operator)"));
  t.push_back(text("job_namespace", "", true, "AccelJob namespace (set by the operator)"));
  t.push_back(integer("restart_count", 0, 0, kMax,
                      "How many times the job was restarted (set by the operator)"));
  return t;
}

[[noreturn]] void invalid(const KeySpec& key, const std::string& raw, const std::string& where,
                          const std::string& problem) {
  throw ConfigError(key.name + ": '" + raw + "' from " + where + " " + problem);
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ',') {
      out.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(trim(cur));
  return out;
}

bool parse_int(const std::string& s, std::int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  std::int64_t v = 0;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  out = s[0] == '-' ? -v : v;
  return true;
}

// Levenshtein distance, for "did you mean".
size_t distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

const std::vector<KeySpec>& config_keys() {
  static const std::vector<KeySpec> table = build_table();
  return table;
}

std::vector<std::string> config_key_names() {
  std::vector<std::string> names;
  for (const auto& k : config_keys()) names.push_back(k.name);
  return names;
}

const KeySpec* find_config_key(const std::string& name) {
  for (const auto& k : config_keys())
    if (k.name == name) return &k;
  return nullptr;
}

const KeySpec& require_config_key(const std::string& name, const std::string& where) {
  if (const KeySpec* k = find_config_key(name)) return *k;
  std::string best;
  size_t best_d = 4;
  for (const auto& k : config_keys()) {
    const size_t d = distance(lower(name), k.name);
    if (d < best_d) best_d = d, best = k.name;
  }
  throw ConfigError("unknown configuration key '" + name + "' in " + where +
                    (best.empty() ? "" : " (did you mean '" + best + "'?)") +
                    "; `accel config explain` lists the keys");
}

std::string env_var_for_key(const std::string& key) { return "ACCEL_" + upper(key); }
std::string launch_env_var_for_key(const std::string& key) { return "ACCEL_LAUNCH_" + upper(key); }
std::string flag_for_key(const std::string& key) { return "--" + key; }

std::string describe_allowed(const KeySpec& key) {
  switch (key.type) {
    case KeyType::Bool:
      return "a boolean (true/false/1/0/yes/no)";
    case KeyType::Int:
      if (key.max_value >= INT32_MAX) return "an integer >= " + std::to_string(key.min_value);
      return "an integer from " + std::to_string(key.min_value) + " to " +
             std::to_string(key.max_value);
    case KeyType::String:
      return key.allow_empty ? "any text" : "non-empty text";
    case KeyType::Choice:
      return "one of: " + join(key.choices, ", ");
    case KeyType::List:
      return "a comma-separated list of: " + join(key.choices, ", ") + " (or all, or empty)";
    case KeyType::GpuIds:
      return "all, or comma-separated GPU indices";
  }
  return "";
}

std::string normalize_value(const KeySpec& key, const std::string& raw, const std::string& where) {
  switch (key.type) {
    case KeyType::Bool: {
      const std::string v = lower(trim(raw));
      if (v == "true" || v == "1" || v == "yes") return "true";
      if (v == "false" || v == "0" || v == "no") return "false";
      invalid(key, raw, where, "is not a boolean (true/false/1/0/yes/no)");
    }
    case KeyType::Int: {
      std::int64_t v = 0;
      if (!parse_int(trim(raw), v)) invalid(key, raw, where, "is not an integer");
      if (v < key.min_value || v > key.max_value)
        invalid(key, raw, where, "is out of range: must be " + describe_allowed(key));
      return std::to_string(v);
    }
    case KeyType::String:
      if (raw.empty() && !key.allow_empty) {
        invalid(
            key, raw, where,
            "must not be empty" + (key.derived_default.empty()
                                       ? std::string()
                                       : " (leave it unset to use " + key.derived_default + ")"));
      }
      return raw;
    case KeyType::Choice: {
      const std::string v = lower(trim(raw));
      for (const auto& c : key.choices)
        if (c == v) return c;
      invalid(key, raw, where, "is not one of: " + join(key.choices, ", "));
    }
    case KeyType::List: {
      if (trim(raw).empty()) return "";
      std::vector<std::string> items;
      for (const auto& item : split_commas(lower(raw))) {
        if (item.empty()) invalid(key, raw, where, "has an empty item");
        if (item == "all") {
          items.push_back(item);
          continue;
        }
        if (std::find(key.choices.begin(), key.choices.end(), item) == key.choices.end())
          invalid(key, raw, where,
                  "has '" + item + "', which is not one of: " + join(key.choices, ", ") + ", all");
        if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(item);
      }
      if (std::find(items.begin(), items.end(), "all") != items.end()) {
        if (items.size() > 1) invalid(key, raw, where, "combines 'all' with other trackers");
      }
      return join(items, ",");
    }
    case KeyType::GpuIds: {
      if (lower(trim(raw)) == "all") return "all";
      std::vector<std::string> ids;
      std::set<std::int64_t> seen;
      for (const auto& item : split_commas(raw)) {
        std::int64_t v = 0;
        if (!parse_int(item, v) || v < 0)
          invalid(key, raw, where, "is not 'all' or a comma-separated list of GPU indices");
        if (!seen.insert(v).second) invalid(key, raw, where, "lists GPU " + item + " twice");
        ids.push_back(std::to_string(v));
      }
      return join(ids, ",");
    }
  }
  return raw;
}

std::vector<std::string> split_list(const std::string& canonical) {
  if (canonical.empty()) return {};
  return split_commas(canonical);
}

}  // namespace accel

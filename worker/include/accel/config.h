// accel/config.h — how libaccel decides every setting, and says why.
//
// Precedence, lowest to highest, applied key by key with the same rule for every key:
//   1 built-in default  <  2 config file (YAML)  <  3 environment ACCEL_<KEY>
//   <  4 `accel launch` flag --<key>  <  5 value set explicitly in code (AcceleratorOptions)
// A value set in a higher layer wins even when it equals the default (setting a key is what
// counts, not its value), and every resolved value records which layer and which file,
// variable, flag or setter it came from. worker/CONFIG.md lists the keys and the rules.
//
// Which config file: an explicit path (AcceleratorOptions::config_file, else the launch flag
// --config_file) must exist; otherwise ACCEL_CONFIG_FILE, otherwise
// $XDG_CONFIG_HOME/accel/default_config.yaml ($XDG_CONFIG_HOME defaults to ~/.config); those
// two may be absent (no file layer then).
//
// `accel launch` hands its flags to each rank as ACCEL_LAUNCH_<KEY> (launch_flags_to_env), so a
// rank attributes them to layer 4 and not to the operator's plain ACCEL_<KEY> (layer 3).
//
// Everything here is a pure function over plain structs: the environment is an input
// (ConfigInputs::env), so nothing reads the process environment except
// ConfigInputs::from_process() and process_environment().
#pragma once

#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "accel/config/config_error.h"
#include "accel/config/key_table.h"

namespace CLI {
class App;
}

namespace accel {

// The C++ types of keys.def's kinds: setter argument and accessor result.
#define ACCEL_CONFIG_ARG_Int int
#define ACCEL_CONFIG_ARG_Bool bool
#define ACCEL_CONFIG_ARG_Text const std::string&
#define ACCEL_CONFIG_ARG_Choice const std::string&
#define ACCEL_CONFIG_ARG_GpuIds const std::string&
#define ACCEL_CONFIG_ARG_List const std::vector<std::string>&
#define ACCEL_CONFIG_RESULT_Int int
#define ACCEL_CONFIG_RESULT_Bool bool
#define ACCEL_CONFIG_RESULT_Text std::string
#define ACCEL_CONFIG_RESULT_Choice std::string
#define ACCEL_CONFIG_RESULT_GpuIds std::string
#define ACCEL_CONFIG_RESULT_List std::vector<std::string>

// Who this process is in the job: what `accel launch` (and torchrun) put in each rank's
// environment. Without them: a job of one process.
struct RankIdentity {
  int world_size = 1;        // WORLD_SIZE
  int rank = 0;              // RANK, 0 <= rank < world_size
  int local_rank = 0;        // LOCAL_RANK (default: rank)
  int local_world_size = 1;  // LOCAL_WORLD_SIZE (default: world_size)
  int node_rank = 0;         // NODE_RANK
  std::string master_addr;   // MASTER_ADDR (default: the main_process_ip key)
  int master_port = 0;       // MASTER_PORT (default: the main_process_port key)
};

// The environment variables other than ACCEL_* that libaccel honours, each with what it does
// (worker/CONFIG.md lists them): device selection, Gloo's interface, MLflow's own settings.
const std::vector<std::pair<std::string, std::string>>& honoured_environment_variables();

// The five layers, lowest precedence first.
enum class ConfigSource { Default, ConfigFile, Environment, LaunchFlag, Code };
// "default", "config file", "environment variable", "launch flag", "code".
std::string to_string(ConfigSource source);

struct ResolvedValue {
  std::string value;  // canonical (see KeyType)
  ConfigSource source = ConfigSource::Default;
  // Default: "" or the derivation ("<project_dir>/logs"); ConfigFile: the file's path;
  // Environment: the variable (ACCEL_SEED); LaunchFlag: the flag (--seed);
  // Code: the setter (AcceleratorOptions::seed).
  std::string origin;
  // The source in words, as errors and `explain` print it: "default",
  // "default (<project_dir>/logs)", "config file /p/c.yaml", "environment variable ACCEL_SEED",
  // "launch flag --seed", "code (AcceleratorOptions::seed)".
  std::string describe() const;
};

// The outcome of resolve_config: one value for every key in config_keys().
struct ResolvedConfig {
  std::map<std::string, ResolvedValue> values;
  bool python_program = false;     // ConfigInputs::python_program
  std::string config_file;         // the file that was read; "" when none was
  std::string config_file_reason;  // how it was found, in words (or why none was read)

  // Generic access; throws std::out_of_range for an unknown key, std::logic_error when the
  // key's type does not match the accessor (get_list works for List and GpuIds keys).
  const ResolvedValue& at(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  int get_int(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::vector<std::string> get_list(const std::string& key) const;
  ConfigSource source_of(const std::string& key) const;
  // The source in words (ResolvedValue::describe()).
  std::string origin_of(const std::string& key) const;

  // Typed accessors, one per key of keys.def (e.g. `int seed() const;`, `bool cpu() const;`,
  // `std::vector<std::string> log_with() const;`, where "all" stays "all": make_trackers
  // decides what it includes).
#define ACCEL_KEY(key, kind, ...) ACCEL_CONFIG_RESULT_##kind key() const;
#include "accel/config/keys.def"
#undef ACCEL_KEY
  std::vector<int> gpu_id_list() const;  // gpu_ids() as numbers; {} for "all"

  // What libaccel reads of the environment besides the keys, resolved here so that nothing
  // else reads the process environment:
  RankIdentity identity;  // WORLD_SIZE, RANK, LOCAL_RANK, ... (accel launch, torchrun)
  // ACCEL_TRACKER_<TYPE>_<SETTING> of the env contract: type ("mlflow") -> setting -> value.
  std::map<std::string, std::map<std::string, std::string>> tracker_settings;
  // The other variables libaccel honours, as found (honoured_environment_variables()).
  std::map<std::string, std::string> environment;
};

// Layer 5: what the training program sets in code, LibTorch style:
//   AcceleratorOptions().mixed_precision("bf16").gradient_accumulation_steps(4)
// Every setter marks its key as explicitly set: the value then wins over every other layer,
// even when it equals the default. Values are checked by resolve_config (errors name
// "code (AcceleratorOptions::<key>)").
class AcceleratorOptions {
 public:
  // One chained setter per key of keys.def, e.g. `AcceleratorOptions& seed(int v);`.
#define ACCEL_KEY(key, kind, ...) AcceleratorOptions& key(ACCEL_CONFIG_ARG_##kind v);
#include "accel/config/keys.def"
#undef ACCEL_KEY

  // Any key by name (e.g. from the program's own flags). Throws ConfigError for a key that
  // does not exist; the value is checked by resolve_config.
  AcceleratorOptions& set(const std::string& key, const std::string& value);
  // An explicit config file: it must exist, and it beats --config_file and ACCEL_CONFIG_FILE.
  AcceleratorOptions& config_file(const std::string& path);
  const std::string& config_file() const { return config_file_; }
  // The program is Python (the accel package): code-set values are attributed to
  // "Accelerator(<key>=...)", and the Python-only keys (dynamo_*) apply.
  AcceleratorOptions& python_program(bool v) {
    python_program_ = v;
    return *this;
  }
  bool python_program() const { return python_program_; }

  bool is_set(const std::string& key) const { return values_.count(key) > 0; }
  // The keys set explicitly, as strings (the code layer of ConfigInputs).
  const std::map<std::string, std::string>& to_map() const { return values_; }

 private:
  std::map<std::string, std::string> values_;
  std::string config_file_;
  bool python_program_ = false;
};

// What resolve_config reads. A default-constructed ConfigInputs has an EMPTY environment.
struct ConfigInputs {
  std::string config_file;                 // explicit path (launch flag or code); "" = none
  std::string config_file_origin;          // who gave it, for messages ("--config_file"); may be ""
  std::map<std::string, std::string> env;  // layer 3 (+ ACCEL_CONFIG_FILE, XDG/HOME)
  std::map<std::string, std::string> launch_flags;  // layer 4: key -> raw value
  std::map<std::string, std::string> code;          // layer 5: key -> raw value
  bool python_program =
      false;  // layer 5 is accel.Accelerator(...) (AcceleratorOptions::python_program)
  // The start time, for the run name when run_name is empty (derive_run_name).
  std::time_t now = std::time(nullptr);

  // `env` as layer 3; launch flags read back from its ACCEL_LAUNCH_* (and
  // ACCEL_LAUNCH_CONFIG_FILE); code layer and explicit config file from `options` (a config
  // file set in code beats --config_file). Throws ConfigError for an unknown ACCEL_LAUNCH_*.
  static ConfigInputs from_environment(std::map<std::string, std::string> env,
                                       const AcceleratorOptions& options = AcceleratorOptions());
  // from_environment(process_environment(), options): what a training process uses.
  static ConfigInputs from_process(const AcceleratorOptions& options = AcceleratorOptions());
};

// Resolves every key. Throws ConfigError for: an unknown key in the file, launch flags or code;
// a missing explicit config file; a file that is not YAML or not a mapping; an invalid value in
// any layer (even one that a higher layer overrides: a broken source is reported, not hidden);
// and inconsistent combinations (machine_rank >= num_machines; backend nccl with cpu true;
// main_process_port 0 with more than one machine), naming both keys and their sources.
ResolvedConfig resolve_config(const ConfigInputs& inputs);

// key | value | source, one line per key, columns aligned, with a header line.
std::string explain_table(const ResolvedConfig& config);

// "<prefix>YYYYmmddHHMMSS" in UTC: the run name when run_name is empty.
std::string derive_run_name(const std::string& prefix, std::time_t now);

// --- the config file ----------------------------------------------------------------------
// $XDG_CONFIG_HOME/accel/default_config.yaml, with XDG_CONFIG_HOME defaulting to $HOME/.config
// (read from `env`). "" when neither is set.
std::string default_config_path(const std::map<std::string, std::string>& env);
// The file's keys with their raw values (lists joined with commas; null values left out).
// Throws ConfigError naming the file for a missing/unreadable file, bad YAML, a top level that
// is not a mapping, an unknown key, or a nested mapping as a value. Values are checked by
// resolve_config.
std::map<std::string, std::string> read_config_file(const std::string& path);
// The same, from the file's text (at most YamlBounds::max_bytes); `path` names it in errors.
std::map<std::string, std::string> parse_config_file_text(const std::string& text,
                                                          const std::string& path);
// Writes `values` (validated; throws ConfigError naming the key) as YAML in key-table order,
// each key preceded by its help text; creates missing parent directories. Throws ConfigError
// when the file cannot be written.
void write_config_file(const std::string& path, const std::map<std::string, std::string>& values);

// --- `accel launch` flags -----------------------------------------------------------------
struct LaunchFlags {
  std::map<std::string, std::string> values;  // only the flags given: key -> raw value
  std::string config_file;                    // --config_file, "" when not given
  // launch_flags_to_env(values) plus ACCEL_LAUNCH_CONFIG_FILE when config_file is set.
  std::map<std::string, std::string> to_env() const;
};
// Registers --<key> for every key (Bool keys are flags: --cpu, or --cpu=false) and
// --config_file on `app`; parsed values land in `flags`, which must outlive parsing.
void add_launch_flags(CLI::App& app, LaunchFlags& flags);
// {key: value} -> {ACCEL_LAUNCH_<KEY>: value}. Throws ConfigError for an unknown key.
std::map<std::string, std::string> launch_flags_to_env(
    const std::map<std::string, std::string>& flags);
// The reverse, from a rank's environment: every ACCEL_LAUNCH_<KEY> (and
// ACCEL_LAUNCH_CONFIG_FILE). Throws ConfigError for an ACCEL_LAUNCH_* that names no key.
LaunchFlags launch_flags_from_env(const std::map<std::string, std::string>& env);

// The environment of this process as a map.
std::map<std::string, std::string> process_environment();

}  // namespace accel

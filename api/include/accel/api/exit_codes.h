// exit_codes.h — the exit-code table shared by worker -> `accel launch` -> pod -> operator.
//
// A training process exits with one of these codes; `accel launch` exits with the first
// failing rank's code (a rank killed by signal N reports 128+N, like a shell); the operator
// reads the container's exit code and decides, through classify_exit(), whether to restart
// the gang. Documented for users in api/EXIT_CODES.md.
#pragma once

#include <string>

#include "accel/api/acceljob.h"

namespace accel::api {

enum class ExitCode : int {
  Success = 0,
  TrainingError = 1,        // uncaught error in user code
  ConfigError = 78,         // bad configuration (EX_CONFIG): never retried
  RendezvousTimeout = 79,   // not all ranks joined within the rendezvous timeout
  CollectiveTimeout = 80,   // hung collective or process-group (NCCL/Gloo) error
  Stalled = 81,             // watchdog: no step completed within the stall timeout
  Preempted = 82,           // SIGTERM: the last step completed and was checkpointed
  PreemptedNoCheckpoint = 83,  // SIGTERM: the checkpoint could not complete within the grace
  CheckpointWriteFailed = 84,  // a checkpoint could not be written (disk full, file size
                               // limit, not writable); the previous one is intact
  SignalBase = 128,         // 128 + N: killed by signal N (137 = SIGKILL, e.g. OOM-killed)
};

inline constexpr int to_int(ExitCode c) { return static_cast<int>(c); }
// 82 or 83: the rank stopped after a stop signal (SIGTERM/SIGINT), with or without a checkpoint.
inline constexpr bool is_stop_exit(int code) {
  return code == to_int(ExitCode::Preempted) || code == to_int(ExitCode::PreemptedNoCheckpoint);
}
// 128 + signal number.
inline constexpr int signal_exit_code(int signal_number) { return 128 + signal_number; }

// One line for humans and Events: "78 (ConfigError: bad configuration, not retried)",
// "137 (killed by signal 9, SIGKILL)", "3 (training process exited with code 3)".
std::string describe_exit_code(int code);
// The short reason string used in status.lastFailure.reason and conditions ("ConfigError",
// "Signal9", "ExitCode3").
std::string exit_reason(int code);

// Disruption: the job was stopped from outside (operator/controller/DISRUPTIONS.md): a new
// attempt that spends no restart.
enum class FailureClass { Success, Permanent, Retryable, Disruption };
std::string to_string(FailureClass);

// What the operator does with an exit code under a restart policy:
//   any policy: 0 -> Success; 82, 83 -> Disruption
//   OnFailure:  ConfigError (78) -> Permanent, any other code -> Retryable
//   ExitCode:   79, 80, 81 -> Retryable; other 1..127 -> Permanent; >= 128 (signals) -> Retryable
//   Never:      any failure -> Permanent
// Negative codes (unknown) count as failures: Retryable under OnFailure/ExitCode.
FailureClass classify_exit(int code, RestartPolicy policy);

}  // namespace accel::api

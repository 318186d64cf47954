// failure.h — how an error ends a training process: one table from exception to exit code
// (api/EXIT_CODES.md), used by run_main for errors on the training thread and by the terminate
// handler for errors that escape a background thread (c10d's NCCL watchdog throws there when a
// collective times out or NCCL fails, with TORCH_NCCL_ASYNC_ERROR_HANDLING=1).
#pragma once

#include <exception>
#include <string>

namespace accel {

struct Failure {
  int exit_code = 1;
  std::string kind;     // "configuration error", "collective failed", ...: the log prefix
  std::string message;  // what() of the exception
};

// ConfigError → 78; CheckpointWriteError → 84; RendezvousTimeout → 79; CollectiveTimeout, c10::DistError (its
// DistBackendError, DistNetworkError, DistStoreError: an NCCL error or timeout, a peer gone,
// the store unreachable) and errors whose text says a collective timed out or was aborted →
// 80; anything else → 1 (TrainingError). A null pointer is a TrainingError with no message.
Failure classify_failure(std::exception_ptr error);

// Installs (once per process) a std::terminate handler that prints the escaping exception with
// the rank and exits with classify_failure's code when that is 80, so a collective that fails
// on c10d's watchdog thread ends the rank as "collective failed" rather than as SIGABRT. Other
// escaping exceptions keep the default behaviour (abort).
void install_terminate_handler(int rank);

}  // namespace accel

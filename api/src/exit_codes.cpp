// exit_codes.cpp — see exit_codes.h and api/EXIT_CODES.md.
#include "accel/api/exit_codes.h"

#include <csignal>
#include <cstring>

namespace accel::api {
namespace {
const char* signal_name(int sig) {
  switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    default: return nullptr;
  }
}
}  // namespace

std::string exit_reason(int code) {
  switch (code) {
    case 0: return "Success";
    case 1: return "TrainingError";
    case 78: return "ConfigError";
    case 79: return "RendezvousTimeout";
    case 80: return "CollectiveTimeout";
    case 81: return "Stalled";
    case 82: return "Preempted";
    case 83: return "PreemptedNoCheckpoint";
    case 84: return "CheckpointWriteFailed";
    default: break;
  }
  if (code > 128 && code < 256) return "Signal" + std::to_string(code - 128);
  return "ExitCode" + std::to_string(code);
}

std::string describe_exit_code(int code) {
  const std::string c = std::to_string(code);
  switch (code) {
    case 0: return c + " (Success)";
    case 1: return c + " (TrainingError: uncaught error in the training program)";
    case 78: return c + " (ConfigError: bad configuration, not retried)";
    case 79: return c + " (RendezvousTimeout: not all ranks joined in time)";
    case 80: return c + " (CollectiveTimeout: hung collective or process-group error)";
    case 81: return c + " (Stalled: no step completed within the stall timeout)";
    case 82: return c + " (Preempted: stopped by SIGTERM after a checkpoint of its last step)";
    case 83:
      return c + " (PreemptedNoCheckpoint: stopped by SIGTERM; the checkpoint did not complete "
                 "within the grace period, the previous one stands)";
    case 84:
      return c + " (CheckpointWriteFailed: a checkpoint could not be written, e.g. the disk is "
                 "full; the previous one is intact)";
    default: break;
  }
  if (code > 128 && code < 256) {
    int sig = code - 128;
    const char* name = signal_name(sig);
    std::string s = c + " (killed by signal " + std::to_string(sig);
    if (name) s += std::string(", ") + name;
    if (sig == SIGKILL) s += "; often the OOM killer";
    return s + ")";
  }
  if (code < 0) return c + " (unknown: the process's exit status was not observed)";
  return c + " (training process exited with code " + c + ")";
}

std::string to_string(FailureClass c) {
  switch (c) {
    case FailureClass::Success: return "Success";
    case FailureClass::Permanent: return "Permanent";
    case FailureClass::Retryable: return "Retryable";
    case FailureClass::Disruption: return "Disruption";
  }
  return "?";
}

FailureClass classify_exit(int code, RestartPolicy policy) {
  if (code == 0) return FailureClass::Success;
  if (is_stop_exit(code)) return FailureClass::Disruption;
  switch (policy) {
    case RestartPolicy::Never:
      return FailureClass::Permanent;
    case RestartPolicy::OnFailure:
      return code == to_int(ExitCode::ConfigError) ? FailureClass::Permanent : FailureClass::Retryable;
    case RestartPolicy::ExitCode:
      if (code < 0 || code >= to_int(ExitCode::SignalBase)) return FailureClass::Retryable;
      if (code == to_int(ExitCode::RendezvousTimeout) || code == to_int(ExitCode::CollectiveTimeout) ||
          code == to_int(ExitCode::Stalled))
        return FailureClass::Retryable;
      return FailureClass::Permanent;
  }
  return FailureClass::Permanent;
}

}  // namespace accel::api

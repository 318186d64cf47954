#include "failure.h"

#include <c10/util/Exception.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "accel/api/exit_codes.h"
#include "accel/checkpoint_write_error.h"
#include "accel/config/config_error.h"
#include "accel/preempted.h"
#include "process_group.h"

namespace accel {

Failure classify_failure(std::exception_ptr error) {
  using api::ExitCode;
  auto code = [](ExitCode c) { return static_cast<int>(c); };
  if (!error) return {code(ExitCode::TrainingError), "training failed", ""};
  try {
    std::rethrow_exception(error);
  } catch (const Preempted& e) {
    return {code(ExitCode::Preempted), "preempted", e.what()};
  } catch (const ConfigError& e) {
    return {code(ExitCode::ConfigError), "configuration error", e.what()};
  } catch (const CheckpointWriteError& e) {
    return {code(ExitCode::CheckpointWriteFailed), "checkpoint not written", e.what()};
  } catch (const RendezvousTimeout& e) {
    return {code(ExitCode::RendezvousTimeout), "rendezvous timeout", e.what()};
  } catch (const CollectiveTimeout& e) {
    return {code(ExitCode::CollectiveTimeout), "collective failed", e.what()};
  } catch (const c10::DistError& e) {
    // what_without_backtrace: c10's what() appends a C++ stack trace to the message.
    return {code(ExitCode::CollectiveTimeout), "collective failed", e.what_without_backtrace()};
  } catch (const c10::Error& e) {
    const std::string m = e.what_without_backtrace();
    if (is_collective_timeout(e))
      return {code(ExitCode::CollectiveTimeout), "collective failed", m};
    return {code(ExitCode::TrainingError), "training failed", m};
  } catch (const std::exception& e) {
    if (is_collective_timeout(e))
      return {code(ExitCode::CollectiveTimeout), "collective failed", e.what()};
    return {code(ExitCode::TrainingError), "training failed", e.what()};
  } catch (...) {
    return {code(ExitCode::TrainingError), "training failed",
            "an exception that is not a std::exception"};
  }
}

namespace {

int g_rank = 0;
std::terminate_handler g_previous = nullptr;

[[noreturn]] void on_terminate() {
  if (auto e = std::current_exception()) {
    const Failure f = classify_failure(e);
    std::fprintf(stderr, "[accel] rank %d: %s, uncaught: %s\n", g_rank, f.kind.c_str(),
                 f.message.c_str());
    if (f.exit_code == static_cast<int>(api::ExitCode::CollectiveTimeout) ||
        f.exit_code == static_cast<int>(api::ExitCode::Preempted)) {
      std::fprintf(stderr, "[accel] rank %d: exiting with code %d\n", g_rank, f.exit_code);
      std::fflush(stderr);
      std::_Exit(f.exit_code);
    }
    std::fflush(stderr);
  }
  if (g_previous) g_previous();
  std::abort();
}

}  // namespace

void install_terminate_handler(int rank) {
  static std::once_flag once;
  g_rank = rank;
  std::call_once(once, [] { g_previous = std::set_terminate(on_terminate); });
}

}  // namespace accel

// accel/preempted.h — the exception Accelerator::step() throws once a stop signal's checkpoint
// is written (operator/controller/DISRUPTIONS.md). Let it propagate: run_main, or without it
// libaccel's terminate handler, ends the process with exit code 82 (Preempted).
#pragma once

#include <stdexcept>

namespace accel {

struct Preempted : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace accel

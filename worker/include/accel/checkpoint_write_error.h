// accel/checkpoint_write_error.h — the exception Accelerator::save_state() (and a periodic
// checkpoint in step()) throws when a checkpoint cannot be written: the disk is full, a quota
// or file size limit is reached, the folder is not writable. Every rank throws it (the ranks
// vote, so none waits for a peer that gave up); the partial save is removed and the previous
// checkpoint stays the newest. run_main ends the process with exit code 84
// (CheckpointWriteFailed, api/EXIT_CODES.md).
#pragma once

#include <stdexcept>

namespace accel {

struct CheckpointWriteError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace accel

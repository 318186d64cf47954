// eventually.h — waiting, with a bound, for something a test started to happen.
#pragma once

#include <chrono>
#include <exception>
#include <thread>

namespace accel::testing {

// Polls `pred` every `every` until it returns true or `timeout` passes (a bound, not an
// assertion on speed); returns its last result. An exception counts as "not yet" (e.g. the
// apiserver restarting), except on the last try, where it propagates.
template <typename Pred>
bool eventually(Pred&& pred, std::chrono::milliseconds timeout = std::chrono::seconds(60),
                std::chrono::milliseconds every = std::chrono::milliseconds(100)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (pred()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(every);
  }
  return pred();
}

}  // namespace accel::testing

#pragma once
// Cooperative cancellation: long computations poll a stop hook and throw Interrupted.
#include <functional>
#include <stdexcept>

namespace qbopt {

// Thrown by a computation whose stop hook asked it to stop; it returns no partial result.
class Interrupted : public std::runtime_error {
 public:
  Interrupted() : std::runtime_error("interrupted") {}
};

// Returns true to stop. simulate, the loss and its gradient, noise ensembles, the Wigner
// function, the spectrum and the optimizer poll it at least every few milliseconds of work.
// Noise ensembles, the Wigner function and the gradient's two-thread backward pass poll it
// from several threads at once: it must be thread-safe.
using StopHook = std::function<bool()>;

// Throws Interrupted when the hook asks to stop.
inline void poll(const StopHook& should_stop) {
  if (should_stop && should_stop()) throw Interrupted();
}

// Collisions between two polls at N levels. One collision touches ~(N+2)^2 numbers, so this
// keeps the work between polls at ~4M numbers (a few ms) for every N, while a poll costs a
// few ns: cheap in the hot loops.
inline long poll_interval(int N) {
  const long per_collision = static_cast<long>(N + 2) * (N + 2);
  const long interval = (1L << 22) / per_collision;
  return interval < 1 ? 1 : interval;
}

}  // namespace qbopt

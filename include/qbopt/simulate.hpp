#pragma once
// Propagation of the battery state through a schedule, with the recorded trajectory.
#include <functional>
#include <qbopt/interrupt.hpp>
#include <qbopt/model.hpp>
#include <qbopt/schedule.hpp>
#include <vector>

namespace qbopt {

// Observables at one collision index k (k = number of collisions done).
struct Sample {
  long k;
  double energy, ergotropy, purity, leakage;
};

struct Trajectory {
  std::vector<double> energy;   // E_0 .. E_n, at every collision
  std::vector<Sample> samples;  // at the requested (log-spaced) k
  State final_state;
};

struct SimulateOptions {
  int samples = 50;  // number of log-spaced sample points (>= 2 when n >= 2); 0 = none
  // Called every few thousand collisions with (k, n); return false to stop early (the
  // trajectory then ends at the last collision done).
  std::function<bool(long, long)> progress;
  // Polled every poll_interval(N) collisions; when it returns true simulate throws
  // Interrupted (unlike `progress`, which returns the partial trajectory).
  StopHook should_stop;

  void validate() const;
};

// Up to `count` distinct integers k in [1, n], log-spaced, containing 1 and n when count >= 2
// ({n} when count = 1; fewer than `count` where rounding makes neighbours coincide).
std::vector<long> log_spaced(long n, int count);

// Runs the schedule from |0><0| (or from `initial`) and records the trajectory.
Trajectory simulate(const CollisionModel& model, const Schedule& schedule,
                    const SimulateOptions& options = {});
Trajectory simulate(const CollisionModel& model, const Schedule& schedule, const State& initial,
                    const SimulateOptions& options);

// Applies the schedule's collisions k0+1..k1 to `state` in place, using `tmp` as scratch;
// the building block of simulate() and of checkpointed gradients. Pass the same `cursor`
// to consecutive calls to find the batches in O(1) (without it each call scans from batch 1).
void propagate(const CollisionModel& model, const Schedule& schedule, long k0, long k1,
               State& state, State& tmp, std::vector<double>* energies = nullptr,
               ScheduleCursor* cursor = nullptr);

}  // namespace qbopt

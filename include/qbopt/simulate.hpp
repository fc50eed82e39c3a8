#pragma once
// Propagation of the battery state through a schedule, with the recorded trajectory.
#include <functional>
#include <qbopt/interrupt.hpp>
#include <qbopt/model.hpp>
#include <qbopt/schedule.hpp>
#include <string>
#include <vector>

namespace qbopt {

// Observables at one collision index k (k = number of collisions done).
struct Sample {
  long k;
  double energy, ergotropy, purity, leakage;
};

// The full state after k collisions (kept at SimulateOptions::states_at).
struct Snapshot {
  long k;
  State state;
};

struct Trajectory {
  std::vector<double> energy;    // E_0 .. E_n, at every collision
  std::vector<Sample> samples;   // at the requested k (sample_points)
  std::vector<Snapshot> states;  // at SimulateOptions::states_at, in increasing k
  State final_state;
};

// How `samples` sample points are spread over the collisions 0..n.
enum class Spacing { log, linear };
// "log" or "linear"; throws std::invalid_argument "WHAT 'TEXT' must be log or linear".
Spacing spacing_from_name(const std::string& text, const std::string& what);
std::string to_string(Spacing s);

struct SimulateOptions {
  int samples = 50;  // number of sample points (>= 2 when n >= 2); 0 = none
  Spacing spacing = Spacing::log;
  // Explicit sample points k (any order, repeats ignored, each in [0, n]); when not empty
  // they replace `samples` and `spacing`. k = 0 is the initial state.
  std::vector<long> at;
  // Collision counts k at which the full state is kept in Trajectory::states (any order,
  // repeats ignored, each in [0, n]); each costs State::bytes(N).
  std::vector<long> states_at;
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
// Up to `count` distinct integers k = round(i n / (count - 1)), i = 0 .. count - 1: evenly
// spaced from 0 (the initial state) to n ({n} when count = 1; all of 0..n when count > n).
std::vector<long> linear_spaced(long n, int count);
// `ks` sorted, without repeats; throws std::invalid_argument "WHAT K: ..." naming the first
// entry outside [0, n] (k counts the collisions of the schedule, 0 = its initial state).
std::vector<long> collision_indices(std::vector<long> ks, long n, const std::string& what);
// The k at which simulate() records a Sample: options.at (checked, sorted), else `samples`
// points of options.spacing.
std::vector<long> sample_points(long n, const SimulateOptions& options);

// Runs the schedule from |0><0| (or from `initial`) and records the trajectory. Throws
// std::invalid_argument before the first collision when options.at or options.states_at
// has an entry outside [0, n].
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

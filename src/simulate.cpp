#include <algorithm>
#include <cmath>
#include <qbopt/observables.hpp>
#include <qbopt/simulate.hpp>
#include <stdexcept>

namespace qbopt {

void SimulateOptions::validate() const {
  if (samples < 0)
    throw std::invalid_argument("samples must be >= 0, got " + std::to_string(samples));
}

Spacing spacing_from_name(const std::string& text, const std::string& what) {
  if (text == "log") return Spacing::log;
  if (text == "linear") return Spacing::linear;
  throw std::invalid_argument(what + " '" + text + "' must be log or linear");
}

std::string to_string(Spacing s) { return s == Spacing::log ? "log" : "linear"; }

std::vector<long> log_spaced(long n, int count) {
  std::vector<long> ks;
  if (n < 1 || count <= 0) return ks;
  if (count == 1) return {n};
  const double ln = std::log(static_cast<double>(n));
  for (int i = 0; i < count; ++i) {
    long k = std::lround(std::exp(ln * i / (count - 1)));
    k = std::clamp(k, 1L, n);
    if (ks.empty() || k > ks.back()) ks.push_back(k);
  }
  if (ks.back() != n) ks.push_back(n);
  return ks;
}

std::vector<long> linear_spaced(long n, int count) {
  std::vector<long> ks;
  if (n < 1 || count <= 0) return ks;
  if (count == 1) return {n};
  // count - 1 >= n intervals: every k is hit (and the loop stays O(n), not O(count)).
  if (count - 1 >= n) {
    for (long k = 0; k <= n; ++k) ks.push_back(k);
    return ks;
  }
  for (int i = 0; i < count; ++i) {
    const long k = std::lround(static_cast<double>(n) * i / (count - 1));
    if (ks.empty() || k > ks.back()) ks.push_back(k);
  }
  return ks;
}

std::vector<long> collision_indices(std::vector<long> ks, long n, const std::string& what) {
  for (const long k : ks)
    if (k < 0 || k > n)
      throw std::invalid_argument(what + " " + std::to_string(k) + ": " +
                                  (k < 0 ? "a collision count cannot be negative"
                                         : "beyond the schedule's " + std::to_string(n) +
                                               " collisions") +
                                  " (k counts collisions, 0 .. " + std::to_string(n) + ")");
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return ks;
}

std::vector<long> sample_points(long n, const SimulateOptions& options) {
  if (!options.at.empty()) return collision_indices(options.at, n, "at");
  return options.spacing == Spacing::log ? log_spaced(n, options.samples)
                                         : linear_spaced(n, options.samples);
}

void propagate(const CollisionModel& model, const Schedule& schedule, long k0, long k1,
               State& state, State& tmp, std::vector<double>* energies,
               ScheduleCursor* cursor) {
  ScheduleCursor local(schedule);
  ScheduleCursor& at = cursor ? *cursor : local;
  for (long k = k0; k < k1;) {
    at.seek(k);
    const Qubit& qb = at.batch().qubit;
    for (const long end = std::min(k1, at.batch_end()); k < end; ++k) {
      model.apply(qb, state, tmp);
      std::swap(state, tmp);
      if (energies) energies->push_back(energy(state));
    }
  }
}

Trajectory simulate(const CollisionModel& model, const Schedule& schedule,
                    const SimulateOptions& options) {
  return simulate(model, schedule, State(model.dim()), options);
}

Trajectory simulate(const CollisionModel& model, const Schedule& schedule, const State& initial,
                    const SimulateOptions& options) {
  schedule.validate(model.spec());
  options.validate();
  if (initial.dim() != model.dim())
    throw std::invalid_argument("initial state dimension does not match the model's N");
  const long n = schedule.collisions();
  const std::vector<long> ks = sample_points(n, options);
  const std::vector<long> keep = collision_indices(options.states_at, n, "states_at");
  Trajectory tr;
  tr.energy.reserve(static_cast<std::size_t>(n) + 1);
  tr.states.reserve(keep.size());
  tr.final_state = initial;
  State tmp = State::zeros(model.dim());
  tr.energy.push_back(energy(tr.final_state));
  // What is recorded at k (the samples and states due there), before moving on.
  std::size_t next = 0, next_state = 0;
  auto record = [&](long k) {
    const State& s = tr.final_state;
    if (next < ks.size() && ks[next] == k) {
      tr.samples.push_back({k, energy(s), ergotropy(s), purity(s), leakage(s)});
      ++next;
    }
    if (next_state < keep.size() && keep[next_state] == k) {
      tr.states.push_back({k, s});
      ++next_state;
    }
  };
  record(0);
  // Chunks end at every sample or kept state and at least every poll_interval(N) (<= 4096)
  // collisions, where the progress and stop hooks are polled.
  const long chunk = std::min(4096L, poll_interval(model.dim()));
  ScheduleCursor cursor(schedule);
  long k = 0;
  while (k < n) {
    poll(options.should_stop);
    long stop = std::min(n, k + chunk);
    if (next < ks.size()) stop = std::min(stop, ks[next]);
    if (next_state < keep.size()) stop = std::min(stop, keep[next_state]);
    propagate(model, schedule, k, stop, tr.final_state, tmp, &tr.energy, &cursor);
    k = stop;
    record(k);
    if (options.progress && !options.progress(k, n)) {
      // Interrupted: keep what is done, ending the samples at the last collision reached.
      const State& s = tr.final_state;
      if (tr.samples.empty() || tr.samples.back().k != k)
        tr.samples.push_back({k, energy(s), ergotropy(s), purity(s), leakage(s)});
      break;
    }
  }
  return tr;
}

}  // namespace qbopt

#pragma once
// Robustness to noise in the qubit preparation (paper Sec. 3.1 and 3.2, last paragraphs).
#include <cstdint>
#include <memory>
#include <qbopt/interrupt.hpp>
#include <qbopt/model.hpp>
#include <qbopt/schedule.hpp>
#include <vector>

namespace qbopt {

struct NoiseSettings {
  double sigma = 0.01;     // standard deviation of the Gaussian noise on each c and q
  int trajectories = 16;   // ensemble size
  std::uint64_t seed = 1;  // trajectory j draws from a generator seeded by (seed, j)
  int samples = 50;        // log-spaced sample points of each trajectory
  StopHook should_stop;    // polled by every trajectory (from several threads); throws Interrupted
  // The state every trajectory starts from (continuation); null: |0><0|.
  std::shared_ptr<const State> initial;

  void validate() const;  // throws std::invalid_argument naming the field
};

// Mean and spread over the ensemble at each sample point k.
struct NoiseEnsemble {
  std::vector<long> k;
  std::vector<double> ergotropy_mean, ergotropy_std;
  std::vector<double> purity_mean, purity_std;
  std::vector<double> energy_mean, energy_std;
};

// The schedule with every qubit's (c, q) drawn independently from a Gaussian around its batch's
// values, clipped to [0, 1].
Schedule perturbed(const Schedule& schedule, double sigma, std::uint64_t seed,
                   std::uint64_t stream);

// Runs `trajectories` noisy realizations of the schedule (in parallel) and summarizes them.
NoiseEnsemble noise_ensemble(const CollisionModel& model, const Schedule& schedule,
                             const NoiseSettings& settings);

}  // namespace qbopt

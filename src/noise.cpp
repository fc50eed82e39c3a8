#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>
#include <qbopt/noise.hpp>
#include <qbopt/simulate.hpp>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

namespace qbopt {

void NoiseSettings::validate() const {
  if (!std::isfinite(sigma) || sigma < 0)
    throw std::invalid_argument("sigma must be a finite number >= 0, got " + std::to_string(sigma));
  if (trajectories < 1)
    throw std::invalid_argument("trajectories must be >= 1, got " + std::to_string(trajectories));
  if (samples < 2)
    throw std::invalid_argument("samples must be >= 2, got " + std::to_string(samples));
}

Schedule perturbed(const Schedule& schedule, double sigma, std::uint64_t seed,
                   std::uint64_t stream) {
  std::seed_seq seq{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                    static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(stream >> 32)};
  std::mt19937_64 rng(seq);
  std::normal_distribution<double> noise(0.0, sigma);
  std::vector<Qubit> qubits;
  qubits.reserve(static_cast<std::size_t>(schedule.collisions()));
  for (const auto& b : schedule.batches())
    for (long j = 0; j < b.count; ++j) {
      const double c = b.qubit.c + noise(rng);
      const double q = b.qubit.q + noise(rng);
      Qubit x = b.qubit;  // keeps the batch's further controls (its own g)
      x.c = std::clamp(c, 0.0, 1.0);
      x.q = std::clamp(q, 0.0, 1.0);
      qubits.push_back(x);
    }
  return Schedule::per_collision(qubits);
}

NoiseEnsemble noise_ensemble(const CollisionModel& model, const Schedule& schedule,
                             const NoiseSettings& settings) {
  settings.validate();
  schedule.validate(model.spec());
  const int T = settings.trajectories;
  std::vector<std::vector<Sample>> runs(T);
  SimulateOptions opt;
  opt.samples = settings.samples;
  // An exception may not leave an OpenMP region: keep the first one and rethrow it after;
  // once one is kept the other trajectories stop at their next poll.
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  opt.should_stop = [&] {
    return failed.load(std::memory_order_relaxed) ||
           (settings.should_stop && settings.should_stop());
  };
#pragma omp parallel for schedule(dynamic)
  for (int j = 0; j < T; ++j) {
    if (failed.load(std::memory_order_relaxed)) continue;
    try {
      const Schedule s =
          perturbed(schedule, settings.sigma, settings.seed, static_cast<std::uint64_t>(j));
      runs[j] = (settings.initial ? simulate(model, s, *settings.initial, opt)
                                  : simulate(model, s, opt)).samples;
    } catch (...) {
#pragma omp critical(qbopt_noise_error)
      if (!error) error = std::current_exception();
      failed.store(true, std::memory_order_relaxed);
    }
  }
  if (error) std::rethrow_exception(error);
  NoiseEnsemble e;
  const std::size_t K = runs[0].size();
  // Two passes (mean, then spread about it): sqrt(<x^2> - <x>^2) would lose half the digits
  // and give a spread of ~1e-8 |x| for identical trajectories (sigma = 0).
  auto mean_and_std = [&](std::size_t i, double Sample::*field) {
    double m = 0, v = 0;
    for (int j = 0; j < T; ++j) m += runs[j][i].*field;
    m /= T;
    for (int j = 0; j < T; ++j) v += (runs[j][i].*field - m) * (runs[j][i].*field - m);
    return std::pair{m, std::sqrt(v / T)};
  };
  for (std::size_t i = 0; i < K; ++i) {
    e.k.push_back(runs[0][i].k);
    const auto [wm, ws] = mean_and_std(i, &Sample::ergotropy);
    const auto [pm, ps] = mean_and_std(i, &Sample::purity);
    const auto [em, es] = mean_and_std(i, &Sample::energy);
    e.ergotropy_mean.push_back(wm);
    e.ergotropy_std.push_back(ws);
    e.purity_mean.push_back(pm);
    e.purity_std.push_back(ps);
    e.energy_mean.push_back(em);
    e.energy_std.push_back(es);
  }
  return e;
}

}  // namespace qbopt

// Noise ensembles (include/qbopt/noise.hpp): the noise model of the spec ("robustness to noise
// in (c, q)", /work/shared/PHYSICS.md section 6; docs: every qubit's c and q drawn independently
// from a Gaussian of standard deviation sigma around its batch's values, clipped to [0, 1]),
// sigma = 0, reproducibility and the ensemble statistics against the trajectories themselves.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <qbopt/qbopt.hpp>
#include <vector>

#include "dense_reference.hpp"

using namespace qbopt;
using qbopt_test::report;
using qbopt_test::worst_of;

namespace {

// The ensemble statistics and the test's own two-pass statistics of the same trajectories
// differ only by the rounding of sums of 16 terms O(10) (~1e-14; measured 0): 1e-12 is a margin
// that still catches a one-pass spread sqrt(<x^2> - <x>^2), off by up to eps <x>^2 / std.
constexpr double kStatTol = 1e-12;
// Statistical checks on n = 40000 independent draws use 5 standard errors: the seeds are fixed,
// so each check is deterministic; 5 standard errors still catch a wrong sigma (10 % off is
// ~28 standard errors of the sample spread) or a missing clip.
constexpr double kSigmas = 5.0;

std::vector<Qubit> expand(const Schedule& s) {
  std::vector<Qubit> v;
  for (const auto& b : s.batches())
    for (long j = 0; j < b.count; ++j) v.push_back(b.qubit);
  return v;
}

const Micromaser& model() {
  static const Micromaser m(std::numbers::pi / 4, 40);
  return m;
}

Schedule two_batches() { return Schedule({{{0.4, 0.2}, 30, false}, {{0.7, 0.5}, 20, false}}); }

}  // namespace

// sigma = 0: every drawn qubit is its batch's qubit, and a one-trajectory ensemble is the
// deterministic run to the last bit.
TEST(Noise, SigmaZeroReproducesTheDeterministicRun) {
  const Schedule s = two_batches();
  const auto same = expand(s);
  const auto drawn = expand(perturbed(s, 0.0, 7, 3));
  ASSERT_EQ(drawn.size(), same.size());
  for (std::size_t i = 0; i < same.size(); ++i) {
    EXPECT_EQ(drawn[i].c, same[i].c) << "qubit " << i;
    EXPECT_EQ(drawn[i].q, same[i].q) << "qubit " << i;
  }
  SimulateOptions opt;
  opt.samples = 20;
  const Trajectory det = simulate(model(), s, opt);
  for (int T : {1, 5}) {
    NoiseSettings ns;
    ns.sigma = 0;
    ns.trajectories = T;
    ns.samples = opt.samples;
    const NoiseEnsemble e = noise_ensemble(model(), s, ns);
    ASSERT_EQ(e.k.size(), det.samples.size());
    double worst_mean = 0, worst_std = 0;
    for (std::size_t i = 0; i < e.k.size(); ++i) {
      EXPECT_EQ(e.k[i], det.samples[i].k);
      if (T == 1) {  // no sum to round: exact
        EXPECT_EQ(e.energy_mean[i], det.samples[i].energy);
        EXPECT_EQ(e.ergotropy_mean[i], det.samples[i].ergotropy);
        EXPECT_EQ(e.purity_mean[i], det.samples[i].purity);
      }
      worst_mean = worst_of(worst_mean, std::abs(e.energy_mean[i] - det.samples[i].energy));
      worst_mean = worst_of(worst_mean, std::abs(e.ergotropy_mean[i] - det.samples[i].ergotropy));
      worst_mean = worst_of(worst_mean, std::abs(e.purity_mean[i] - det.samples[i].purity));
      for (double sd : {e.energy_std[i], e.ergotropy_std[i], e.purity_std[i]})
        worst_std = worst_of(worst_std, sd);
    }
    report("sigma = 0, T = " + std::to_string(T) + ": max |mean - deterministic|", worst_mean);
    report("sigma = 0, T = " + std::to_string(T) + ": max spread", worst_std);
    // Identical trajectories: the mean of T equal numbers is that number up to the rounding of
    // the sum (a few ulps of values <= 40), the spread is 0 up to that rounding.
    EXPECT_LT(worst_mean, 1e-13);
    EXPECT_LT(worst_std, 1e-13);
  }
}

// The same seed gives the same ensemble bit for bit (also across OpenMP schedules: trajectory
// j draws from its own generator); another seed gives another one.
TEST(Noise, FixedSeedReproducesAndOtherSeedsDiffer) {
  NoiseSettings ns;
  ns.sigma = 0.05;
  ns.trajectories = 8;
  ns.samples = 10;
  ns.seed = 42;
  const NoiseEnsemble a = noise_ensemble(model(), two_batches(), ns);
  const NoiseEnsemble b = noise_ensemble(model(), two_batches(), ns);
  EXPECT_EQ(a.energy_mean, b.energy_mean);
  EXPECT_EQ(a.energy_std, b.energy_std);
  EXPECT_EQ(a.ergotropy_mean, b.ergotropy_mean);
  EXPECT_EQ(a.ergotropy_std, b.ergotropy_std);
  EXPECT_EQ(a.purity_mean, b.purity_mean);
  EXPECT_EQ(a.purity_std, b.purity_std);
  ns.seed = 43;
  const NoiseEnsemble c = noise_ensemble(model(), two_batches(), ns);
  const double diff = std::abs(c.energy_mean.back() - a.energy_mean.back());
  report("|E_mean(seed 43) - E_mean(seed 42)| at the last sample", diff);
  // Not a tolerance: with sigma = 0.05 the two means differ by ~1e-2; 1e-6 only asks that they
  // are not the same draws.
  EXPECT_GT(diff, 1e-6);
  // Streams of one seed differ too (trajectory j draws from (seed, j)).
  const auto s0 = expand(perturbed(two_batches(), 0.05, 42, 0));
  const auto s1 = expand(perturbed(two_batches(), 0.05, 42, 1));
  EXPECT_NE(s0.front().c, s1.front().c);
}

// The ensemble's mean and spread (population standard deviation, 1/T) at each sample point are
// those of the T trajectories run one by one with perturbed(schedule, sigma, seed, j).
TEST(Noise, MeanAndSpreadAreThoseOfTheTrajectories) {
  NoiseSettings ns;
  ns.sigma = 0.08;
  ns.trajectories = 16;
  ns.samples = 12;
  ns.seed = 5;
  const Schedule s = two_batches();
  const NoiseEnsemble e = noise_ensemble(model(), s, ns);
  SimulateOptions opt;
  opt.samples = ns.samples;
  std::vector<std::vector<Sample>> runs;
  for (int j = 0; j < ns.trajectories; ++j)
    runs.push_back(simulate(model(), perturbed(s, ns.sigma, ns.seed, j), opt).samples);
  const int T = ns.trajectories;
  double worst = 0, largest_spread = 0;
  for (std::size_t i = 0; i < e.k.size(); ++i) {
    ASSERT_EQ(e.k[i], runs[0][i].k);
    auto check = [&](auto field, double mean, double sd) {
      double m = 0, v = 0;
      for (const auto& r : runs) m += r[i].*field;
      m /= T;
      for (const auto& r : runs) v += (r[i].*field - m) * (r[i].*field - m);
      const double ref_sd = std::sqrt(v / T);
      worst = worst_of(worst, std::abs(mean - m));
      worst = worst_of(worst, std::abs(sd - ref_sd));
      largest_spread = std::max(largest_spread, ref_sd);
    };
    check(&Sample::energy, e.energy_mean[i], e.energy_std[i]);
    check(&Sample::ergotropy, e.ergotropy_mean[i], e.ergotropy_std[i]);
    check(&Sample::purity, e.purity_mean[i], e.purity_std[i]);
  }
  report("max |ensemble stat - two-pass stat of the trajectories|", worst);
  report("largest spread", largest_spread);
  EXPECT_LT(worst, kStatTol);
  // Not a tolerance: the trajectories must really differ (spread ~0.1 here).
  EXPECT_GT(largest_spread, 1e-3);
}

// The drawn controls: independent Gaussians N(c, sigma^2), N(q, sigma^2) per qubit, clipped to
// [0, 1], the batch's further controls (its own g) kept.
TEST(Noise, SampledControlsAreClippedIndependentGaussians) {
  const long n = 40000;
  const double sigma = 0.05;
  Qubit interior{0.5, 0.3};
  interior.set_control(2, 0.77);  // a batch's own g: not perturbed
  const auto d = expand(perturbed(Schedule({{interior, n, false}}), sigma, 11, 0));
  ASSERT_EQ(static_cast<long>(d.size()), n);
  double mc = 0, mq = 0;
  for (const auto& x : d) mc += x.c, mq += x.q;
  mc /= n, mq /= n;
  double vc = 0, vq = 0, cov = 0, lag = 0;
  long within = 0;
  for (long i = 0; i < n; ++i) {
    vc += (d[i].c - mc) * (d[i].c - mc);
    vq += (d[i].q - mq) * (d[i].q - mq);
    cov += (d[i].c - mc) * (d[i].q - mq);
    if (i > 0) lag += (d[i].c - mc) * (d[i - 1].c - mc);
    if (std::abs(d[i].c - interior.c) < sigma) ++within;
    EXPECT_EQ(d[i].control(2), 0.77);
    EXPECT_TRUE(d[i].carries(2));
  }
  const double sc = std::sqrt(vc / n), sq = std::sqrt(vq / n);
  const double corr = cov / std::sqrt(vc * vq), autocorr = lag / vc;
  const double frac1 = double(within) / n;
  report("mean c - 0.5", mc - 0.5);
  report("mean q - 0.3", mq - 0.3);
  report("std c / sigma", sc / sigma);
  report("std q / sigma", sq / sigma);
  report("corr(c, q)", corr);
  report("lag-1 autocorrelation of c", autocorr);
  report("fraction of c within 1 sigma", frac1);
  const double se_mean = sigma / std::sqrt(double(n));      // standard error of a mean
  const double se_sd = sigma / std::sqrt(2.0 * double(n));  // of a Gaussian sample's spread
  const double se_corr = 1 / std::sqrt(double(n));          // of a correlation, true value 0
  EXPECT_NEAR(mc, interior.c, kSigmas * se_mean);
  EXPECT_NEAR(mq, interior.q, kSigmas * se_mean);
  EXPECT_NEAR(sc, sigma, kSigmas * se_sd);
  EXPECT_NEAR(sq, sigma, kSigmas * se_sd);
  EXPECT_NEAR(corr, 0.0, kSigmas * se_corr);
  EXPECT_NEAR(autocorr, 0.0, kSigmas * se_corr);
  // Gaussian shape: P(|z| < 1) = erf(1/sqrt 2) = 0.6827 (a uniform of the same spread: 0.577).
  const double p1 = std::erf(1 / std::sqrt(2.0));
  EXPECT_NEAR(frac1, p1, kSigmas * std::sqrt(p1 * (1 - p1) / n));

  // Near the edges: clipped, not reflected or redrawn. c = 0.02 and q = 0.99: the clipped
  // fractions are Phi(-0.02/sigma) = Phi(-0.4) and Phi(-0.01/sigma) = Phi(-0.2).
  const auto e = expand(perturbed(Schedule({{{0.02, 0.99}, n, false}}), sigma, 12, 0));
  long c_zero = 0, q_one = 0;
  for (const auto& x : e) {
    EXPECT_GE(x.c, 0.0);
    EXPECT_LE(x.c, 1.0);
    EXPECT_GE(x.q, 0.0);
    EXPECT_LE(x.q, 1.0);
    c_zero += x.c == 0.0;
    q_one += x.q == 1.0;
  }
  auto Phi = [](double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); };
  const double pc = Phi(-0.02 / sigma), pq = Phi(-0.01 / sigma);
  report("fraction of c clipped to 0", double(c_zero) / n);
  report("fraction of q clipped to 1", double(q_one) / n);
  EXPECT_NEAR(double(c_zero) / n, pc, kSigmas * std::sqrt(pc * (1 - pc) / n));
  EXPECT_NEAR(double(q_one) / n, pq, kSigmas * std::sqrt(pq * (1 - pq) / n));
}

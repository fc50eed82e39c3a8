// Figures of merit (docs/physics.md section 5), log_spaced and the sampled trajectory.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <qbopt/qbopt.hpp>
#include <random>
#include <string>
#include <vector>

#include "dense_reference.hpp"

using namespace qbopt;
using qbopt_test::report;
using qbopt_test::worst_of;

namespace {

// Eigen-decompositions of N <= 24 matrices of unit trace: eigenvalues to ~N eps, weighted by
// levels up to N in W: ~N^2 eps ~ 1e-13.
constexpr double kEigTol = 1e-12;
// Sums of N products of O(1) numbers (E, P, Tr): a few ulps per term.
constexpr double kSumTol = 1e-13;

}  // namespace

// E, P, Tr, populations, leakage against direct dense formulas on a random state.
TEST(Observables, BasicQuantitiesMatchDenseFormulas) {
  std::mt19937 rng(8);
  const int N = 18;
  double worst = 0;
  for (int trial = 0; trial < 10; ++trial) {
    const Eigen::MatrixXd r = qbopt_test::random_density(N, N, 1 + trial, rng);
    const State s = State::from_matrix(r);
    const Eigen::MatrixXcd rho = s.density_matrix();
    worst = worst_of(worst, std::abs(energy(s) - qbopt_test::dense_energy(rho)));
    worst = worst_of(worst, std::abs(purity(s) - qbopt_test::dense_purity(rho)));
    worst = worst_of(worst, std::abs(purity(s) - r.squaredNorm()));
    worst = worst_of(worst, std::abs(trace(s) - r.trace()));
    worst = worst_of(worst, std::abs(leakage(s) - (1 - r.trace())));
    const std::vector<double> p = populations(s);
    ASSERT_EQ(static_cast<int>(p.size()), N);
    for (int n = 0; n < N; ++n) worst = worst_of(worst, std::abs(p[n] - r(n, n)));
  }
  report("max error of E, P, Tr, leakage, populations", worst);
  EXPECT_LT(worst, kSumTol);
}

// A pure state (rank one) has no passive energy: W = E.
TEST(Ergotropy, PureStateEqualsEnergy) {
  std::mt19937 rng(2);
  std::normal_distribution<double> gauss;
  double worst = 0;
  for (int N : {2, 5, 12, 24}) {
    for (int trial = 0; trial < 5; ++trial) {
      Eigen::VectorXd v(N);
      for (int i = 0; i < N; ++i) v(i) = gauss(rng);
      v.normalize();
      const State s = State::from_matrix(v * v.transpose());
      worst = worst_of(worst, std::abs(ergotropy(s) - energy(s)));
      worst = worst_of(worst, std::abs(ergotropy_with_gradient(s).value - energy(s)));
    }
    // Number states take the diagonal path.
    Eigen::MatrixXd fock = Eigen::MatrixXd::Zero(N, N);
    fock(N - 1, N - 1) = 1;
    const State f = State::from_matrix(fock);
    EXPECT_TRUE(f.diagonal());
    worst = worst_of(worst, std::abs(ergotropy(f) - (N - 1)));
  }
  report("max |W - E| for pure states", worst);
  EXPECT_LT(worst, kEigTol);
}

// A passive state (diagonal, populations non-increasing with level) has W = 0, on the
// diagonal fast path and on the eigen-decomposition path; a non-passive diagonal state has
// the W of its sorted populations.
TEST(Ergotropy, PassiveStateIsZeroAndSortingIsRight) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double worst = 0;
  for (int N : {2, 7, 20}) {
    std::vector<double> p(N);
    for (double& x : p) x = u(rng);
    std::sort(p.begin(), p.end(), std::greater<>());
    const double s = std::accumulate(p.begin(), p.end(), 0.0);
    Eigen::MatrixXd r = Eigen::MatrixXd::Zero(N, N);
    for (int n = 0; n < N; ++n) r(n, n) = p[n] / s;
    State diag = State::from_matrix(r);
    ASSERT_TRUE(diag.diagonal());
    worst = worst_of(worst, std::abs(ergotropy(diag)));
    worst = worst_of(worst, std::abs(ergotropy_with_gradient(diag).value));
    State dense = diag;
    dense.set_diagonal(false);  // force the eigen-decomposition path
    worst = worst_of(worst, std::abs(ergotropy(dense)));
    worst = worst_of(worst, std::abs(ergotropy_with_gradient(dense).value));
  }
  report("max |W| of passive states", worst);
  EXPECT_LT(worst, kEigTol);

  // p = (0.1, 0.2, 0.7): E = 1.6, passive energy 0*0.7 + 1*0.2 + 2*0.1 = 0.4, W = 1.2.
  Eigen::MatrixXd r = Eigen::MatrixXd::Zero(3, 3);
  r.diagonal() << 0.1, 0.2, 0.7;
  State a = State::from_matrix(r);
  EXPECT_NEAR(ergotropy(a), 1.2, kSumTol);
  a.set_diagonal(false);
  EXPECT_NEAR(ergotropy(a), 1.2, kEigTol);
}

// W depends only on the eigenvalues and the diagonal: invariant under any diagonal phase
// rotation D r D^dag. Checked against eigenvalues of the dense complex matrix, for the
// library's rho = (-i)^(m-n) r_mn and for random phases.
TEST(Ergotropy, InvariantUnderDiagonalPhaseRotation) {
  std::mt19937 rng(17);
  std::uniform_real_distribution<double> angle(0.0, 2 * std::acos(-1.0));
  double worst = 0, worst_rho = 0;
  for (int trial = 0; trial < 12; ++trial) {
    const int N = 4 + 2 * trial;
    const Eigen::MatrixXd r = qbopt_test::random_density(N, N, 1 + trial % 5, rng);
    const State s = State::from_matrix(r);
    const double W = ergotropy(s);
    // The library's own rho, against D = diag((-i)^m) built here.
    std::vector<double> quarter(N);
    for (int m = 0; m < N; ++m) quarter[m] = -std::acos(-1.0) / 2 * m;
    const Eigen::MatrixXcd rho = qbopt_test::phase_rotate(r.cast<std::complex<double>>(), quarter);
    worst_rho = worst_of(worst_rho, qbopt_test::max_abs_diff(s.density_matrix(), rho));
    worst = worst_of(worst, std::abs(W - qbopt_test::dense_ergotropy(rho)));
    worst = worst_of(worst, std::abs(W - qbopt_test::dense_ergotropy(s.density_matrix())));
    // Random phases.
    std::vector<double> phi(N);
    for (double& x : phi) x = angle(rng);
    worst = worst_of(worst, std::abs(W - qbopt_test::dense_ergotropy(qbopt_test::phase_rotate(
                                             r.cast<std::complex<double>>(), phi))));
    worst = worst_of(worst, std::abs(W - ergotropy_with_gradient(s).value));
  }
  report("max |W - W_dense(D r D^dag)|", worst);
  report("max |density_matrix() - diag((-i)^m) r diag(i^m)|", worst_rho);
  EXPECT_LT(worst, kEigTol);
  EXPECT_LT(worst_rho, kSumTol);
}

// log_spaced(n, K): starts at 1, ends at n, strictly increasing, at most K entries.
TEST(LogSpaced, ContainsEndsStrictlyIncreasingAtMostK) {
  for (long n :
       {1L, 2L, 3L, 7L, 10L, 99L, 100L, 1000L, 12345L, 100000L, 1000000000L, 123456789012L})
    for (int K : {2, 3, 5, 10, 50, 200, 1000}) {
      const std::vector<long> ks = log_spaced(n, K);
      SCOPED_TRACE("n = " + std::to_string(n) + ", K = " + std::to_string(K));
      ASSERT_FALSE(ks.empty());
      EXPECT_EQ(ks.front(), 1);
      EXPECT_EQ(ks.back(), n);
      EXPECT_LE(static_cast<long>(ks.size()), K);
      for (std::size_t i = 1; i < ks.size(); ++i) EXPECT_LT(ks[i - 1], ks[i]);
    }
  EXPECT_TRUE(log_spaced(0, 5).empty());
  EXPECT_TRUE(log_spaced(10, 0).empty());
}

// simulate() samples at log_spaced(n, K) and its samples agree with the per-collision energy
// and with the observables of the final state.
TEST(Simulate, SamplesFollowLogSpacedAndTheFinalState) {
  const int N = 40;
  const Micromaser model(0.795, N);
  const Schedule sched({{{0.3, 0.15}, 17, false}, {{0.5, 0.2}, 20, false}});
  SimulateOptions opt;
  opt.samples = 9;
  const Trajectory tr = simulate(model, sched, opt);
  const std::vector<long> ks = log_spaced(37, 9);
  ASSERT_EQ(tr.samples.size(), ks.size());
  ASSERT_EQ(tr.energy.size(), 38u);
  EXPECT_EQ(tr.energy.front(), 0.0);
  for (std::size_t i = 0; i < ks.size(); ++i) {
    EXPECT_EQ(tr.samples[i].k, ks[i]);
    EXPECT_NEAR(tr.samples[i].energy, tr.energy[ks[i]], kSumTol);
  }
  const Sample& last = tr.samples.back();
  EXPECT_NEAR(last.energy, energy(tr.final_state), kSumTol);
  EXPECT_NEAR(last.ergotropy, ergotropy(tr.final_state), kSumTol);
  EXPECT_NEAR(last.purity, purity(tr.final_state), kSumTol);
  EXPECT_NEAR(last.leakage, leakage(tr.final_state), kSumTol);
}

// --initial reads rho back into the real symmetric form: the round trip is exact to rounding,
// and a rho that no collision model can make (wrong phases, not Hermitian) is refused.
TEST(State, FromDensityMatrixRoundTripAndChecks) {
  std::mt19937 rng(21);
  const int N = 12;
  const State r = State::from_matrix(qbopt_test::random_density(N, 8, 3, rng));
  const State back = State::from_density_matrix(r.density_matrix().topLeftCorner(8, 8), N);
  const double err = (back.matrix() - r.matrix()).cwiseAbs().maxCoeff();
  qbopt_test::report("density matrix round trip, max |diff|", err);
  EXPECT_LT(err, 1e-15);
  Eigen::MatrixXcd rho = r.density_matrix();
  rho(1, 0) *= std::complex<double>(0, 1);  // a phase a collision model cannot produce
  rho(0, 1) = std::conj(rho(1, 0));
  EXPECT_THROW(State::from_density_matrix(rho, N), std::invalid_argument);
  Eigen::MatrixXcd skew = r.density_matrix();
  skew(2, 0) += 0.1;  // not Hermitian
  EXPECT_THROW(State::from_density_matrix(skew, N), std::invalid_argument);
  EXPECT_THROW(State::from_density_matrix(r.density_matrix(), N - 1), std::invalid_argument);
  // Trace 1 within kLeakageWarning: a state that leaked 2e-6 is refused, 5e-7 accepted.
  EXPECT_THROW(State::from_density_matrix((1 - 2e-6) * r.density_matrix(), N),
               std::invalid_argument);
  EXPECT_NO_THROW(State::from_density_matrix((1 - 5e-7) * r.density_matrix(), N));
  // Positive semidefinite: diag(1.5, -0.5) has trace 1 and passes every other check; a rank-3
  // state (8 - 3 zero eigenvalues, rounding around them) is accepted.
  Eigen::MatrixXcd negative = Eigen::MatrixXcd::Zero(2, 2);
  negative(0, 0) = 1.5;
  negative(1, 1) = -0.5;
  EXPECT_THROW(State::from_density_matrix(negative, N), std::invalid_argument);
  Eigen::MatrixXcd coherence = Eigen::MatrixXcd::Zero(2, 2);  // |rho_10| > sqrt(rho_00 rho_11)
  coherence(0, 0) = coherence(1, 1) = 0.5;
  coherence(1, 0) = {0, -0.6};
  coherence(0, 1) = {0, 0.6};
  EXPECT_THROW(State::from_density_matrix(coherence, N), std::invalid_argument);
  coherence(1, 0) = {0, -0.5};  // pure: on the boundary, a zero eigenvalue
  coherence(0, 1) = {0, 0.5};
  EXPECT_NO_THROW(State::from_density_matrix(coherence, N));
}

namespace {

// The first k collisions of `s` as a schedule of their own (empty for k = 0).
std::vector<Batch> first_collisions(const Schedule& s, long k) {
  std::vector<Batch> out;
  for (const Batch& b : s.batches()) {
    if (k <= 0) break;
    Batch part = b;
    part.count = std::min(b.count, k);
    k -= part.count;
    out.push_back(part);
  }
  return out;
}

// The state after the first k collisions of `s` from `initial`, by a run of its own.
State separate_run(const CollisionModel& model, const Schedule& s, const State& initial, long k) {
  if (k == 0) return initial;
  SimulateOptions o;
  o.samples = 0;
  return simulate(model, Schedule(first_collisions(s, k)), initial, o).final_state;
}

// A state kept along a run and the state of a separate run of k collisions went through the
// same collision maps in the same order: they agree to rounding, which is none (measured 0);
// 1e-13 would still allow a few hundred collisions' worth of ~1e-16 rounding if a change of
// chunking ever reordered arithmetic.
constexpr double kSameRunTol = 1e-13;

}  // namespace

// linear_spaced(n, K): from 0 to n, strictly increasing, at most K entries, gaps that differ by
// at most 1; every k once K exceeds n.
TEST(LinearSpaced, EndsEvenGapsAtMostK) {
  for (long n : {1L, 2L, 3L, 7L, 10L, 99L, 100L, 1000L, 12345L, 100000000L})
    for (int K : {2, 3, 5, 10, 50, 200, 1000}) {
      const std::vector<long> ks = linear_spaced(n, K);
      SCOPED_TRACE("n = " + std::to_string(n) + ", K = " + std::to_string(K));
      ASSERT_FALSE(ks.empty());
      EXPECT_EQ(ks.front(), 0);
      EXPECT_EQ(ks.back(), n);
      EXPECT_LE(static_cast<long>(ks.size()), K);
      if (K - 1 >= n) {
        EXPECT_EQ(static_cast<long>(ks.size()), n + 1);
      }
      long lo = n, hi = 0;
      for (std::size_t i = 1; i < ks.size(); ++i) {
        EXPECT_LT(ks[i - 1], ks[i]);
        lo = std::min(lo, ks[i] - ks[i - 1]);
        hi = std::max(hi, ks[i] - ks[i - 1]);
      }
      EXPECT_LE(hi - lo, 1);
    }
  EXPECT_EQ(linear_spaced(100, 11), (std::vector<long>{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}));
  EXPECT_EQ(linear_spaced(10, 1), std::vector<long>{10});
  EXPECT_TRUE(linear_spaced(0, 5).empty());
  EXPECT_TRUE(linear_spaced(10, 0).empty());
}

// collision_indices sorts, drops repeats and names the first k outside [0, n].
TEST(CollisionIndices, SortsDeduplicatesAndNamesBadEntries) {
  EXPECT_EQ(collision_indices({7, 0, 3, 7, 5}, 7, "at"), (std::vector<long>{0, 3, 5, 7}));
  EXPECT_TRUE(collision_indices({}, 7, "at").empty());
  auto message = [](std::vector<long> ks, const std::string& what) {
    try {
      collision_indices(std::move(ks), 5, what);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  EXPECT_EQ(message({2, 10}, "--states-at"),
            "--states-at 10: beyond the schedule's 5 collisions (k counts collisions, 0 .. 5)");
  EXPECT_EQ(message({-1}, "at"),
            "at -1: a collision count cannot be negative (k counts collisions, 0 .. 5)");
  EXPECT_EQ(spacing_from_name("linear", "--sampling"), Spacing::linear);
  EXPECT_THROW(spacing_from_name("lin", "--sampling"), std::invalid_argument);
}

// states_at keeps the states after k collisions in one run: each equals a separate run of
// k collisions, on the micromaser and the lossy cavity, from |0><0| and from a given state.
TEST(Simulate, StatesAtEqualSeparateRuns) {
  const int N = 40;
  const Micromaser lossless(0.795, N);
  const LossyMicromaser lossy(0.795, N, 0.01, 0.1, Arrivals::poisson);
  const Schedule sched({{{0.3, 0.15}, 17, false}, {{0.5, 0.2}, 20, false}});
  SimulateOptions first;
  first.samples = 0;
  const State start = simulate(lossless, Schedule({{{0.4, 0.1}, 9, false}}), first).final_state;
  SimulateOptions opt;
  opt.samples = 5;
  opt.states_at = {25, 0, 5, 17, 37, 5};  // any order, repeats dropped
  const std::vector<long> want = {0, 5, 17, 25, 37};
  double worst = 0;
  for (const CollisionModel* model : {static_cast<const CollisionModel*>(&lossless),
                                      static_cast<const CollisionModel*>(&lossy)})
    for (const State& initial : {State(N), start}) {
      const Trajectory tr = simulate(*model, sched, initial, opt);
      ASSERT_EQ(tr.states.size(), want.size());
      for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(tr.states[i].k, want[i]);
        const State alone = separate_run(*model, sched, initial, want[i]);
        worst = worst_of(worst, (tr.states[i].state.matrix() - alone.matrix()).cwiseAbs().maxCoeff());
        worst = worst_of(worst, std::abs(energy(tr.states[i].state) - tr.energy[want[i]]));
      }
      // Keeping states does not change the run: the same final state as without them.
      SimulateOptions plain = opt;
      plain.states_at.clear();
      const State final_plain = simulate(*model, sched, initial, plain).final_state;
      worst = worst_of(worst, (tr.final_state.matrix() - final_plain.matrix()).cwiseAbs().maxCoeff());
    }
  report("kept states vs separate runs, max |diff|", worst);
  EXPECT_LE(worst, kSameRunTol);
  opt.states_at = {38};
  EXPECT_THROW(simulate(lossless, sched, opt), std::invalid_argument);
  opt.states_at = {-1};
  EXPECT_THROW(simulate(lossless, sched, opt), std::invalid_argument);
}

// Linear and explicit sampling record samples at exactly the requested k, with the energies of
// separate runs of k collisions.
TEST(Simulate, LinearAndExplicitSamplingHitRequestedK) {
  const int N = 40;
  const Micromaser model(0.795, N);
  const Schedule sched({{{0.3, 0.15}, 17, false}, {{0.5, 0.2}, 20, false}});
  SimulateOptions linear;
  linear.samples = 7;
  linear.spacing = Spacing::linear;
  SimulateOptions exact;
  exact.samples = 7;  // ignored: `at` replaces it
  exact.at = {37, 3, 0, 3, 20, 1};
  double worst = 0;
  for (const auto& [opt, want] :
       {std::pair{linear, linear_spaced(37, 7)}, std::pair{exact, std::vector<long>{0, 1, 3, 20, 37}}}) {
    EXPECT_EQ(sample_points(37, opt), want);
    const Trajectory tr = simulate(model, sched, opt);
    ASSERT_EQ(tr.samples.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(tr.samples[i].k, want[i]);
      const State alone = separate_run(model, sched, State(N), want[i]);
      worst = worst_of(worst, std::abs(tr.samples[i].energy - energy(alone)));
      worst = worst_of(worst, std::abs(tr.samples[i].ergotropy - ergotropy(alone)));
      worst = worst_of(worst, std::abs(tr.samples[i].purity - purity(alone)));
    }
  }
  EXPECT_EQ(linear_spaced(37, 7), (std::vector<long>{0, 6, 12, 19, 25, 31, 37}));
  report("sampled E, W, P vs separate runs, max |diff|", worst);
  EXPECT_LE(worst, kSameRunTol);
  exact.at = {0, 38};
  EXPECT_THROW(simulate(model, sched, exact), std::invalid_argument);
}

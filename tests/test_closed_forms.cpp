// Fine-tuned couplings g = Q pi / sqrt(m), Eq. (7): the exact results of docs/physics.md section 2.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <qbopt/qbopt.hpp>
#include <random>
#include <string>
#include <vector>

#include "dense_reference.hpp"

using namespace qbopt;
using qbopt_test::max_abs;
using qbopt_test::report;
using qbopt_test::worst_of;

namespace {

constexpr double kPi = std::numbers::pi;

// Converged fixed points after 10^4-10^5 collisions: rounding of O(N) terms per collision,
// accumulated (random-walk) over the run, stays well below this.
constexpr double kSteadyTol = 1e-10;
// Convergence: two states 10^4 collisions apart must agree to this (the residual decays
// exponentially; anything above means the run was too short for the comparison).
constexpr double kConvergedTol = 1e-12;
// Trapping: S_m = sin(pi) is ~1e-16 in floating point, so what reaches level >= m is second
// order in it (~1e-32 per collision); 1e-14 leaves room for accumulation without hiding a
// real leak (a real one is O(sin^2) ~ 1e-2).
constexpr double kTrappedTol = 1e-14;

std::string tag(int m) { return " (m=" + std::to_string(m) + ")"; }

// The ratio of Eq. (8) for c = 1: p_n / p_{n-1} = (1-q)/q cot^2(pi sqrt(n) / (2 sqrt(m))).
std::vector<double> eq8_populations(int m, double q) {
  std::vector<double> p(m, 0.0);
  p[0] = 1;
  for (int n = 1; n < m; ++n) {
    const double cot = 1.0 / std::tan(kPi * std::sqrt(n) / (2 * std::sqrt(m)));
    p[n] = p[n - 1] * (1 - q) / q * cot * cot;
  }
  double s = 0;
  for (double x : p) s += x;
  for (double& x : p) x /= s;
  return p;
}

// Runs `count` collisions of one qubit kind from `s` in place.
void run(const Micromaser& model, const Qubit& qb, long count, State& s) {
  State tmp = State::zeros(model.dim());
  propagate(model, Schedule({{qb, count, false}}), 0, count, s, tmp);
}

class FineTuned : public ::testing::TestWithParam<int> {};

}  // namespace

// c = 0, q = 0: excited qubits climb the ladder until S_m = sin(pi) = 0 stops them at m-1:
// the number state |m-1><m-1|, W = E = m - 1, P = 1.
TEST_P(FineTuned, ExcitedQubitsEndInNumberState) {
  const int m = GetParam();
  const int N = m + 6;
  const Micromaser model(kPi / std::sqrt(m), N);
  State s(N);
  // The slowest step m-2 -> m-1 has probability sin^2(pi sqrt((m-1)/m)) >= 4e-3 (m <= 25):
  // 20000 collisions leave exp(-80) behind it.
  run(model, {0.0, 0.0}, 20000, s);
  Eigen::MatrixXd expect = Eigen::MatrixXd::Zero(N, N);
  expect(m - 1, m - 1) = 1;
  const double err_state = max_abs(s.matrix() - expect);
  const double err_E = std::abs(energy(s) - (m - 1));
  const double err_W = std::abs(ergotropy(s) - (m - 1));
  const double err_P = std::abs(purity(s) - 1);
  report("max |r - |m-1><m-1||" + tag(m), err_state);
  report("|E - (m-1)|" + tag(m), err_E);
  report("|W - (m-1)|" + tag(m), err_W);
  report("|P - 1|" + tag(m), err_P);
  EXPECT_LT(err_state, kSteadyTol);
  EXPECT_LT(err_E, kSteadyTol);
  EXPECT_LT(err_W, kSteadyTol);
  EXPECT_LT(err_P, kSteadyTol);
}

// c = 0, small q: the steady state is ~ |m-1> with weight ~q on m-2, P ~ 1 - 2q.
TEST_P(FineTuned, IncoherentSmallQPurity) {
  const int m = GetParam();
  const int N = m + 6;
  const double q = 1e-3;
  // "P ~ 1 - 2q" is a first-order statement: the tolerance is a small multiple of the
  // neglected O(q^2) = 1e-6 (the exact geometric steady state happens to give
  // 1 - 2q + O((q/(1-q))^m), but the spec only promises first order).
  const double kFirstOrderTol = 2 * q * q;
  const Micromaser model(kPi / std::sqrt(m), N);
  State s(N);
  run(model, {0.0, q}, 40000, s);
  const double P1 = purity(s);
  run(model, {0.0, q}, 10000, s);
  const double P2 = purity(s);
  const double err = std::abs(P2 - (1 - 2 * q));
  report("convergence |P(50000) - P(40000)|" + tag(m), std::abs(P2 - P1));
  report("|P - (1 - 2q)|, q = 1e-3" + tag(m), err);
  EXPECT_LT(std::abs(P2 - P1), kConvergedTol);
  EXPECT_LT(err, kFirstOrderTol);
  EXPECT_TRUE(s.diagonal());
}

// c = 1: the steady state is pure with the populations of Eq. (8).
TEST_P(FineTuned, CoherentSteadyStateFollowsEq8) {
  const int m = GetParam();
  const int N = m + 4;
  const Micromaser model(kPi / std::sqrt(m), N);
  for (double q : {0.3, 0.5, 0.7}) {
    State s(N);
    run(model, {1.0, q}, 30000, s);
    const Eigen::MatrixXd r1 = s.matrix();
    run(model, {1.0, q}, 10000, s);
    const double conv = max_abs(s.matrix() - r1);
    const std::vector<double> expect = eq8_populations(m, q);
    const std::vector<double> p = populations(s);
    double err = 0;
    for (int n = 0; n < N; ++n) err = worst_of(err, std::abs(p[n] - (n < m ? expect[n] : 0.0)));
    const double err_P = std::abs(purity(s) - 1);
    const std::string t =
        " (m=" + std::to_string(m) + ", q=" + std::to_string(q).substr(0, 3) + ")";
    report("convergence max |r(40000) - r(30000)|" + t, conv);
    report("max |p_n - Eq. (8)|" + t, err);
    report("|P - 1|" + t, err_P);
    EXPECT_LT(conv, kConvergedTol);
    EXPECT_LT(err, kSteadyTol);
    EXPECT_LT(err_P, kSteadyTol);
  }
}

// Trapping: starting from |0> in chamber Q = 1, nothing ever reaches level >= m, for any
// (c, q), while the dynamics below m is non-trivial.
TEST_P(FineTuned, TrappingBelowLevelM) {
  const int m = GetParam();
  const int N = m + 8;
  const Micromaser model(kPi / std::sqrt(m), N);
  std::mt19937 rng(1000 + m);
  std::uniform_real_distribution<double> u(0.02, 0.98);
  double worst_pop = 0, worst_elem = 0, max_below = 0;
  for (int trial = 0; trial < 4; ++trial) {
    const Qubit qb{trial == 0 ? 0.0 : u(rng), u(rng)};
    State s(N);
    for (int chunk = 0; chunk < 10; ++chunk) {
      run(model, qb, 500, s);
      for (int n = m; n < N; ++n) {
        worst_pop = worst_of(worst_pop, std::abs(s(n, n)));
        for (int k = 0; k < N; ++k) worst_elem = worst_of(worst_elem, std::abs(s(n, k)));
      }
      max_below = worst_of(max_below, s(m - 1, m - 1));
    }
  }
  report("max population at levels >= m over 4 x 5000 collisions" + tag(m), worst_pop);
  report("max |r_nk| with n >= m (not asserted)" + tag(m), worst_elem);
  EXPECT_LT(worst_pop, kTrappedTol);
  // Not a tolerance: the chamber must be explored up to its top, or the test is vacuous.
  constexpr double kMustReachTop = 1e-3;
  EXPECT_GT(max_below, kMustReachTop) << "level m-1 should be populated: the test would be vacuous";
}

INSTANTIATE_TEST_SUITE_P(Levels, FineTuned, ::testing::Values(4, 9, 16, 25),
                         [](const ::testing::TestParamInfo<int>& info) {
                           std::string name = "m";
                           name += std::to_string(info.param);
                           return name;
                         });

// The paper's headline number: g = pi/4 traps at m = 16 and stores W = 15.
TEST(FineTunedPaper, PiOverFourStoresFifteen) {
  const int N = 30;
  const Micromaser model(kPi / 4, N);
  State s(N);
  run(model, {0.0, 0.0}, 20000, s);
  report("|W - 15| at g = pi/4", std::abs(ergotropy(s) - 15));
  EXPECT_NEAR(ergotropy(s), 15.0, kSteadyTol);
  EXPECT_NEAR(energy(s), 15.0, kSteadyTol);
}

// Reverse-mode gradient: adjoint identity, central finite differences, checkpointing.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <qbopt/gradient.hpp>
#include <qbopt/qbopt.hpp>
#include <random>

#include "dense_reference.hpp"

using namespace qbopt;

namespace {

// Frobenius product of two full symmetric matrices, from dense copies (independent of
// qbopt::inner).
double dense_inner(const State& a, const State& b) {
  return (a.matrix().array() * b.matrix().array()).sum();
}

using qbopt_test::random_symmetric;

// Sums of O(N^2) terms of order 1 in double precision: 1e-12 leaves room for rounding.
constexpr double kAdjointTol = 1e-12;

}  // namespace

TEST(Adjoint, TransposeIdentityOnRandomMatrices) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int trial = 0; trial < 20; ++trial) {
    const int N = 6 + trial;
    Micromaser model(0.3 + 1.5 * u(rng), N);
    const Qubit qb{u(rng), u(rng)};
    State r = State::from_matrix(random_symmetric(N, rng));
    State lam = State::from_matrix(random_symmetric(N, rng));
    State phi_r = State::zeros(N), phiT_lam = State::zeros(N);
    model.apply(qb, r, phi_r);
    model.apply_transpose(qb, lam, phiT_lam, N - 1);
    const double lhs = dense_inner(lam, phi_r), rhs = dense_inner(phiT_lam, r);
    const double err = std::abs(lhs - rhs) / std::max(1.0, std::abs(lhs));
    std::cout << "N " << N << " <L,Phi(r)> " << lhs << " <Phi^T(L),r> " << rhs << " rel err " << err
              << "\n";
    EXPECT_LT(err, kAdjointTol);
  }
}

// Single collision: the derivatives of <Lambda, Phi(r)> from pullback() against central
// differences of the forward map (smooth, so a 4-point stencil is accurate to ~1e-10).
TEST(Adjoint, PullbackParameterDerivatives) {
  std::mt19937 rng(11);
  const int N = 14;
  State r = State::from_matrix(random_symmetric(N, rng));
  State lam = State::from_matrix(random_symmetric(N, rng));
  const Qubit qb{0.37, 0.21};
  const double g = 0.81;
  auto f = [&](Qubit q, double gg) {
    Micromaser m(gg, N);
    State o = State::zeros(N);
    m.apply(q, r, o);
    return dense_inner(lam, o);
  };
  const double h = 1e-4;
  auto d4 = [&](auto fn) { return (8 * (fn(h) - fn(-h)) - (fn(2 * h) - fn(-2 * h))) / (12 * h); };
  State out = State::zeros(N);
  struct {
    double c = 0, q = 0, g = 0;
  } pg;
  double d[kMaxControls] = {};
  Micromaser(g, N).pullback(qb, r, lam, out, PullbackRequest{0b111, false}, d, nullptr);
  pg.c = d[0], pg.q = d[1], pg.g = d[2];
  const double fc = d4([&](double e) { return f({qb.c + e, qb.q}, g); });
  const double fq = d4([&](double e) { return f({qb.c, qb.q + e}, g); });
  const double fg = d4([&](double e) { return f(qb, g + e); });
  std::cout << "dc " << pg.c << " vs " << fc << ", dq " << pg.q << " vs " << fq << ", dg " << pg.g
            << " vs " << fg << "\n";
  constexpr double kTol = 1e-8;  // stencil truncation ~h^4 and rounding ~1e-16/h on O(10) values
  EXPECT_NEAR(pg.c, fc, kTol * std::max(1.0, std::abs(fc)));
  EXPECT_NEAR(pg.q, fq, kTol * std::max(1.0, std::abs(fq)));
  EXPECT_NEAR(pg.g, fg, kTol * std::max(1.0, std::abs(fg)));
}

namespace {

struct Case {
  const char* loss;
  bool free_g;
};

// Full loss gradient vs a 4-point central difference of the loss, for each free parameter.
void check_gradient(const Schedule& s, double g, int N, const FigureOfMerit& merit, bool with_g,
                    std::size_t budget) {
  GradientOptions go;
  go.parameters = with_g;
  go.memory_budget = budget;
  const LossEvaluation le = evaluate_loss(Micromaser(g, N), s, merit, go);
  GradientOptions vo;
  vo.gradient = false;
  auto value = [&](const Schedule& sc, double gg) {
    return evaluate_loss(Micromaser(gg, N), sc, merit, vo).merit.value;
  };
  const double h = 1e-5;
  std::vector<double> adj, fd;
  for (std::size_t b = 0; b < s.batches().size(); ++b)
    for (int which = 0; which < 2; ++which) {
      auto at = [&](double e) {
        Schedule t = s;
        Qubit& qb = t.batches()[b].qubit;
        (which ? qb.q : qb.c) += e;
        return value(t, g);
      };
      fd.push_back((8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h));
      adj.push_back(le.batches[b][which]);
    }
  if (with_g) {
    auto at = [&](double e) { return value(s, g + e); };
    fd.push_back((8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h));
    adj.push_back(le.parameters[0]);
  }
  double scale = 0, err = 0;
  for (std::size_t i = 0; i < fd.size(); ++i) scale = std::max(scale, std::abs(fd[i]));
  for (std::size_t i = 0; i < fd.size(); ++i) {
    err = std::max(err, std::abs(adj[i] - fd[i]) / scale);
    std::cout << "  d" << i << ": adjoint " << adj[i] << " fd " << fd[i] << "\n";
  }
  std::cout << merit.name() << (with_g ? " +g" : "") << (le.checkpointed ? " (checkpointed)" : "")
            << ": max relative error " << err << "\n";
  // The target: relative 1e-6 (against the largest component; the FD reference itself
  // is good to ~1e-9 here: truncation O(h^4), rounding ~1e-16 |L| / h).
  EXPECT_LT(err, 1e-6);
}

}  // namespace

TEST(LossGradient, MatchesFiniteDifferencesOnRandomSchedules) {
  std::mt19937 rng(2024);
  std::uniform_real_distribution<double> u(0.05, 0.95);
  std::uniform_int_distribution<int> cnt(15, 60);
  const Case cases[] = {
      {"eq11", false}, {"eq11", true}, {"ergotropy", false}, {"energy", true}, {"power", false}};
  for (const Case& c : cases) {
    std::vector<Batch> b;
    for (int i = 0; i < 3; ++i) b.push_back({{u(rng), u(rng)}, cnt(rng), false});
    Schedule s(b);
    auto merit = make_figure_of_merit(c.loss, {3.0, 0.3});
    check_gradient(s, 0.6 + u(rng), 60, *merit, c.free_g, std::size_t(256) << 20);
  }
}

TEST(LossGradient, IncoherentBatchThenCoherent) {
  // A c = 0 batch keeps the state diagonal, so the adjoint runs on its banded path there.
  // c = 0 is on the bound: dL/dc comes from a one-sided 5-point stencil (error O(h^4)).
  Schedule s({{{0.0, 0.1}, 40, false}, {{0.45, 0.2}, 50, false}});
  auto merit = make_figure_of_merit("eq11", {10.0, 0.1});
  const int N = 60;
  const double g = 0.7954;
  GradientOptions go;
  go.parameters = true;
  const LossEvaluation le = evaluate_loss(Micromaser(g, N), s, *merit, go);
  GradientOptions vo;
  vo.gradient = false;
  auto at = [&](int b, int which, double e, double dg) {
    Schedule t = s;
    Qubit& qb = t.batches()[b].qubit;
    (which ? qb.q : qb.c) += e;
    return evaluate_loss(Micromaser(g + dg, N), t, *merit, vo).merit.value;
  };
  const double h = 1e-4;
  auto central = [&](auto f) { return (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h); };
  const double fd_c0 = (-25 * at(0, 0, 0, 0) + 48 * at(0, 0, h, 0) - 36 * at(0, 0, 2 * h, 0) +
                        16 * at(0, 0, 3 * h, 0) - 3 * at(0, 0, 4 * h, 0)) /
                       (12 * h);
  const double fd[] = {fd_c0, central([&](double e) { return at(0, 1, e, 0); }),
                       central([&](double e) { return at(1, 0, e, 0); }),
                       central([&](double e) { return at(1, 1, e, 0); }),
                       central([&](double e) { return at(0, 0, 0, e); })};
  const double adj[] = {le.batches[0][0], le.batches[0][1], le.batches[1][0], le.batches[1][1],
                       le.parameters[0]};
  double scale = 0;
  for (double x : fd) scale = std::max(scale, std::abs(x));
  for (int i = 0; i < 5; ++i) {
    const double err = std::abs(adj[i] - fd[i]) / scale;
    std::cout << "  d" << i << ": adjoint " << adj[i] << " fd " << fd[i] << " rel " << err << "\n";
    // The one-sided stencil with h = 1e-4 is good to ~1e-8 relative; the issue asks 1e-6.
    EXPECT_LT(err, 1e-6);
  }
}

TEST(LossGradient, CheckpointingGivesTheSameGradient) {
  Schedule s({{{0.3, 0.15}, 200, false}, {{0.4, 0.17}, 150, false}});
  auto merit = make_figure_of_merit("eq11", {1.0, 0.2});
  GradientOptions all, chk;
  all.parameters = chk.parameters = true;
  all.checkpoint_every = 1;  // every state stored, nothing recomputed
  chk.memory_budget = 1;     // forces sqrt(n)-long segments, recomputed from checkpoints
  Micromaser m(0.7954, 50);
  const LossEvaluation a = evaluate_loss(m, s, *merit, all), b = evaluate_loss(m, s, *merit, chk);
  ASSERT_FALSE(a.checkpointed);
  ASSERT_TRUE(b.checkpointed);
  // Recomputed segments repeat the same floating-point operations: identical up to rounding.
  constexpr double kTol = 1e-13;
  EXPECT_NEAR(a.merit.value, b.merit.value, kTol);
  EXPECT_NEAR(a.parameters[0], b.parameters[0], kTol * std::abs(a.parameters[0]));
  for (std::size_t i = 0; i < a.batches.size(); ++i) {
    for (int j = 0; j < 2; ++j)
      EXPECT_NEAR(a.batches[i][j], b.batches[i][j], kTol * std::max(1.0, std::abs(a.batches[i][j])));
  }
}

TEST(LossGradient, FiniteAtTheBoundsOfQ) {
  // d kappa / dq diverges at q in {0, 1} for c > 0: the gradient must stay finite.
  auto merit = make_figure_of_merit("eq11", {1.0, 0.2});
  for (double q : {0.0, 1.0}) {
    Schedule s({{{0.5, q}, 100, false}, {{0.3, 0.2}, 100, false}});
    const LossEvaluation le = evaluate_loss(Micromaser(0.7954, 80), s, *merit);
    std::cout << "q = " << q << ": dL/dq " << le.batches[0][1] << " dL/dc " << le.batches[0][0]
              << "\n";
    EXPECT_TRUE(std::isfinite(le.batches[0][1]));
    EXPECT_TRUE(std::isfinite(le.batches[0][0]));
    EXPECT_TRUE(std::isfinite(le.merit.value));
  }
}

TEST(Loss, Eq11ValueByHand) {
  // One collision from |0> with c = 0, q = 0 and g = pi/2: the battery ends in |1> exactly,
  // so W = E = 1, cbar = 0, qbar = 0: L = -1*1*1/(1+1+1) + lambda |E_1 - E_0| = -1/3 + lambda.
  Micromaser m(M_PI / 2, 4);
  Schedule s({{{0.0, 0.0}, 1, false}});
  auto merit = make_figure_of_merit("eq11", {0.5, 1.0});
  const LossEvaluation le = evaluate_loss(m, s, *merit);
  EXPECT_NEAR(le.merit.ergotropy, 1.0, 1e-15);
  EXPECT_NEAR(le.merit.penalty, 0.5, 1e-15);
  EXPECT_NEAR(le.merit.value, -1.0 / 3 + 0.5, 1e-15);
  // The 0/0 case: c = q = 1 never charges (W = 0): the first term is 0, not NaN.
  Schedule z({{{1.0, 1.0}, 5, false}});
  const LossEvaluation lz = evaluate_loss(m, z, *merit);
  EXPECT_EQ(lz.merit.value, 0.0);
  EXPECT_TRUE(std::isfinite(lz.batches[0][0]) && std::isfinite(lz.batches[0][1]));
}

TEST(Loss, SettingsValidation) {
  EXPECT_THROW(make_figure_of_merit("eq11", {-1.0, 0.2}), std::invalid_argument);
  EXPECT_THROW(make_figure_of_merit("eq11", {1.0, 0.0}), std::invalid_argument);
  EXPECT_THROW(make_figure_of_merit("eq11", {1.0, 1.5}), std::invalid_argument);
  EXPECT_THROW(make_figure_of_merit("nope", {1.0, 0.2}), std::invalid_argument);
  // eta window: round(0.2 * 1000) = 200 collisions, at least one.
  EXPECT_EQ((LossSettings{1.0, 0.2}).window(1000), 200);
  EXPECT_EQ((LossSettings{1.0, 0.001}).window(10), 1);
}

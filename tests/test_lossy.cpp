// The lossy micromaser: gap maps against an independent dense Lindbladian, the pure-loss closed
// form, the textbook micromaser steady state, the adjoint identity, gradients against central
// differences, and kappa_tau = 0 against the lossless model.
#include <gtest/gtest.h>

#include <cmath>
#include <qbopt/qbopt.hpp>
#include <random>
#include <unsupported/Eigen/MatrixFunctions>

#include "dense_reference.hpp"

using namespace qbopt;
using qbopt_test::DenseMicromaser;
using qbopt_test::random_density;
using qbopt_test::random_symmetric;
using qbopt_test::report;
using qbopt_test::worst_of;

namespace {

// The Lindbladian L = kappa (n_th + 1) D[a] + kappa n_th D[a^dag] as a dense real N^2 x N^2
// superoperator on vec(rho) (column-major), with kappa = 1 (tau L = kappa_tau times this).
// Built from its definition on the truncated a, except that a a^dag keeps its full diagonal
// (m + 1) at level N-1: the absorbing boundary of docs/physics.md.
Eigen::MatrixXd dense_lindbladian(int N, double n_th) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(N, N), num = Eigen::MatrixXd::Zero(N, N),
                  num1 = Eigen::MatrixXd::Zero(N, N);
  for (int n = 1; n < N; ++n) a(n - 1, n) = std::sqrt(static_cast<double>(n));
  for (int n = 0; n < N; ++n) num(n, n) = n, num1(n, n) = n + 1;
  const Eigen::MatrixXd ad = a.transpose();
  Eigen::MatrixXd S(N * N, N * N);
  for (int j = 0; j < N; ++j)
    for (int i = 0; i < N; ++i) {
      Eigen::MatrixXd E = Eigen::MatrixXd::Zero(N, N);
      E(i, j) = 1;
      const Eigen::MatrixXd L = (n_th + 1) * (a * E * ad - 0.5 * (num * E + E * num)) +
                                n_th * (ad * E * a - 0.5 * (num1 * E + E * num1));
      S.col(i + j * N) = Eigen::Map<const Eigen::VectorXd>(L.data(), N * N);
    }
  return S;
}

// The dense gap map on a complex rho: exp(kappa_tau L) or (1 - kappa_tau L)^-1.
Eigen::MatrixXcd dense_gap(const Eigen::MatrixXcd& rho, double kappa_tau, double n_th,
                           Arrivals arrivals) {
  const int N = static_cast<int>(rho.rows());
  const Eigen::MatrixXd S = kappa_tau * dense_lindbladian(N, n_th);
  Eigen::MatrixXd G;
  if (arrivals == Arrivals::regular)
    G = S.exp();
  else
    G = (Eigen::MatrixXd::Identity(N * N, N * N) - S).inverse();
  const Eigen::MatrixXd re = rho.real(), im = rho.imag();
  const Eigen::VectorXd vr = G * Eigen::Map<const Eigen::VectorXd>(re.data(), N * N);
  const Eigen::VectorXd vi = G * Eigen::Map<const Eigen::VectorXd>(im.data(), N * N);
  Eigen::MatrixXcd out(N, N);
  for (int j = 0; j < N; ++j)
    for (int i = 0; i < N; ++i) out(i, j) = {vr[i + j * N], vi[i + j * N]};
  return out;
}

std::unique_ptr<CollisionModel> lossy(int N, double g, double kappa_tau, double n_th,
                                      Arrivals arrivals) {
  return std::make_unique<LossyMicromaser>(g, N, kappa_tau, n_th, arrivals);
}

// Rounding of O(N^2)-term sums of O(1) numbers; the dense expm/inverse adds ~1e-15 relative.
constexpr double kDenseTol = 1e-12;

}  // namespace

// g = 0 makes the collision the identity (C_n = 1, S_n = 0): the step is the gap map alone.
TEST(LossyGap, MatchesDenseLindbladianOnRandomStates) {
  std::mt19937 rng(3);
  double worst = 0;
  for (Arrivals arr : {Arrivals::regular, Arrivals::poisson})
    for (double n_th : {0.0, 0.4})
      for (double kt : {1e-3, 0.05, 0.7}) {  // 0.7 at N = 9: 3 Taylor sub-steps
        const int N = 9;
        const State r = State::from_matrix(random_density(N, N, 3, rng));
        State out = State::zeros(N);
        lossy(N, 0.0, kt, n_th, arr)->apply({0.3, 0.2}, r, out);
        const Eigen::MatrixXcd ref = dense_gap(r.density_matrix(), kt, n_th, arr);
        const double err = qbopt_test::max_abs_diff(out.density_matrix(), ref);
        worst = worst_of(worst, err);
      }
  report("gap map vs dense Lindbladian, max |diff|", worst);
  EXPECT_LT(worst, kDenseTol);
}

// A full step (collision then gap) against the dense 2N x 2N collision followed by the dense gap,
// over a run of steps with different qubits.
TEST(LossyStep, MatchesDenseCollisionThenGap) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double worst = 0;
  for (Arrivals arr : {Arrivals::regular, Arrivals::poisson}) {
    const int N = 10;
    const double g = 0.83, kt = 0.08, n_th = 0.2;
    const DenseMicromaser dense(g + 0.0, N + 6);  // room above N: the dense run never truncates
    auto model = lossy(N, g, kt, n_th, arr);
    State s(N), t = State::zeros(N);
    Eigen::MatrixXcd rho = Eigen::MatrixXcd::Zero(N, N);
    rho(0, 0) = 1;
    for (int k = 0; k < 6; ++k) {
      const Qubit qb{u(rng), u(rng)};
      model->apply(qb, s, t);
      std::swap(s, t);
      // Dense collision on N+6 levels (nothing reaches them in one step from level < N), cut
      // back to N levels: the part above N-1 is exactly what the fast kernel loses.
      Eigen::MatrixXcd big = Eigen::MatrixXcd::Zero(N + 6, N + 6);
      big.topLeftCorner(N, N) = rho;
      rho = dense.apply(big, qb.c, qb.q).topLeftCorner(N, N);
      rho = dense_gap(rho, kt, n_th, arr);
      worst = worst_of(worst, qbopt_test::max_abs_diff(s.density_matrix(), rho));
    }
  }
  report("lossy steps vs dense collision + gap, max |diff|", worst);
  EXPECT_LT(worst, kDenseTol);
}

// Pure loss over a regular gap, eta = exp(-kappa tau):
// rho'_mn = sum_k sqrt(C(m+k,k) C(n+k,k)) eta^((m+n)/2) (1-eta)^k rho_(m+k,n+k).
TEST(LossyGap, PureLossClosedForm) {
  std::mt19937 rng(9);
  const int N = 30;
  double worst = 0;
  for (double kt : {0.01, 0.3, 1.0}) {  // a = kt (N-1) up to 29: 15 sub-steps
    const Eigen::MatrixXd r = random_density(N, N, 4, rng);
    State out = State::zeros(N);
    lossy(N, 0.0, kt, 0.0, Arrivals::regular)->apply({0, 0}, State::from_matrix(r), out);
    const double eta = std::exp(-kt);
    auto binom = [](int n, int k) { return std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0)); };
    for (int m = 0; m < N; ++m)
      for (int n = 0; n < N; ++n) {
        double ref = 0;
        for (int k = 0; m + k < N && n + k < N; ++k)
          ref += std::sqrt(binom(m + k, k) * binom(n + k, k)) * std::pow(eta, 0.5 * (m + n)) *
                 std::pow(1 - eta, k) * r(m + k, n + k);
        worst = worst_of(worst, std::abs(out(m, n) - ref));
      }
  }
  report("pure loss vs closed form, max |diff|", worst);
  EXPECT_LT(worst, 1e-13);  // entries <= 1; the series and the reference both round at 1e-16
}

// Textbook micromaser (Filipowicz, Javanainen, Meystre): incoherent qubits (c = 0, excited with
// probability 1 - q) and Poisson arrivals. The fixed point of (1 - tau L)^-1 C obeys detailed
// balance: p_n / p_n-1 = [(1-q) S_n^2 + kappa_tau n_th n] / [q S_n^2 + kappa_tau (n_th+1) n].
TEST(LossySteadyState, TextbookMicromaserDistribution) {
  const int N = 80;
  const double g = 1.1, kt = 0.05, n_th = 0.5;
  double worst = 0;
  for (double q : {0.0, 0.3}) {
    auto model = lossy(N, g, kt, n_th, Arrivals::poisson);
    Schedule s({{{0.0, q}, 40000, false}});
    SimulateOptions opt;
    opt.samples = 2;
    const Trajectory tr = simulate(*model, s, opt);
    std::vector<double> p(N);
    p[0] = 1;
    for (int n = 1; n < N; ++n) {
      const double S2 = std::pow(std::sin(g * std::sqrt(n)), 2);
      p[n] = p[n - 1] * ((1 - q) * S2 + kt * n_th * n) / (q * S2 + kt * (n_th + 1) * n);
    }
    double z = 0;
    for (double x : p) z += x;
    const auto pop = populations(tr.final_state);
    double tr_r = 0;
    for (double x : pop) tr_r += x;
    for (int n = 0; n < N; ++n) worst = worst_of(worst, std::abs(pop[n] / tr_r - p[n] / z));
    report("leakage of the steady-state run (q = " + std::to_string(q) + ")", leakage(tr.final_state));
  }
  report("steady state vs detailed balance, max |diff|", worst);
  EXPECT_LT(worst, 1e-10);  // converged to rounding after 40000 steps (slowest rate ~ 1e-3)
}

TEST(LossyModel, ZeroDampingIsTheLosslessModel) {
  const int N = 60;
  Schedule s({{{0.4, 0.17}, 300, false}, {{0.0, 0.1}, 50, false}});
  SimulateOptions opt;
  const Trajectory a = simulate(Micromaser(0.79, N), s, opt);
  double worst = 0;
  for (Arrivals arr : {Arrivals::regular, Arrivals::poisson}) {
    const Trajectory b = simulate(*lossy(N, 0.79, 0.0, 0.3, arr), s, opt);
    worst = worst_of(worst, (a.final_state.matrix() - b.final_state.matrix()).cwiseAbs().maxCoeff());
  }
  report("kappa_tau = 0 vs lossless, max |diff|", worst);
  EXPECT_LE(worst, 1e-15);
}

TEST(LossyModel, TracePreservedAwayFromTheTruncation) {
  // Support far below N-1 and a short run: what leaves through the top is < 1e-30.
  const int N = 80;
  double worst = 0;
  for (Arrivals arr : {Arrivals::regular, Arrivals::poisson}) {
    State s(N), t = State::zeros(N);
    auto model = lossy(N, 0.79, 0.02, 0.3, arr);
    for (int k = 0; k < 10; ++k) {
      model->apply({0.4, 0.2}, s, t);
      std::swap(s, t);
    }
    worst = worst_of(worst, std::abs(trace(s) - 1));
  }
  report("|Tr r - 1| after 10 lossy steps", worst);
  EXPECT_LT(worst, 1e-14);
}

// <Lambda, Phi(r)> = <Phi^T(Lambda), r> for the whole step, from pullback().
TEST(LossyModel, AdjointIdentity) {
  std::mt19937 rng(17);
  double worst = 0;
  for (Arrivals arr : {Arrivals::regular, Arrivals::poisson})
    for (double n_th : {0.0, 0.3}) {
      const int N = 12;
      auto model = lossy(N, 0.9, 0.15, n_th, arr);
      const State r = State::from_matrix(random_symmetric(N, rng));
      const State lam = State::from_matrix(random_symmetric(N, rng));
      State phi = State::zeros(N), phiT = State::zeros(N);
      model->apply({0.4, 0.3}, r, phi);
      double d[kMaxControls] = {}, dp[4] = {};
      model->pullback({0.4, 0.3}, r, lam, phiT, {}, d, dp);
      const double lhs = inner(lam, phi), rhs = inner(phiT, r);
      worst = worst_of(worst, std::abs(lhs - rhs) / std::max(1.0, std::abs(lhs)));
    }
  report("adjoint identity, relative", worst);
  EXPECT_LT(worst, 1e-13);
}

// Every gradient of the loss through the lossy steps against 4-point central differences:
// the batch controls (c, q, and g of the batch that carries it) and the global g, kappa_tau and
// n_th.
TEST(LossyGradient, MatchesCentralDifferences) {
  auto merit = make_figure_of_merit("eq11", {2.0, 0.3});
  Schedule s({{{0.35, 0.2}, 30, false}, {{0.5, 0.15}, 25, false}});
  s.batches()[1].qubit.set_control(Micromaser::kControlG, 0.7);
  for (const char* arrivals : {"regular", "poisson"}) {
    ModelConfig cfg("lossy", 40);
    cfg.set("g", 0.85);
    cfg.set("kappa_tau", 0.03);
    cfg.set("n_th", 0.2);
    cfg.set_text("arrivals", arrivals);
    GradientOptions go;
    go.parameters = true;
    go.memory_budget = 1;  // checkpointed segments recomputed: the production path
    const LossEvaluation le = evaluate_loss(*cfg.make(), s, *merit, go);
    GradientOptions vo;
    vo.gradient = false;
    const double h = 1e-5;
    auto d4 = [&](auto f) { return (8 * (f(h) - f(-h)) - (f(2 * h) - f(-2 * h))) / (12 * h); };
    std::vector<double> adj, fd;
    for (int b = 0; b < 2; ++b)
      for (int i = 0; i < (b == 1 ? 3 : 2); ++i) {
        fd.push_back(d4([&](double e) {
          Schedule t = s;
          Qubit& qb = t.batches()[b].qubit;
          qb.set_control(i, qb.control(i) + e);
          return evaluate_loss(*cfg.make(), t, *merit, vo).merit.value;
        }));
        adj.push_back(le.batches[b][i]);
      }
    for (const char* p : {"g", "kappa_tau", "n_th"}) {
      fd.push_back(d4([&](double e) {
        ModelConfig c2 = cfg;
        c2.set(p, cfg.get(p) + e);
        return evaluate_loss(*c2.make(), s, *merit, vo).merit.value;
      }));
      adj.push_back(le.parameters[cfg.spec().parameter_index(p)]);
    }
    double scale = 0, err = 0;
    for (double x : fd) scale = std::max(scale, std::abs(x));
    for (std::size_t i = 0; i < fd.size(); ++i) {
      std::cout << "  " << arrivals << " d" << i << ": adjoint " << adj[i] << " fd " << fd[i]
                << "\n";
      err = worst_of(err, std::abs(adj[i] - fd[i]) / scale);
    }
    report(std::string("lossy gradient vs central differences (") + arrivals + "), relative", err);
    // FD truncation O(h^4) and rounding ~1e-16 |L| / h ~ 1e-11; the target is 1e-6.
    EXPECT_LT(err, 1e-7);
  }
}

TEST(LossyModel, BadParametersAreRejected) {
  ModelConfig cfg("lossy", 20);
  EXPECT_THROW(cfg.set("kappa_tau", -0.1), std::invalid_argument);
  EXPECT_THROW(cfg.set("n_th", std::nan("")), std::invalid_argument);
  EXPECT_THROW(cfg.set_text("arrivals", "sometimes"), std::invalid_argument);
  EXPECT_THROW(cfg.set_text("kappa_tau", "fast"), std::invalid_argument);
  EXPECT_THROW(cfg.set("nope", 1), std::invalid_argument);
  EXPECT_THROW(ModelConfig("nope", 20), std::invalid_argument);
}

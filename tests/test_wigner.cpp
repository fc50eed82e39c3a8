// Wigner function (include/qbopt/wigner.hpp, docs/physics.md "Wigner function") against closed
// forms in QuTiP's convention: alpha = (x + i p)/sqrt 2, normalized to  int W dx dp = 1, so a
// normalized state has |W| <= 1/pi.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <complex>
#include <numbers>
#include <qbopt/qbopt.hpp>
#include <random>
#include <vector>

#include "dense_reference.hpp"

using namespace qbopt;
using qbopt_test::least_of;
using qbopt_test::report;
using qbopt_test::worst_of;
using cd = std::complex<double>;

namespace {

constexpr double kPi = std::numbers::pi;

// W is O(1/pi); the library's normalized Laguerre recurrence and std::laguerre (its own
// recurrence, unnormalized, times exp(-B/2)) each lose a few hundred ulps of the largest term
// of a band for n <= 20 on |x|, |p| <= 5 (measured ~1e-15): 1e-12 leaves a wide margin and still
// catches any wrong sign, factor or phase (those are O(0.1)).
constexpr double kClosedFormTol = 1e-12;
// Trapezoid rule on a W that decays like exp(-(x^2 + p^2)) poly(x, p): spectrally accurate; with
// step 0.1 on [-9, 9]^2 and levels below 8 the quadrature and the cut tails are both below
// 1e-13 (measured ~1e-15): 1e-11 is a rounding margin over 32761 points.
constexpr double kIntegralTol = 1e-11;
// |W| <= 1/pi for a state of unit trace; W at the grid points is exact up to rounding.
constexpr double kBoundTol = 1e-12;

// (-1)^n / pi exp(-(x^2 + p^2)) L_n(2 (x^2 + p^2)): |n><n| in this convention (B = 4|alpha|^2).
double fock_wigner(int n, double x, double p) {
  const double r2 = x * x + p * p;
  return (n % 2 ? -1.0 : 1.0) / kPi * std::exp(-r2) * std::laguerre(n, 2 * r2);
}

// The coherent state |beta> on N levels: exp(-|beta|^2/2) beta^n / sqrt(n!).
Eigen::VectorXcd coherent(cd beta, int N) {
  Eigen::VectorXcd v(N);
  v(0) = std::exp(-0.5 * std::norm(beta));
  for (int n = 1; n < N; ++n) v(n) = v(n - 1) * beta / std::sqrt(static_cast<double>(n));
  return v;
}

std::vector<double> grid(double a, double b, int n) { return linspace(a, b, n); }

// A random density matrix on `levels` levels (embedded in N), trace `trace`: G G^dag scaled.
Eigen::MatrixXcd random_rho(std::mt19937& rng, int levels, int N, double trace) {
  std::normal_distribution<double> z;
  Eigen::MatrixXcd G(levels, levels);
  for (int i = 0; i < levels; ++i)
    for (int j = 0; j < levels; ++j) G(i, j) = cd(z(rng), z(rng));
  Eigen::MatrixXcd rho = Eigen::MatrixXcd::Zero(N, N);
  rho.topLeftCorner(levels, levels) = G * G.adjoint();
  rho *= trace / rho.trace().real();
  return rho;
}

// Trapezoid rule over the grid x (columns) by p (rows), both uniform.
double integrate(const Eigen::MatrixXd& W, const std::vector<double>& x,
                 const std::vector<double>& p) {
  const double hx = x[1] - x[0], hp = p[1] - p[0];
  double s = 0;
  for (int j = 0; j < W.rows(); ++j)
    for (int i = 0; i < W.cols(); ++i) {
      const double wx = (i == 0 || i + 1 == W.cols()) ? 0.5 : 1.0;
      const double wp = (j == 0 || j + 1 == W.rows()) ? 0.5 : 1.0;
      s += wx * wp * W(j, i);
    }
  return s * hx * hp;
}

}  // namespace

// |n><n| for n = 0..20 against the Laguerre closed form, on a grid that holds its rings.
TEST(Wigner, FockStatesMatchTheLaguerreClosedForm) {
  const int N = 24;
  const auto x = grid(-5, 5, 41), p = grid(-5, 5, 37);
  double worst = 0, extreme = 0;
  for (int n = 0; n <= 20; ++n) {
    Eigen::MatrixXcd rho = Eigen::MatrixXcd::Zero(N, N);
    rho(n, n) = 1;
    const Eigen::MatrixXd W = wigner(rho, x, p);
    ASSERT_EQ(W.rows(), static_cast<long>(p.size()));
    ASSERT_EQ(W.cols(), static_cast<long>(x.size()));
    for (std::size_t j = 0; j < p.size(); ++j)
      for (std::size_t i = 0; i < x.size(); ++i)
        worst = worst_of(worst, std::abs(W(j, i) - fock_wigner(n, x[i], p[j])));
    // Rows are p, columns x: the origin is (-1)^n / pi exactly, the extreme of |W|.
    const double w0 = wigner(rho, {0.0}, {0.0})(0, 0);
    extreme = worst_of(extreme, std::abs(w0 - (n % 2 ? -1.0 : 1.0) / kPi));
  }
  report("max |W_n - (-1)^n/pi e^{-r^2} L_n(2 r^2)| (n <= 20)", worst);
  report("max |W_n(0, 0) - (-1)^n/pi|", extreme);
  EXPECT_LT(worst, kClosedFormTol);
  EXPECT_LT(extreme, kClosedFormTol);
}

// |beta> with complex beta (coherences with both real and imaginary parts):
// W = exp(-(x - x0)^2 - (p - p0)^2) / pi, beta = (x0 + i p0)/sqrt 2.
TEST(Wigner, CoherentStateIsAShiftedGaussian) {
  const int N = 60;  // |beta|^2 = 4.5: the weight above level 59 is ~1e-40
  const double x0 = 2.0, p0 = -2.2;
  const cd beta(x0 / std::sqrt(2.0), p0 / std::sqrt(2.0));
  const Eigen::VectorXcd psi = coherent(beta, N);
  const Eigen::MatrixXcd rho = psi * psi.adjoint();
  const auto x = grid(-4, 6, 41), p = grid(-6, 4, 41);
  const Eigen::MatrixXd W = wigner(rho, x, p);
  double worst = 0;
  for (std::size_t j = 0; j < p.size(); ++j)
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double ref = std::exp(-std::pow(x[i] - x0, 2) - std::pow(p[j] - p0, 2)) / kPi;
      worst = worst_of(worst, std::abs(W(j, i) - ref));
    }
  report("max |W - Gaussian| (coherent, beta = (2 - 2.2 i)/sqrt 2)", worst);
  EXPECT_LT(worst, kClosedFormTol);
}

// Even cat N(|beta> + |-beta>), real beta: two Gaussians and the interference fringes
// 2 exp(-(x^2 + p^2)) cos(2 sqrt 2 beta p), with N^2 = 1 / (2 (1 + exp(-2 beta^2))).
TEST(Wigner, CatStateHasTheInterferenceFringes) {
  const int N = 60;
  const double b = 1.5;
  const Eigen::VectorXcd psi = (coherent(b, N) + coherent(-b, N)).normalized();
  const Eigen::MatrixXcd rho = psi * psi.adjoint();
  const auto x = grid(-5, 5, 51), p = grid(-4, 4, 41);
  const Eigen::MatrixXd W = wigner(rho, x, p);
  const double norm2 = 1.0 / (2.0 * (1.0 + std::exp(-2 * b * b)));
  const double x0 = std::sqrt(2.0) * b;
  double worst = 0, most_negative = 0;
  for (std::size_t j = 0; j < p.size(); ++j)
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double X = x[i], P = p[j];
      const double ref = norm2 / kPi *
                         (std::exp(-std::pow(X - x0, 2) - P * P) +
                          std::exp(-std::pow(X + x0, 2) - P * P) +
                          2 * std::exp(-X * X - P * P) * std::cos(2 * std::sqrt(2.0) * b * P));
      worst = worst_of(worst, std::abs(W(j, i) - ref));
      most_negative = least_of(most_negative, W(j, i));
    }
  report("max |W - cat closed form| (beta = 1.5)", worst);
  report("most negative W (cat)", most_negative);
  EXPECT_LT(worst, kClosedFormTol);
  // Not a tolerance: the fringes must really go negative (~-0.3/pi here), or the interference
  // term is not being tested.
  EXPECT_LT(most_negative, -0.05);
}

// int W dx dp = Tr rho (also for Tr rho < 1, as after leakage), and |W| <= Tr rho / pi (the
// bound of a positive rho; 1/pi for a unit-trace state, reached by |0> and |1> at the origin).
TEST(Wigner, IntegratesToTheTraceAndIsBounded) {
  std::mt19937 rng(2718);
  const auto x = grid(-9, 9, 181), p = grid(-9, 9, 181);
  double worst_int = 0, worst_bound = -1;
  for (int trial = 0; trial < 4; ++trial) {
    const double trace = trial % 2 ? 1.0 : 0.8;
    const Eigen::MatrixXcd rho = random_rho(rng, 8, 12, trace);
    const Eigen::MatrixXd W = wigner(rho, x, p);
    worst_int = worst_of(worst_int, std::abs(integrate(W, x, p) - trace));
    worst_bound = std::max(worst_bound, W.cwiseAbs().maxCoeff() - trace / kPi);
  }
  // States that reach the bound: |0> (W(0, 0) = 1/pi) and |1> (W(0, 0) = -1/pi).
  for (int n : {0, 1}) {
    Eigen::MatrixXcd rho = Eigen::MatrixXcd::Zero(4, 4);
    rho(n, n) = 1;
    const Eigen::MatrixXd W = wigner(rho, x, p);
    worst_int = worst_of(worst_int, std::abs(integrate(W, x, p) - 1));
    worst_bound = std::max(worst_bound, W.cwiseAbs().maxCoeff() - 1 / kPi);
  }
  // A battery state from the simulator (through the State overload, rotated by 90 degrees).
  const State s = simulate(Micromaser(std::numbers::pi / 4, 16), Schedule({{{0.5, 0.3}, 6, false}}),
                           {}).final_state;
  const Eigen::MatrixXd W = wigner(s, x, p);
  worst_int = worst_of(worst_int, std::abs(integrate(W, x, p) - s.matrix().trace()));
  worst_bound = std::max(worst_bound, W.cwiseAbs().maxCoeff() - 1 / kPi);
  report("max |int W dx dp - Tr rho|", worst_int);
  report("max (max |W| - Tr rho / pi)", worst_bound);
  EXPECT_LT(worst_int, kIntegralTol);
  EXPECT_LE(worst_bound, kBoundTol);
}

// The State overload: W_rho(x, p) = W_r(-p, x), and W_rho is even in x (docs/physics.md).
TEST(Wigner, BatteryStateIsTheRealStateTurnedBy90Degrees) {
  const State s = simulate(Micromaser(0.9, 20), Schedule({{{0.6, 0.2}, 8, false}}), {}).final_state;
  const auto x = grid(-4, 4, 33), p = grid(-4, 4, 33);
  // r as a complex matrix: the Wigner function of the unrotated state.
  const Eigen::MatrixXd Wr = wigner(Eigen::MatrixXcd(s.matrix().cast<cd>()), x, p);
  const Eigen::MatrixXd Wrho = wigner(s, x, p);
  double worst_rot = 0, worst_even = 0;
  const int n = static_cast<int>(x.size());  // the grids are symmetric: x[n-1-i] = -x[i]
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) {
      // W_rho(x_i, p_j) = W_r(-p_j, x_i): W_r's column index of -p_j is n-1-j, row index i.
      worst_rot = worst_of(worst_rot, std::abs(Wrho(j, i) - Wr(i, n - 1 - j)));
      worst_even = worst_of(worst_even, std::abs(Wrho(j, i) - Wrho(j, n - 1 - i)));
    }
  report("max |W_rho(x, p) - W_r(-p, x)|", worst_rot);
  report("max |W_rho(x, p) - W_rho(-x, p)|", worst_even);
  EXPECT_LT(worst_rot, kClosedFormTol);
  EXPECT_LT(worst_even, kClosedFormTol);
  // Not a tolerance: the state must not be rotation invariant, or the check is vacuous.
  EXPECT_GT((Wrho - Wr).cwiseAbs().maxCoeff(), 1e-3);
}

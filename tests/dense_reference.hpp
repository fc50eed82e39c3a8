#pragma once
// Test-only dense reference of the micromaser collision (docs/physics.md sections 1-3), written
// independently of the library's kernel: the full 2N x 2N Jaynes-Cummings unitary from Eigen's
// matrix exponential, the qubit of Eq. (2), and the partial trace over the qubit.
//
// Ordering: cavity (x) qubit, composite index 2 n + s with s = 0 for |g>, s = 1 for |e>.
// The cavity is truncated at N levels (a^dag |N-1> = 0), so the reference differs from the
// fast kernel (which loses what moves above N-1) once level N-1 is populated: compare only
// while the top level is never reached.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <complex>
#include <functional>
#include <iostream>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <unsupported/Eigen/MatrixFunctions>
#include <vector>

namespace qbopt_test {

using cd = std::complex<double>;

class DenseMicromaser {
 public:
  DenseMicromaser(double g, int N) : N_(N) {
    // H = a s+ + a^dag s-, s+ = |e><g|, s- = |g><e|, a|n> = sqrt(n)|n-1>.
    Eigen::MatrixXcd H = Eigen::MatrixXcd::Zero(2 * N, 2 * N);
    for (int n = 1; n < N; ++n) {
      const double s = std::sqrt(static_cast<double>(n));
      // a s+ |n, g> = sqrt(n) |n-1, e>
      H(2 * (n - 1) + 1, 2 * n + 0) += s;
      // a^dag s- |n-1, e> = sqrt(n) |n, g>
      H(2 * n + 0, 2 * (n - 1) + 1) += s;
    }
    U_ = (cd(0, -g) * H).exp();
  }

  int dim() const { return N_; }
  const Eigen::MatrixXcd& unitary() const { return U_; }

  // rho_q of Eq. (2) in the basis (|g>, |e>).
  static Eigen::Matrix2cd qubit(double c, double q) {
    const double kappa = c * std::sqrt(q * (1.0 - q));
    Eigen::Matrix2cd r;
    r << q, kappa, kappa, 1.0 - q;
    return r;
  }

  // rho_B -> Tr_q[U (rho_B (x) rho_q) U^dag].
  Eigen::MatrixXcd apply(const Eigen::MatrixXcd& rhoB, double c, double q) const {
    const Eigen::Matrix2cd rq = qubit(c, q);
    Eigen::MatrixXcd full(2 * N_, 2 * N_);
    for (int i = 0; i < N_; ++i)
      for (int j = 0; j < N_; ++j)
        for (int s = 0; s < 2; ++s)
          for (int t = 0; t < 2; ++t) full(2 * i + s, 2 * j + t) = rhoB(i, j) * rq(s, t);
    const Eigen::MatrixXcd out = U_ * full * U_.adjoint();
    Eigen::MatrixXcd red(N_, N_);
    for (int i = 0; i < N_; ++i)
      for (int j = 0; j < N_; ++j) red(i, j) = out(2 * i, 2 * j) + out(2 * i + 1, 2 * j + 1);
    return red;
  }

  // |0><0|.
  Eigen::MatrixXcd vacuum() const {
    Eigen::MatrixXcd r = Eigen::MatrixXcd::Zero(N_, N_);
    r(0, 0) = 1.0;
    return r;
  }

 private:
  int N_;
  Eigen::MatrixXcd U_;
};

// Figures of merit of a dense density matrix (docs/physics.md section 5), computed directly.
inline double dense_energy(const Eigen::MatrixXcd& rho) {
  double e = 0;
  for (int m = 0; m < rho.rows(); ++m) e += m * rho(m, m).real();
  return e;
}

inline double dense_purity(const Eigen::MatrixXcd& rho) { return (rho * rho).trace().real(); }

inline double dense_trace(const Eigen::MatrixXcd& rho) { return rho.trace().real(); }

// Eigenvalues of the Hermitian matrix, in decreasing order.
inline std::vector<double> dense_eigenvalues_down(const Eigen::MatrixXcd& rho) {
  const Eigen::MatrixXcd h = 0.5 * (rho + rho.adjoint());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXcd> es(h, Eigen::EigenvaluesOnly);
  std::vector<double> ev(es.eigenvalues().data(), es.eigenvalues().data() + h.rows());
  std::sort(ev.begin(), ev.end(), std::greater<>());
  return ev;
}

// Eq. (10): W = E - sum_k lambda_k^down k.
inline double dense_ergotropy(const Eigen::MatrixXcd& rho) {
  const auto ev = dense_eigenvalues_down(rho);
  double passive = 0;
  for (std::size_t k = 0; k < ev.size(); ++k) passive += static_cast<double>(k) * ev[k];
  return dense_energy(rho) - passive;
}

// rho = D r D^dag with D = diag(exp(i phi_m)).
inline Eigen::MatrixXcd phase_rotate(const Eigen::MatrixXcd& r, const std::vector<double>& phi) {
  Eigen::MatrixXcd out = r;
  for (int m = 0; m < r.rows(); ++m)
    for (int n = 0; n < r.cols(); ++n) out(m, n) *= std::polar(1.0, phi[m] - phi[n]);
  return out;
}

// Error accumulators that keep a NaN (std::max(a, NaN) returns a, which would hide it).
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline double worst_of(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? kNaN : std::max(a, b);
}
inline double least_of(double a, double b) {
  return std::isnan(a) || std::isnan(b) ? kNaN : std::min(a, b);
}

// max |m_ij| and min m_i, NaN when any entry is not finite (Eigen's maxCoeff is undefined then).
template <class M>
double max_abs(const Eigen::MatrixBase<M>& m) {
  return m.allFinite() ? m.cwiseAbs().maxCoeff() : kNaN;
}
template <class M>
double min_coeff(const Eigen::MatrixBase<M>& m) {
  return m.allFinite() ? m.minCoeff() : kNaN;
}

inline double max_abs_diff(const Eigen::MatrixXcd& a, const Eigen::MatrixXcd& b) {
  return max_abs(a - b);
}

// Prints a measured quantity (visible with ctest -V or when the test fails) and records it in
// the test's XML/JSON report.
inline void report(const std::string& what, double value) {
  std::ostringstream s;
  s.precision(3);
  s << std::scientific << value;
  std::cout << "[ measured ] " << what << " = " << s.str() << std::endl;
  ::testing::Test::RecordProperty(what, s.str());
}

// Random real symmetric positive semi-definite unit-trace N x N matrix supported on levels
// 0..support-1 (rank `rank`), the rest zero.
inline Eigen::MatrixXd random_density(int N, int support, int rank, std::mt19937& rng) {
  std::normal_distribution<double> gauss;
  Eigen::MatrixXd A = Eigen::MatrixXd::Zero(N, rank);
  for (int i = 0; i < support; ++i)
    for (int j = 0; j < rank; ++j) A(i, j) = gauss(rng);
  Eigen::MatrixXd r = A * A.transpose();
  return r / r.trace();
}

// Random real symmetric N x N matrix with Gaussian entries (not a state: for adjoint identities).
inline Eigen::MatrixXd random_symmetric(int N, std::mt19937& rng) {
  std::normal_distribution<double> nd;
  Eigen::MatrixXd A(N, N);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) A(i, j) = nd(rng);
  return (A + A.transpose()) / 2;
}

}  // namespace qbopt_test

#pragma once
// The cavity between two qubits: damping towards a thermal bath (docs/physics.md, "The lossy
// cavity"), as a matrix-free map on the real symmetric representation r.
#include <array>
#include <qbopt/state.hpp>
#include <vector>

namespace qbopt {

// How the qubits arrive: every gap exactly tau, or exponentially distributed gaps of mean tau.
enum class Arrivals { regular = 0, poisson = 1 };

// The gap map G over one gap of mean length tau under
//   L = kappa (n_th + 1) D[a] + kappa n_th D[a^dag],  D[x] rho = x rho x^dag - {x^dag x, rho}/2:
// regular arrivals G = exp(tau L), Poisson arrivals G = (1 - tau L)^-1 (the average of exp(t L)
// over t ~ Exp(tau)). L keeps r real symmetric and acts on each diagonal d = m - n of r as a
// tridiagonal operator; G is applied column by column, vectorized across the diagonals.
// Truncation at level N-1 is absorbing (its full loss term is kept), so 1 - Tr r stays the
// leakage. Transposes are with respect to the Frobenius product of symmetric matrices.
class CavityDamping {
 public:
  CavityDamping(int N, double kappa_tau, double n_th, Arrivals arrivals);
  // Full states one thread of apply(), apply_transpose() and derivatives() holds at once:
  // four per-thread scratch states and the three of derivatives().
  static constexpr int kScratchStates = 7;

  int dim() const { return N_; }
  bool identity() const { return kappa_tau_ == 0.0; }
  // Taylor terms per sub-step and sub-steps of exp(tau L) (0 for Poisson arrivals).
  int terms() const { return terms_; }
  int substeps() const { return substeps_; }

  // out = G(in).
  void apply(const State& in, State& out) const;
  // out = G^T(lambda) on levels 0..hi (enough to read `lambda` on the levels a forward output
  // of top `hi` can reach).
  void apply_transpose(const State& lambda, State& out, int hi) const;
  // d<lambda, G(y)>/d(kappa_tau, n_th), given z = G(y) and mu = G^T(lambda).
  std::array<double, 2> derivatives(const State& y, const State& z, const State& lambda,
                                    const State& mu) const;

 private:
  int N_;
  double kappa_tau_, n_th_;
  Arrivals arrivals_;
  double shift_ = 0;  // a of the shifted Taylor series (per sub-step)
  int terms_ = 0, substeps_ = 0;
  std::vector<double> sqrt_;   // sqrt(k), k = -1..N+1 (index k+1)
  std::vector<double> alpha_;  // diagonal part: (L r)_mn gets kappa (alpha_m + alpha_n) r_mn
  std::vector<double> alpha_step_;  // alpha * kappa_tau / substeps (one Taylor sub-step)
  Eigen::MatrixXd forward_, pivot_;  // resolvent LU, in the State layout (see damping.cpp)
};

}  // namespace qbopt

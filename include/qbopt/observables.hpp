#pragma once
// Figures of merit of a battery state (docs/physics.md section 5).
#include <qbopt/state.hpp>
#include <vector>

namespace qbopt {

// Above this final leakage 1 - Tr rho the truncation N changes the physics: the CLI warns (and
// fails with --strict), Python raises TruncationWarning, a continued state is refused.
inline constexpr double kLeakageWarning = 1e-6;

// E = Tr(a^dag a rho) = sum_m m r_mm.
double energy(const State& r);
// P = Tr rho^2 = sum_mn r_mn^2.
double purity(const State& r);
// Tr r.
double trace(const State& r);
// Probability lost above the truncation: 1 - Tr r.
double leakage(const State& r);
// Fock populations r_nn, n = 0..N-1.
std::vector<double> populations(const State& r);

// Eq. (10): W = E - sum_k lambda_k^down k (eigenvalues of r in decreasing order).
double ergotropy(const State& r);

// Ergotropy with its gradient dW/dr = diag(m) - sum_k k v_k v_k^T (dense N x N, symmetric).
struct ErgotropyWithGradient {
  double value;
  Eigen::MatrixXd gradient;
};
ErgotropyWithGradient ergotropy_with_gradient(const State& r);

}  // namespace qbopt

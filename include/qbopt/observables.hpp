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

// The eigensolver and matrices of the two functions below, kept between calls: an evaluator's
// repeated calls at one N allocate nothing. (A fresh N x N matrix of a few hundred KiB is a
// new mapping whose every page faults on first touch: 1.3 ms of a 12 ms loss + gradient at
// N = 150 on a 2-vCPU VM.)
class ErgotropyWorkspace {
 public:
  // The most it holds for N levels: block_, scaled_, gradient_ and the eigenvectors (N x N
  // each; the solver's vectors are O(N)).
  static std::size_t bytes(int N) { return 4 * sizeof(double) * static_cast<std::size_t>(N) * N; }

  // dW/dr of the last ergotropy_with_gradient call (N x N).
  const Eigen::MatrixXd& gradient() const { return gradient_; }

 private:
  friend double ergotropy(const State& r, ErgotropyWorkspace& ws);
  friend double ergotropy_with_gradient(const State& r, ErgotropyWorkspace& ws);
  Eigen::MatrixXd block_, scaled_, gradient_;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver_;
};
// The same values as ergotropy(r) and ergotropy_with_gradient(r), in ws's storage.
double ergotropy(const State& r, ErgotropyWorkspace& ws);
double ergotropy_with_gradient(const State& r, ErgotropyWorkspace& ws);

}  // namespace qbopt

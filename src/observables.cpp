#include <algorithm>
#include <numeric>
#include <qbopt/observables.hpp>

namespace qbopt {

double energy(const State& r) {
  double e = 0;
  for (int m = 1; m <= r.top(); ++m) e += m * r.at(m, m);
  return e;
}

double purity(const State& r) {
  double p = 0;
  for (int n = 0; n <= r.top(); ++n) {
    p += r.at(n, n) * r.at(n, n);
    if (r.diagonal()) continue;
    for (int m = n + 1; m <= r.top(); ++m) p += 2 * r.at(m, n) * r.at(m, n);
  }
  return p;
}

double trace(const State& r) {
  double t = 0;
  for (int m = 0; m <= r.top(); ++m) t += r.at(m, m);
  return t;
}

double leakage(const State& r) { return 1.0 - trace(r); }

std::vector<double> populations(const State& r) {
  std::vector<double> p(r.dim(), 0.0);
  for (int m = 0; m <= r.top(); ++m) p[m] = r.at(m, m);
  return p;
}

namespace {
// Eigen-decomposition of the populated block 0..top (the rest of r is zero) in ws's solver.
void decompose(const State& r, bool vectors, Eigen::MatrixXd& block,
               Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>& solver) {
  const int d = r.top() + 1;
  block.resize(d, d);  // no reallocation at the same size
  for (int n = 0; n < d; ++n)
    for (int m = n; m < d; ++m) block(m, n) = r.at(m, n);
  // Only the lower triangle is read by the solver.
  solver.compute(block, vectors ? Eigen::ComputeEigenvectors : Eigen::EigenvaluesOnly);
}

// Passive-state energy of populations sorted in place: sum_k k p_k^down.
double passive_energy(std::vector<double>& p) {
  std::sort(p.begin(), p.end(), std::greater<>());
  double passive = 0;
  for (std::size_t k = 0; k < p.size(); ++k) passive += static_cast<double>(k) * p[k];
  return passive;
}
}  // namespace

double ergotropy(const State& r, ErgotropyWorkspace& ws) {
  if (r.diagonal()) {
    // Eigenvalues are the populations; no decomposition needed.
    std::vector<double> p = populations(r);
    return energy(r) - passive_energy(p);
  }
  decompose(r, false, ws.block_, ws.solver_);
  // Eigen sorts ascending; the passive state puts the largest eigenvalue on level 0.
  const auto& ev = ws.solver_.eigenvalues();
  const int d = static_cast<int>(ev.size());
  double passive = 0;
  for (int k = 0; k < d; ++k) passive += k * ev(d - 1 - k);
  return energy(r) - passive;
}

double ergotropy_with_gradient(const State& r, ErgotropyWorkspace& ws) {
  const int N = r.dim();
  const int d = r.top() + 1;
  Eigen::MatrixXd& grad = ws.gradient_;
  grad.setZero(N, N);
  for (int m = 0; m < N; ++m) grad(m, m) = m;
  double passive = 0;
  if (r.diagonal()) {
    std::vector<int> order(d);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return r.at(a, a) > r.at(b, b); });
    for (int k = 0; k < d; ++k) {
      passive += k * r.at(order[k], order[k]);
      grad(order[k], order[k]) -= k;
    }
  } else {
    decompose(r, true, ws.block_, ws.solver_);
    const auto& ev = ws.solver_.eigenvalues();
    const auto& V = ws.solver_.eigenvectors();
    // Eigen sorts ascending: eigenvector j carries rank k = d-1-j in the passive state.
    Eigen::VectorXd rank(d);
    for (int j = 0; j < d; ++j) {
      rank(j) = d - 1 - j;
      passive += rank(j) * ev(j);
    }
    // sum_k k v_k v_k^T as one matrix product (BLAS-3 speed, not d rank-1 updates).
    ws.scaled_.noalias() = V * rank.asDiagonal();
    grad.topLeftCorner(d, d).noalias() -= ws.scaled_ * V.transpose();
  }
  return energy(r) - passive;
}

double ergotropy(const State& r) {
  ErgotropyWorkspace ws;
  return ergotropy(r, ws);
}

ErgotropyWithGradient ergotropy_with_gradient(const State& r) {
  ErgotropyWorkspace ws;
  const double value = ergotropy_with_gradient(r, ws);
  return {value, ws.gradient()};
}

}  // namespace qbopt

#pragma once
// The micromaser battery: a cavity mode charged by Jaynes-Cummings collisions, Eq. (4).
#include <qbopt/model.hpp>
#include <vector>

namespace qbopt {

// Collision with U = exp(-i g (a s+ + a^dag s-)) on Fock levels 0..N-1, applied in the real
// symmetric form of PHYSICS.md section 2: O(N^2) per collision, O(N) while c = 0 keeps the
// state diagonal. Probability pushed above level N-1 is lost (leakage = 1 - Tr r).
class Micromaser final : public CollisionModel {
 public:
  // Upper bound on N: a state takes 8 (N+2)^2 bytes (200 MB at N = 5000).
  static constexpr int kMaxLevels = 5000;

  Micromaser(double g, int N);
  int dim() const override { return N_; }
  double coupling() const { return g_; }

  void apply(const Qubit& qubit, const State& in, State& out) const override;
  ParameterGradient pullback(const Qubit& qubit, const State& r, const State& lambda_in,
                             State& lambda_out, bool with_g) const override;

  // Phi^T alone (Heisenberg picture), on levels 0..top.
  void apply_transpose(const Qubit& qubit, const State& lambda, State& out, int top) const;

 private:
  double g_;
  int N_;
  std::vector<double> C_, S_;    // C_n = cos(g sqrt n), S_n = sin(g sqrt n), n = 0..N
  std::vector<double> dC_, dS_;  // their g-derivatives: -sqrt(n) S_n, sqrt(n) C_n
};

}  // namespace qbopt

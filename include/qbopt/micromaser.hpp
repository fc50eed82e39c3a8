#pragma once
// The micromaser battery: a cavity mode charged by Jaynes-Cummings collisions, Eq. (4).
#include <cmath>
#include <limits>
#include <numbers>
#include <qbopt/model.hpp>
#include <qbopt/zeroed_buffer.hpp>
#include <vector>

namespace qbopt {

// The paper's coupling g = pi / sqrt(15.6) ~ 0.795 (not fine-tuned): the default of every model.
inline const double kPaperCoupling = std::numbers::pi / std::sqrt(15.6);

// Collision with U = exp(-i g (a s+ + a^dag s-)) on Fock levels 0..N-1, applied in the real
// symmetric form of docs/physics.md: O(N^2) per collision, O(N) while c = 0 keeps the state
// diagonal. Probability pushed above level N-1 is lost (leakage = 1 - Tr r).
// Controls: c, q, and optionally the qubit's own g; global parameter: g.
class Micromaser final : public CollisionModel {
 public:
  static constexpr int kControlG = 2;  // index of the optional per-qubit coupling
  // Upper bound on N (kept for callers; the registry's kMaxLevels is the same).
  static constexpr int kMaxLevels = 5000;

  Micromaser(double g, int N);
  // The controls c, q, g shared by every model built on this collision.
  static const std::vector<ParameterSpec>& control_specs();
  static const ModelSpec& model_spec();

  const ModelSpec& spec() const override { return model_spec(); }
  int dim() const override { return N_; }
  std::vector<double> parameters() const override { return {tables_.g}; }
  double coupling() const { return tables_.g; }

  void apply(const Qubit& qubit, const State& in, State& out) const override;
  void pullback(const Qubit& qubit, const State& r, const State& lambda_in, State& lambda_out,
                const PullbackRequest& request, double* d_controls,
                double* d_params) const override;

  // Phi^T alone (Heisenberg picture), on levels 0..top.
  void apply_transpose(const Qubit& qubit, const State& lambda, State& out, int top) const;

  // C_n = cos(g sqrt n), S_n = sin(g sqrt n) and their g-derivatives -sqrt(n) S_n,
  // sqrt(n) C_n for n = -1..N+1 (stored from index 0).
  struct Tables {
    double g = std::numeric_limits<double>::quiet_NaN();
    // 64-byte aligned: C_m and row m of a State column start a line together.
    ZeroedBuffer C, S, dC, dS;
    void fill(double g, int N);
  };

 private:
  // The tables of the qubit's own g when it carries one, else of the model's g.
  const Tables& tables_for(const Qubit& qubit) const;
  int N_;
  Tables tables_;
};

}  // namespace qbopt

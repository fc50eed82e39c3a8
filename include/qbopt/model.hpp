#pragma once
// The charging cell C of Fig. 1 as a matrix-free operator on the battery state.
#include <qbopt/qubit.hpp>
#include <qbopt/state.hpp>

namespace qbopt {

// Derivatives of <Lambda, Phi(r)> with respect to the qubit's parameters and the coupling.
struct ParameterGradient {
  double c = 0.0;
  double q = 0.0;
  double g = 0.0;
};

// One collision channel Phi_{qubit}: r -> r' (Eq. (5)-(6)), its transpose (the Heisenberg
// picture) and its parameter derivatives. A battery model implements this interface and the
// simulator, the adjoint gradient and the spectral tools work with it unchanged.
// Contract: `in` and `out` (and `lambda_in`, `lambda_out`) are distinct objects; apply() and
// pullback() are const and may run at the same time on two threads (the gradient pipeline
// does). Only levels 0..top of an adjoint written by pullback() are meaningful.
class CollisionModel {
 public:
  virtual ~CollisionModel() = default;
  virtual int dim() const = 0;
  // out = Phi(in). `out` must have the same dimension; its previous content is overwritten.
  virtual void apply(const Qubit& qubit, const State& in, State& out) const = 0;
  // Reverse step of one collision: lambda_out = Phi^T(lambda_in) on levels 0..r.top(), and
  // the derivatives d<lambda_in, Phi(r)>/d(c, q[, g]). `r` is the state the collision acted on.
  virtual ParameterGradient pullback(const Qubit& qubit, const State& r, const State& lambda_in,
                                     State& lambda_out, bool with_g) const = 0;
};

}  // namespace qbopt

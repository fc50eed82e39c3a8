#pragma once
// The charging cell C of Fig. 1 as a matrix-free operator on the battery state.
#include <qbopt/parameter.hpp>
#include <qbopt/qubit.hpp>
#include <qbopt/state.hpp>
#include <vector>

namespace qbopt {

// What pullback() must differentiate besides the adjoint step itself.
struct PullbackRequest {
  // Bit i: d/d(control i) of the qubit. c and q come almost free with the adjoint; further
  // controls (g) cost extra passes, so they are asked for only when needed.
  unsigned controls = 0b11;
  bool parameters = false;  // d/d(global parameters), see CollisionModel::pullback
};

// One step Phi_{qubit}: r -> r' of a battery model (a collision, and for open models the
// cavity's evolution until the next qubit), its transpose (the Heisenberg picture) and its
// parameter derivatives. The simulator, the adjoint gradient, the optimizer, the noise
// ensembles and the spectral tools work with any model through this interface.
// Contract: `in` and `out` (and `lambda_in`, `lambda_out`) are distinct objects; apply() and
// pullback() are const and may run at the same time on two threads (the gradient pipeline
// does). Only levels 0..top of an adjoint written by pullback() are meaningful.
class CollisionModel {
 public:
  virtual ~CollisionModel() = default;
  virtual const ModelSpec& spec() const = 0;
  virtual int dim() const = 0;
  // Current values of the global parameters, in the order of spec().parameters.
  virtual std::vector<double> parameters() const = 0;

  // out = Phi(in). `out` must have the same dimension; its previous content is overwritten.
  virtual void apply(const Qubit& qubit, const State& in, State& out) const = 0;
  // Reverse step: lambda_out = Phi^T(lambda_in) on levels 0..top, and the derivatives of
  // <lambda_in, Phi(r)> (Frobenius product; `r` is the state the step acted on):
  //  - d_controls[i] += d/d(control i) for each bit i of request.controls, taken with respect
  //    to the value in effect (for an optional control the qubit does not carry, the global);
  //  - d_params[j] += d/d(parameter j) when request.parameters, for every global parameter
  //    that is NOT the fallback of an optional control (the caller routes those: the global g
  //    moves only the qubits without their own g).
  virtual void pullback(const Qubit& qubit, const State& r, const State& lambda_in,
                        State& lambda_out, const PullbackRequest& request, double* d_controls,
                        double* d_params) const = 0;
};

}  // namespace qbopt

#pragma once
// The lossy micromaser: each collision is followed by the cavity's damping until the next
// qubit arrives (docs/physics.md, "The lossy cavity").
#include <qbopt/damping.hpp>
#include <qbopt/micromaser.hpp>

namespace qbopt {

// One step = a Jaynes-Cummings collision (Micromaser) then the gap map G of CavityDamping;
// the state after k steps is the state qubit k+1 meets. kappa_tau = 0 is the lossless model.
// Controls: c, q, optional own g; global parameters: g, kappa_tau, n_th, arrivals.
class LossyMicromaser final : public CollisionModel {
 public:
  enum Parameter { kG = 0, kKappaTau = 1, kNth = 2, kArrivals = 3 };

  LossyMicromaser(double g, int N, double kappa_tau, double n_th, Arrivals arrivals);
  static const ModelSpec& model_spec();

  const ModelSpec& spec() const override { return model_spec(); }
  int dim() const override { return collision_.dim(); }
  std::vector<double> parameters() const override;
  const CavityDamping& gap() const { return gap_; }

  void apply(const Qubit& qubit, const State& in, State& out) const override;
  void pullback(const Qubit& qubit, const State& r, const State& lambda_in, State& lambda_out,
                const PullbackRequest& request, double* d_controls,
                double* d_params) const override;

 private:
  Micromaser collision_;
  CavityDamping gap_;
  double kappa_tau_, n_th_;
  Arrivals arrivals_;
};

}  // namespace qbopt

#include <qbopt/lossy_micromaser.hpp>
#include <qbopt/models.hpp>

namespace qbopt {

namespace {
// Per-thread intermediate states (apply and pullback may run on two threads at once).
constexpr int kScratchSlots = 3;
State& scratch(int slot, int N) {
  thread_local State s[kScratchSlots];
  if (s[slot].dim() != N) s[slot] = State::zeros(N);
  return s[slot];
}
}  // namespace

LossyMicromaser::LossyMicromaser(double g, int N, double kappa_tau, double n_th,
                                 Arrivals arrivals)
    : collision_(g, N),
      gap_(N, kappa_tau, n_th, arrivals),
      kappa_tau_(kappa_tau),
      n_th_(n_th),
      arrivals_(arrivals) {}

const ModelSpec& LossyMicromaser::model_spec() {
  static const ModelSpec spec = {
      "lossy",
      "micromaser whose cavity decays towards a thermal bath between qubits",
      Micromaser::control_specs(),
      {
          Micromaser::model_spec().parameters[0],
          {"kappa_tau", 0.0, 0.0, 1.0,
           "cavity decay rate times the mean gap between qubits (0: lossless)"},
          {"n_th", 0.0, 0.0, 10.0, "mean thermal photon number of the cavity's bath"},
          {"arrivals", 0.0, 0.0, 1.0,
           "regular: every gap is tau, exp(tau L); poisson: exponential gaps, (1 - tau L)^-1",
           {"regular", "poisson"}},
      },
      kScratchSlots + CavityDamping::kScratchStates,
  };
  return spec;
}

ModelEntry lossy_micromaser_entry() {
  return {LossyMicromaser::model_spec(), [](int N, const std::vector<double>& v) {
            return std::unique_ptr<CollisionModel>(std::make_unique<LossyMicromaser>(
                v[LossyMicromaser::kG], N, v[LossyMicromaser::kKappaTau], v[LossyMicromaser::kNth],
                static_cast<Arrivals>(static_cast<int>(v[LossyMicromaser::kArrivals]))));
          }};
}

std::vector<double> LossyMicromaser::parameters() const {
  return {collision_.coupling(), kappa_tau_, n_th_, static_cast<double>(arrivals_)};
}

void LossyMicromaser::apply(const Qubit& qubit, const State& in, State& out) const {
  State& y = scratch(0, dim());
  collision_.apply(qubit, in, y);
  gap_.apply(y, out);
}

void LossyMicromaser::pullback(const Qubit& qubit, const State& r, const State& lambda_in,
                               State& lambda_out, const PullbackRequest& request,
                               double* d_controls, double* d_params) const {
  const int N = dim();
  // The collision reaches one level above r; the gap's transpose is needed on those levels.
  const int hi = std::min(r.top() + 1, N - 1);
  State& mu = scratch(1, N);
  gap_.apply_transpose(lambda_in, mu, hi);
  if (request.parameters) {
    // d<lambda, G(C r)>/d(kappa_tau, n_th) needs y = C r and z = G y again.
    State& y = scratch(0, N);
    State& z = scratch(2, N);
    collision_.apply(qubit, r, y);
    gap_.apply(y, z);
    const auto d = gap_.derivatives(y, z, lambda_in, mu);
    d_params[kKappaTau] += d[0];
    d_params[kNth] += d[1];
  }
  collision_.pullback(qubit, r, mu, lambda_out, request, d_controls, nullptr);
}

}  // namespace qbopt

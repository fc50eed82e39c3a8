#pragma once
// A spectral stability penalty (issue 8) and the losses that add it to a figure of merit.
//
// The penalty is weight * (1/lifetime) = weight * (-ln|lambda_1|), lambda_1 the slowest decay
// mode of the one-step map Phi of the schedule's LAST batch: the map that keeps acting once the
// battery is charged, so |lambda_1| says how long the state it reached stays put.
//
// Where it hooks in: a FigureOfMerit sees only the trajectory (ChargingRecord), and -ln|lambda_1|
// is not a function of the trajectory but of the map. So the penalty does not become a figure of
// merit; it sits beside one in a `Loss`, and `evaluate(LossEvaluator&, model, schedule, Loss)`
// adds its value and exact gradient (left/right eigenvectors, first-order perturbation) to the
// adjoint result of the figure of merit. optimize() and `qbopt loss` evaluate through it;
// "NAME-spectral" selects it (make_loss).
#include <complex>
#include <memory>
#include <optional>
#include <qbopt/gradient.hpp>
#include <qbopt/loss.hpp>
#include <qbopt/model.hpp>
#include <qbopt/schedule.hpp>
#include <qbopt/spectrum.hpp>
#include <stdexcept>
#include <string>
#include <vector>

namespace qbopt {

// The penalty cannot be computed: no decaying mode among the K eigenvalues found (all within
// unit_tolerance of 1), an Arnoldi run that did not converge, or no matching left eigenvector.
// A clear error rather than a made-up finite value: near trapping the slow eigenvalue is
// 1 - 1e-9 and any substitute would steer the optimizer wrongly.
class SpectralPenaltyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SpectralPenaltyValue {
  double value = 0;                 // weight * decay_rate
  double decay_rate = 0;            // -ln|lambda_1| = 1/lifetime (collisions^-1)
  std::complex<double> eigenvalue;  // lambda_1
  // d value/d(each control the qubit carries: c, q[, g]), and d value/d(global parameters) in
  // the model's spec order (a global that is the fallback of an optional control the qubit
  // does not carry, g, gets that control's derivative). Empty when not asked for.
  std::vector<double> controls, parameters;
  long matvecs = 0;  // applications of Phi and Phi^T
};

class SpectralPenalty {
 public:
  // Throws std::invalid_argument for a negative or non-finite weight or bad settings.
  explicit SpectralPenalty(double weight, SpectrumSettings settings = default_settings());

  // K = 6 (at N = 150 near trapping two eigenvalues sit within 1e-9 of 1: a trapping chamber at
  // the top of the truncation besides the physical steady state, so K must exceed 2 with room),
  // Arnoldi on Phi^5, tolerance 1e-10 (the eigenvalues near 1 are resolved to ~1e-15, needed for
  // rates ~1e-9), no deflation rounds (they find extra copies of degenerate eigenvalues, which
  // never are lambda_1): about 0.25 s per spectrum at N = 150.
  static SpectrumSettings default_settings();

  double weight() const { return weight_; }
  const SpectrumSettings& settings() const { return settings_; }

  // The penalty of the map of `qubit` under `model`; with `gradient` its derivatives (one more
  // Arnoldi run, on Phi^T, for the left eigenvector), with `parameters` those of the globals too.
  // Throws SpectralPenaltyError (see above); Interrupted when `should_stop` (or, when that is
  // empty, the settings' own hook) asks to stop inside an Arnoldi run.
  SpectralPenaltyValue operator()(const CollisionModel& model, const Qubit& qubit,
                                  bool gradient = true, bool parameters = false,
                                  const StopHook& should_stop = {}) const;

 private:
  double weight_;
  SpectrumSettings settings_;
};

// A loss: a figure of merit of the trajectory plus, optionally, the spectral penalty of the
// last batch's map.
struct Loss {
  std::string name;
  std::shared_ptr<const FigureOfMerit> merit;
  std::optional<SpectralPenalty> spectral;
};

// Names: every figure of merit (eq11, ergotropy, energy, power: their eta-window penalty with
// weight settings.lambda), and NAME-spectral for each (e.g. "eq11-spectral"): the figure with
// the eta-window penalty off, plus settings.lambda * (-ln|lambda_1|).
Loss make_loss(const std::string& name, const LossSettings& settings);
// The loss of the CLI's --loss and Python's loss= when none is named: the paper's Eq. (11).
inline constexpr const char* kDefaultLoss = "eq11";
std::vector<std::string> loss_names();
// A loss made of a figure of merit alone (not owned: `merit` must outlive the Loss).
Loss figure_only(const FigureOfMerit& merit);

// The figure of merit through `evaluator` (value and adjoint gradient), plus the spectral
// penalty when the loss has one: added to merit.value, reported as merit.penalty (the figure's
// own window penalty is 0 then), its gradient added to the last batch's row (and to
// .parameters when the evaluator computes them). `spectral_out` receives the penalty's details.
LossEvaluation evaluate(LossEvaluator& evaluator, const CollisionModel& model,
                        const Schedule& schedule, const Loss& loss,
                        SpectralPenaltyValue* spectral_out = nullptr);

}  // namespace qbopt

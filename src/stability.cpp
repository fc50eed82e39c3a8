#include <cmath>
#include <qbopt/stability.hpp>
#include <sstream>

namespace qbopt {

namespace {

using cd = std::complex<double>;

std::string describe(const Qubit& q) {
  std::ostringstream s;
  s << "c = " << q.c << ", q = " << q.q;
  return s.str();
}

// d<left, Phi(right)>/d(theta) for theta = the requested controls (bit order), then every global
// parameter (spec order) when `parameters`: one pullback of `left` through the step at `right`.
MapDerivative control_and_parameter_derivative(const CollisionModel& model, const Qubit& qubit,
                                               unsigned bits, bool parameters) {
  const std::size_t n_params = model.spec().parameters.size();
  return [&model, qubit, bits, parameters, n_params](const State& left, const State& right) {
    double dc[kMaxControls] = {};
    std::vector<double> dp(n_params, 0.0);
    State scratch = State::zeros(left.dim());
    model.pullback(qubit, right, left, scratch, PullbackRequest{bits, parameters}, dc,
                   parameters ? dp.data() : nullptr);
    std::vector<double> out;
    for (int i = 0; i < kMaxControls; ++i)
      if (bits & (1u << i)) out.push_back(dc[i]);
    if (parameters) out.insert(out.end(), dp.begin(), dp.end());
    return out;
  };
}

// The left eigenvector (Phi^T l = lambda l) belonging to the right eigenvector r. Near trapping
// lambda_1 = 1 - 3e-9 sits next to eigenvalue 1, closer than eigenvalue_sensitivity's simplicity
// test (1e-8) admits, yet the two are distinct and resolved. Among the transposed eigenvalues
// near lambda the one whose eigenvector overlaps r most is the match: left and right
// eigenvectors of different eigenvalues are orthogonal in the bilinear product.
Eigen::MatrixXcd matching_left(const Spectrum& left, cd lambda, const Eigen::MatrixXcd& r,
                               const Qubit& qubit) {
  const double tol = 1e-6 * std::max(1.0, std::abs(lambda));
  double best = 0;
  std::optional<std::size_t> hit;
  for (std::size_t j = 0; j < left.eigenvalues.size(); ++j) {
    if (std::abs(left.eigenvalues[j] - lambda) > tol) continue;
    const Eigen::MatrixXcd& l = left.eigenvectors[j];
    const double overlap = std::abs((l.array() * r.array()).sum()) / (l.norm() * r.norm());
    if (overlap > best) best = overlap, hit = j;
  }
  // A true pair overlaps at O(1) (or 1/condition number); 1e-6 is a mismatch.
  if (!hit || best < 1e-6) {
    std::ostringstream s;
    s << "no left eigenvector of the transposed map matches lambda_1 = " << lambda.real()
      << (lambda.imag() < 0 ? " - " : " + ") << std::abs(lambda.imag()) << "i (" << describe(qubit)
      << ")";
    throw SpectralPenaltyError(s.str());
  }
  return left.eigenvectors[*hit];
}

}  // namespace

SpectrumSettings SpectralPenalty::default_settings() {
  SpectrumSettings s;
  s.count = 6;
  s.power = 5;
  s.tolerance = 1e-10;
  s.deflation_rounds = 0;
  return s;
}

SpectralPenalty::SpectralPenalty(double weight, SpectrumSettings settings)
    : weight_(weight), settings_(settings) {
  if (!std::isfinite(weight) || weight < 0)
    throw std::invalid_argument("the spectral penalty's weight must be finite and >= 0, got " +
                                std::to_string(weight));
}

SpectralPenaltyValue SpectralPenalty::operator()(const CollisionModel& model, const Qubit& qubit,
                                                 bool gradient, bool parameters,
                                                 const StopHook& should_stop) const {
  const int N = model.dim();
  const StepMaps maps = step_maps(model, qubit);
  SpectrumSettings settings = settings_;
  if (should_stop) settings.should_stop = should_stop;
  const Spectrum s = spectrum(maps.phi, N, settings);
  SpectralPenaltyValue v;
  v.matvecs = s.matvecs;
  if (!s.converged)
    throw SpectralPenaltyError("the Arnoldi iteration for the spectral penalty did not converge (" +
                               describe(qubit) + ", N = " + std::to_string(N) + ")");
  if (!s.slowest_mode)
    throw SpectralPenaltyError(
        "no decaying mode among the " + std::to_string(s.eigenvalues.size()) +
        " leading eigenvalues of the last batch's map (" + describe(qubit) +
        "): all are within 1e-9 of 1, so the lifetime is unknown; raise the count");
  const std::size_t k = *s.slowest_mode;
  v.eigenvalue = s.eigenvalues[k];
  // |lambda_1| > 0: a zero modulus would be the only mode left, never the case for K >= 2.
  v.decay_rate = -std::log(std::abs(v.eigenvalue));
  v.value = weight_ * v.decay_rate;
  if (!std::isfinite(v.value))
    throw SpectralPenaltyError("the spectral penalty is not finite (" + describe(qubit) + ")");
  if (!gradient) return v;

  const Spectrum left = spectrum(maps.phi_transpose, N, settings);
  v.matvecs += left.matvecs;
  const Eigen::MatrixXcd l = matching_left(left, v.eigenvalue, s.eigenvectors[k], qubit);

  // Controls the qubit carries, plus (with `parameters`) the optional controls it takes from a
  // global, routed to that global below, as LossEvaluator does.
  const ModelSpec& spec = model.spec();
  const int n_controls = static_cast<int>(spec.controls.size());
  std::vector<int> fallback(n_controls, -1);
  unsigned bits = 0;
  for (int i = 0; i < n_controls; ++i) {
    if (i >= 2 && spec.controls[i].optional) fallback[i] = spec.parameter_index(spec.controls[i].name);
    if (qubit.carries(i) || (parameters && fallback[i] >= 0)) bits |= 1u << i;
  }
  const auto dlambda = eigenvalue_derivative(
      l, s.eigenvectors[k], control_and_parameter_derivative(model, qubit, bits, parameters));
  const std::vector<double> drate = decay_rate_derivative(v.eigenvalue, dlambda);
  if (parameters) v.parameters.assign(spec.parameters.size(), 0.0);
  std::size_t pos = 0;
  for (int i = 0; i < n_controls; ++i) {
    if (!(bits & (1u << i))) continue;
    const double d = weight_ * drate[pos++];
    if (qubit.carries(i))
      v.controls.push_back(d);
    else
      v.parameters[fallback[i]] += d;
  }
  for (std::size_t j = 0; parameters && j < spec.parameters.size(); ++j)
    v.parameters[j] += weight_ * drate[pos++];
  for (double d : v.controls)
    if (!std::isfinite(d)) throw SpectralPenaltyError("the spectral penalty's gradient is not finite");
  return v;
}

std::vector<std::string> loss_names() {
  std::vector<std::string> names = figure_of_merit_names();
  for (const auto& n : figure_of_merit_names()) names.push_back(n + "-spectral");
  return names;
}

Loss make_loss(const std::string& name, const LossSettings& settings) {
  settings.validate();
  const std::string suffix = "-spectral";
  Loss loss;
  loss.name = name;
  if (name.size() > suffix.size() && name.ends_with(suffix)) {
    const std::string base = name.substr(0, name.size() - suffix.size());
    bool known = false;
    for (const auto& n : figure_of_merit_names()) known = known || n == base;
    if (known) {
      // The eta-window penalty off: the spectral term is this loss's stability penalty.
      LossSettings off = settings;
      off.lambda = 0;
      loss.merit = make_figure_of_merit(base, off);
      loss.spectral.emplace(settings.lambda);
      return loss;
    }
  } else {
    for (const auto& n : figure_of_merit_names())
      if (n == name) {
        loss.merit = make_figure_of_merit(name, settings);
        return loss;
      }
  }
  std::string known;
  for (const auto& n : loss_names()) known += (known.empty() ? "" : ", ") + n;
  throw std::invalid_argument("unknown loss '" + name + "' (known: " + known + ")");
}

Loss figure_only(const FigureOfMerit& merit) {
  Loss loss;
  loss.name = merit.name();
  loss.merit = std::shared_ptr<const FigureOfMerit>(&merit, [](const FigureOfMerit*) {});
  return loss;
}

LossEvaluation evaluate(LossEvaluator& evaluator, const CollisionModel& model,
                        const Schedule& schedule, const Loss& loss,
                        SpectralPenaltyValue* spectral_out) {
  LossEvaluation le = evaluator(model, schedule, *loss.merit);
  if (!loss.spectral) return le;
  const GradientOptions& o = evaluator.options();
  const SpectralPenaltyValue p = (*loss.spectral)(model, schedule.batches().back().qubit,
                                                  o.gradient, o.gradient && o.parameters,
                                                  o.should_stop);
  le.merit.value += p.value;
  le.merit.penalty += p.value;
  if (o.gradient) {
    std::vector<double>& row = le.batches.back();
    for (std::size_t i = 0; i < p.controls.size() && i < row.size(); ++i) row[i] += p.controls[i];
    for (std::size_t j = 0; j < p.parameters.size() && j < le.parameters.size(); ++j)
      le.parameters[j] += p.parameters[j];
  }
  if (spectral_out) *spectral_out = p;
  return le;
}

}  // namespace qbopt

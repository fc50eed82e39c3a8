#include <algorithm>
#include <cmath>
#include <qbopt/loss.hpp>
#include <sstream>
#include <stdexcept>

namespace qbopt {

void LossSettings::validate() const {
  auto text = [](double x) {
    std::ostringstream s;
    s << x;
    return s.str();
  };
  // Beyond 1e12 the penalty swamps the ergotropy term below double precision anyway, and
  // lambda ~ 1e300 would overflow to inf.
  if (!std::isfinite(lambda) || lambda < 0 || lambda > 1e12)
    throw std::invalid_argument("lambda must be in [0, 1e12], got " + text(lambda));
  if (!std::isfinite(eta) || eta <= 0 || eta > 1)
    throw std::invalid_argument("eta must be in (0, 1], got " + text(eta));
}

long LossSettings::window(long n) const {
  const long h = std::lround(eta * static_cast<double>(n));
  return std::clamp(h, n > 0 ? 1L : 0L, n);
}

namespace {

// Adds lambda * sum_{k = n-h+1..n} |E_k - E_{k-1}| and its derivatives (the |dE/dk| term of
// Eq. (11); the sign's derivative is taken as 0 where the step vanishes).
void add_penalty(const LossSettings& s, const std::vector<double>& E, MeritValue& v) {
  const long n = static_cast<long>(E.size()) - 1;
  v.d_energy.assign(E.size(), 0.0);
  if (s.lambda == 0 || n < 1) return;
  double sum = 0;
  for (long k = n - s.window(n) + 1; k <= n; ++k) {
    const double d = E[k] - E[k - 1];
    sum += std::abs(d);
    const double sg = (d > 0) - (d < 0);
    v.d_energy[k] += s.lambda * sg;
    v.d_energy[k - 1] -= s.lambda * sg;
  }
  v.penalty = s.lambda * sum;
  v.value += v.penalty;
}

class Eq11 final : public FigureOfMerit {
 public:
  explicit Eq11(LossSettings s) : s_(s) {}
  std::string name() const override { return "eq11"; }
  // Eq. (11): L = -W (1-cbar)(1-qbar) / (W + (1-cbar) + (1-qbar)) + penalty; 0 when the
  // denominator vanishes (W = 0, cbar = qbar = 1).
  MeritValue evaluate(const ChargingRecord& run) const override {
    MeritValue v;
    const double W = run.ergotropy, u = 1 - run.mean_c, w = 1 - run.mean_q;
    const double D = W + u + w;
    v.ergotropy = W;
    if (D != 0) {
      v.value = -W * u * w / D;
      v.d_ergotropy = -u * w * (u + w) / (D * D);
      v.d_mean_c = W * w * (W + w) / (D * D);
      v.d_mean_q = W * u * (W + u) / (D * D);
    }
    add_penalty(s_, run.energy, v);
    return v;
  }

 private:
  LossSettings s_;
};

// -scale * W_n + penalty (scale = 1 for "ergotropy", 1/n for "power").
class NegErgotropy final : public FigureOfMerit {
 public:
  NegErgotropy(LossSettings s, bool per_collision) : s_(s), power_(per_collision) {}
  std::string name() const override { return power_ ? "power" : "ergotropy"; }
  MeritValue evaluate(const ChargingRecord& run) const override {
    MeritValue v;
    const double n = static_cast<double>(run.energy.size() - 1);
    const double scale = power_ ? 1.0 / n : 1.0;
    v.ergotropy = run.ergotropy;
    v.value = -scale * run.ergotropy;
    v.d_ergotropy = -scale;
    add_penalty(s_, run.energy, v);
    return v;
  }

 private:
  LossSettings s_;
  bool power_;
};

// -E_n + penalty.
class NegEnergy final : public FigureOfMerit {
 public:
  explicit NegEnergy(LossSettings s) : s_(s) {}
  std::string name() const override { return "energy"; }
  MeritValue evaluate(const ChargingRecord& run) const override {
    MeritValue v;
    v.ergotropy = run.ergotropy;
    v.value = -run.energy.back();
    add_penalty(s_, run.energy, v);
    v.d_energy.back() -= 1.0;
    return v;
  }

 private:
  LossSettings s_;
};

}  // namespace

std::vector<std::string> figure_of_merit_names() {
  return {"eq11", "ergotropy", "energy", "power"};
}

std::unique_ptr<FigureOfMerit> make_figure_of_merit(const std::string& name,
                                                    const LossSettings& settings) {
  settings.validate();
  if (name == "eq11") return std::make_unique<Eq11>(settings);
  if (name == "ergotropy") return std::make_unique<NegErgotropy>(settings, false);
  if (name == "power") return std::make_unique<NegErgotropy>(settings, true);
  if (name == "energy") return std::make_unique<NegEnergy>(settings);
  throw std::invalid_argument("unknown loss '" + name +
                              "' (known: eq11, ergotropy, energy, power)");
}

}  // namespace qbopt

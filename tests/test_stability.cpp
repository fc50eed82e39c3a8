// The spectral stability loss (issue 8): "eq11-spectral" = Eq. (11)'s first term plus
// lambda * (-ln|lambda_1|) of the last batch's one-step map, its exact gradient against central
// differences, the penalty against spectrum(), its errors, and the lifetime ranking of the
// paper's Sec. 3.1 optima against the drift of their long runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <qbopt/qbopt.hpp>
#include <qbopt/stability.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "dense_reference.hpp"

using namespace qbopt;
using qbopt_test::report;

namespace {

// Central differences with step 1e-5 of a loss whose spectral part is -ln|lambda_1| ~ 1e-5
// resolved to ~1e-16 absolute (Rayleigh quotient of a 1e-10-residual eigenvector): rounding
// 1e-16 / 1e-5 ~ 1e-11 and truncation h^2 L'''/6 ~ 1e-10, against a largest component ~0.1..1.
constexpr double kGradientTol = 1e-5;
// The penalty against a separate spectrum() run with the CLI's settings (one deflation round,
// K = 6): both resolve lambda_1 to ~1e-15, relative to rates ~1e-6..1e-5.
constexpr double kPenaltyTol = 1e-8;

struct Case {
  std::string what;
  std::vector<Batch> batches;
  double weight;
  bool free_g;  // also dL/d(global g)
};

// Largest |analytic - central difference| over c, q (and an own g) of every batch and the
// global g, relative to the largest analytic component.
double gradient_error(const Case& cs, int N) {
  ModelConfig config("micromaser", N);
  const Loss loss = make_loss("eq11-spectral", {cs.weight, 0.2});
  GradientOptions opt;
  opt.parameters = cs.free_g;
  LossEvaluator ev(opt);
  const Schedule schedule(cs.batches);
  SpectralPenaltyValue sp;
  const LossEvaluation le = evaluate(ev, *config.make(), schedule, loss, &sp);
  report(cs.what + ": penalty / loss", sp.value / std::abs(le.merit.value));
  EXPECT_GT(sp.value, 0.05 * std::abs(le.merit.value)) << "the penalty must matter in the test";

  GradientOptions value_only;
  value_only.gradient = false;
  LossEvaluator fv(value_only);
  const double h = 1e-5;
  double worst = 0, largest = 0;
  auto compare = [&](double analytic, auto set) {
    double f[2];
    for (int s = 0; s < 2; ++s) {
      ModelConfig m = config;
      std::vector<Batch> b = cs.batches;
      set(m, b, s == 0 ? h : -h);
      f[s] = evaluate(fv, *m.make(), Schedule(b), loss).merit.value;
    }
    const double fd = (f[0] - f[1]) / (2 * h);
    worst = std::max(worst, std::abs(analytic - fd));
    largest = std::max(largest, std::abs(analytic));
  };
  for (std::size_t b = 0; b < cs.batches.size(); ++b) {
    int pos = 0;
    for (int i = 0; i < 3; ++i) {
      if (!cs.batches[b].qubit.carries(i)) continue;
      compare(le.batches[b][pos++], [&](ModelConfig&, std::vector<Batch>& v, double d) {
        v[b].qubit.set_control(i, v[b].qubit.control(i) + d);
      });
    }
  }
  if (cs.free_g) {
    const int gi = config.spec().parameter_index("g");
    compare(le.parameters[gi], [&](ModelConfig& m, std::vector<Batch>&, double d) {
      m.set("g", m.get("g") + d);
    });
  }
  return worst / largest;
}

TEST(SpectralLoss, GradientMatchesCentralDifferences) {
  // (0.2, 0.4) as the last qubit: -ln|lambda_1| = 1.2e-5 at N = 50, away from trapping, so
  // the weight 1e4 makes the penalty comparable with Eq. (11)'s first term.
  std::vector<Case> cases = {
      {"one batch", {Batch{{0.2, 0.4}, 60, false}}, 1e4, false},
      {"two batches, global g", {Batch{{0.3, 0.15}, 20, false}, Batch{{0.2, 0.4}, 30, false}}, 1e4,
       true},
  };
  Batch own_g{{0.2, 0.4}, 40, false};
  own_g.qubit.set_control(2, 0.75);
  cases.push_back({"last batch with its own g", {Batch{{0.3, 0.15}, 20, false}, own_g}, 3e4, true});
  for (const auto& cs : cases) {
    const double err = gradient_error(cs, 50);
    report(cs.what + ": gradient error relative to the largest component", err);
    EXPECT_LT(err, kGradientTol) << cs.what;
  }
}

TEST(SpectralLoss, PenaltyIsWeightTimesDecayRateOfSpectrum) {
  // The paper's Sec. 3.1 lambda = 10 optimum, at N = 60 (a leaky truncation: no eigenvalue 1,
  // lambda_1 is the leading one).
  const int N = 60;
  const double weight = 1e5;
  ModelConfig config("micromaser", N);
  const auto model = config.make();
  const Qubit qubit{0.390, 0.168};
  const Spectrum s = spectrum(step_maps(*model, qubit).phi, N, SpectrumSettings{});
  ASSERT_TRUE(s.slowest_mode.has_value());
  const double expected = weight * -std::log(std::abs(s.eigenvalues[*s.slowest_mode]));
  const Loss loss = make_loss("eq11-spectral", {weight, 0.2});
  const SpectralPenaltyValue p = (*loss.spectral)(*model, qubit, false);
  const double err = std::abs(p.value - expected) / expected;
  report("penalty vs weight * -ln|lambda_1| of spectrum(), relative", err);
  EXPECT_LT(err, kPenaltyTol);
  EXPECT_NEAR(1.0 / p.decay_rate, *s.lifetime, kPenaltyTol * *s.lifetime);

  // Through the loss: the first term of eq11 plus the penalty, the figure's own penalty off.
  const Schedule schedule({Batch{qubit, 100, false}});
  LossEvaluator ev;
  const LossEvaluation spectral = evaluate(ev, *model, schedule, loss);
  const auto first = make_figure_of_merit("eq11", {0.0, 0.2});
  const LossEvaluation plain = evaluate_loss(*model, schedule, *first);
  const double split = std::abs(spectral.merit.value - (plain.merit.value + expected));
  report("eq11-spectral - (eq11 at lambda 0 + penalty)", split);
  EXPECT_LT(split, kPenaltyTol * expected);
  EXPECT_DOUBLE_EQ(spectral.merit.penalty, p.value);
}

// The evaluator's stop hook reaches the Arnoldi runs of the spectral penalty: a hook that
// asks to stop after the trajectory's few polls interrupts the evaluation inside a spectrum
// (which polls once per application of the map), instead of letting it finish.
TEST(SpectralLoss, StopHookReachesTheSpectrum) {
  const int N = 60;
  ModelConfig config("micromaser", N);
  const auto model = config.make();
  const Schedule schedule({Batch{{0.390, 0.168}, 100, false}});
  const Loss loss = make_loss("eq11-spectral", {7.0, 0.2});
  std::atomic<int> calls{0};
  GradientOptions o;
  o.should_stop = [&] { return calls.fetch_add(1) >= 50; };
  LossEvaluator ev(o);
  EXPECT_THROW(evaluate(ev, *model, schedule, loss), Interrupted);
  // 100 collisions at N = 60 poll a handful of times; the spectrum polled the rest.
  EXPECT_GT(calls.load(), 50);
}

TEST(SpectralLoss, NamesAndErrors) {
  const Loss l = make_loss("eq11-spectral", {7.0, 0.2});
  ASSERT_TRUE(l.spectral.has_value());
  EXPECT_EQ(l.spectral->weight(), 7.0);
  EXPECT_EQ(l.merit->name(), "eq11");
  EXPECT_FALSE(make_loss("eq11", {7.0, 0.2}).spectral.has_value());
  EXPECT_TRUE(make_loss("power-spectral", {1.0, 0.2}).spectral.has_value());
  for (const char* bad : {"eq11-spectra", "spectral", "-spectral", "nope-spectral"})
    EXPECT_THROW(make_loss(bad, {1.0, 0.2}), std::invalid_argument) << bad;

  // Near trapping: at N = 50, (0.8, 0.4) has its leading eigenvalue within 1e-9 of 1. With
  // K = 1 there is no decay mode to penalize: a clear error, never NaN or a silent 0.
  ModelConfig config("micromaser", 50);
  const auto model = config.make();
  SpectrumSettings one = SpectralPenalty::default_settings();
  one.count = 1;
  const SpectralPenalty p(1.0, one);
  EXPECT_THROW(p(*model, Qubit{0.8, 0.4}), SpectralPenaltyError);
  // With the default K the next mode is found.
  const SpectralPenaltyValue v = SpectralPenalty(1.0)(*model, Qubit{0.8, 0.4});
  report("(0.8, 0.4) at N = 50: decay rate", v.decay_rate);
  EXPECT_TRUE(std::isfinite(v.value) && v.value > 0);
}

// Item 3 of issue 8: the lifetime from `spectrum` ranks the paper's Sec. 3.1 optima the way
// their long runs rank by drift |W(10^5) - W(10^4)| (a longer lifetime, a smaller drift).
TEST(SpectralLoss, LifetimeRanksPaperOptimaLikeLongRunDrift) {
  const int N = 150;
  std::vector<std::pair<double, double>> optima;  // lambda = 1..1000
  for (const PaperScenario& sc : paper_scenarios())
    if (sc.section == "3.1") optima.emplace_back(sc.paper[0].c, sc.paper[0].q);
  ASSERT_EQ(optima.size(), 4u);
  ModelConfig config("micromaser", N);
  const auto model = config.make();
  std::vector<double> lifetime, drift;
  for (const auto& [c, q] : optima) {
    const Spectrum s = spectrum(step_maps(*model, Qubit{c, q}).phi, N, SpectrumSettings{});
    ASSERT_TRUE(s.lifetime.has_value());
    lifetime.push_back(*s.lifetime);
    SimulateOptions so;
    so.samples = 0;
    // 10^4 collisions from |0><0|, then 9 10^4 more from there.
    const Trajectory t4 = simulate(*model, Schedule({Batch{{c, q}, 10000, false}}), so);
    const Trajectory t5 =
        simulate(*model, Schedule({Batch{{c, q}, 90000, false}}), t4.final_state, so);
    drift.push_back(std::abs(ergotropy(t5.final_state) - ergotropy(t4.final_state)));
    std::ostringstream name;
    name << "(" << c << ", " << q << ")";
    report(name.str() + " lifetime", lifetime.back());
    report(name.str() + " drift |W(1e5) - W(1e4)|", drift.back());
  }
  std::vector<int> by_lifetime(optima.size()), by_drift(optima.size());
  std::iota(by_lifetime.begin(), by_lifetime.end(), 0);
  std::iota(by_drift.begin(), by_drift.end(), 0);
  std::sort(by_lifetime.begin(), by_lifetime.end(),
            [&](int a, int b) { return lifetime[a] > lifetime[b]; });
  std::sort(by_drift.begin(), by_drift.end(), [&](int a, int b) { return drift[a] < drift[b]; });
  EXPECT_EQ(by_lifetime, by_drift);
}

}  // namespace

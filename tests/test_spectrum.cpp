// Spectral stability (issue 8): the leading eigenvalues of the collision map against closed
// forms, trapping chambers, eigen-residuals, the eigenvalue perturbation formula and the decay
// of a long simulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>
#include <qbopt/qbopt.hpp>
#include <qbopt/spectrum.hpp>
#include <vector>

#include "dense_reference.hpp"

using namespace qbopt;
using qbopt_test::report;
using qbopt_test::worst_of;

namespace {

const double kPaperG = kPaperCoupling;

// Arnoldi at tolerance 1e-10 on a map with |lambda| <= 1: Ritz residuals ~1e-10 relative,
// the eigenvalue error of a well-conditioned eigenvalue is of that order; the triangular c = 0
// maps are non-normal, which can amplify it, so 1e-8 on the moduli.
constexpr double kClosedFormTol = 1e-8;
// The brief's residual bound ||Phi v - lambda v|| / ||v|| (Spectra's tolerance is 1e-10
// relative to |mu| = |lambda|^p; lifting and Rayleigh quotient add rounding only).
constexpr double kResidualTol = 1e-8;
// A steady state is in the eigenspace of 1 up to the eigenvectors' residual (above).
constexpr double kFixedPointTol = 1e-8;
// Probability of a chamber's steady state outside its chamber: levels are coupled only
// through S_n = 0 at the chamber walls, so it is rounding of the split (~1e-12).
constexpr double kChamberLeakTol = 1e-9;
// Central differences with step 1e-4 of eigenvalues computed to ~1e-14 (tolerance 1e-13):
// truncation h^2 lambda'''/6 ~ 1e-9, rounding 1e-14 / 1e-4 = 1e-10, against derivatives of
// order 1e-5..1: the brief's 1e-5 relative bound holds.
constexpr double kGradientTol = 1e-5;

// The step maps of the library's adaptor (step_maps), for the micromaser with a fixed qubit.
struct Maps {
  Micromaser model;
  Qubit qubit;
  LinearMap phi, phi_t;
  MapDerivative dphi;  // d<left, Phi(right)>/d(c, q)
  Maps(double g, int N, Qubit qb) : model(g, N), qubit(qb) {
    StepMaps m = step_maps(model, qubit);
    phi = m.phi;
    phi_t = m.phi_transpose;
    dphi = m.derivative;
  }
  Maps(const Maps&) = delete;  // the callbacks refer to `model`
};

std::vector<double> sorted_moduli(const std::vector<std::complex<double>>& v) {
  std::vector<double> m;
  for (auto x : v) m.push_back(std::abs(x));
  std::sort(m.rbegin(), m.rend());
  return m;
}

// With c = 0 the map is triangular in the level ordering; its diagonal (the spectrum) is
// q C_m C_n + (1-q) C_m+1 C_n+1 on r_mn, 0 <= n <= m <= N-1: {C_m+1 C_n+1} at q = 0 and
// {C_m C_n} at q = 1 (C_n = cos(g sqrt n); C_N enters at the truncation edge m = N-1).
std::vector<double> closed_form_moduli(double g, int N, double q, int K) {
  auto C = [g](int n) { return std::cos(g * std::sqrt(static_cast<double>(n))); };
  std::vector<double> m;
  for (int n = 0; n < N; ++n)
    for (int k = n; k < N; ++k) {
      m.push_back(std::abs(q * C(k) * C(n) + (1 - q) * C(k + 1) * C(n + 1)));
    }
  std::sort(m.rbegin(), m.rend());
  m.resize(K);
  return m;
}

}  // namespace

TEST(Spectrum, SettingsValidationNamesTheField) {
  auto message = [](SpectrumSettings s) {
    try {
      s.validate(100);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  SpectrumSettings s;
  EXPECT_EQ(message(s), "");
  s.count = 0;
  EXPECT_NE(message(s).find("count"), std::string::npos);
  s = {};
  s.krylov_dim = 3;
  EXPECT_NE(message(s).find("krylov_dim"), std::string::npos);
  s = {};
  s.power = 4;
  EXPECT_NE(message(s).find("power"), std::string::npos);
  s = {};
  s.tolerance = 0;
  EXPECT_NE(message(s).find("tolerance"), std::string::npos);
  s = {};
  s.deflation_rounds = -1;
  EXPECT_NE(message(s).find("deflation_rounds"), std::string::npos);
  EXPECT_EQ(SpectrumSettings{}.krylov_dim_for(100), 20);
  EXPECT_EQ(SpectrumSettings{}.krylov_dim_for(10), 10);
}

// c = 0, q in {0, 1}: the top-K moduli against the sorted closed-form set.
TEST(Spectrum, IncoherentMapsMatchTheClosedForm) {
  const int K = 8;
  for (double q : {0.0, 1.0}) {
    for (auto [g, N] : {std::pair{1.0, 30}, std::pair{kPaperG, 50}, std::pair{0.45, 40}}) {
      Maps maps(g, N, {0.0, q});
      SpectrumSettings st;
      st.count = K;
      const Spectrum s = spectrum(maps.phi, N, st);
      ASSERT_TRUE(s.converged);
      ASSERT_EQ(static_cast<int>(s.eigenvalues.size()), K);
      const auto got = sorted_moduli(s.eigenvalues);
      const auto want = closed_form_moduli(g, N, q, K);
      double err = 0;
      for (int k = 0; k < K; ++k) err = worst_of(err, std::abs(got[k] - want[k]));
      report("closed form q=" + std::to_string(q) + " g=" + std::to_string(g) + " N=" +
                 std::to_string(N) + " max |lambda| error",
             err);
      EXPECT_LT(err, kClosedFormTol);
    }
  }
}

// g = pi/2: S_n = sin(pi sqrt(n)/2) vanishes at n = 4, 16, 36, which cuts N = 36 levels into
// the trapping chambers 0..3, 4..15, 16..35. Each keeps its probability, so eigenvalue 1 has
// multiplicity 3, one steady state per chamber.
TEST(Spectrum, FineTunedCouplingHasOneSteadyStatePerChamber) {
  const int N = 36;
  const std::vector<std::pair<int, int>> chambers = {{0, 3}, {4, 15}, {16, 35}};
  Maps maps(std::numbers::pi / 2, N, {0.5, 0.2});
  const Spectrum s = spectrum(maps.phi, N);
  ASSERT_TRUE(s.converged);
  int unit = 0;
  for (auto x : s.eigenvalues) unit += std::abs(x - 1.0) < 1e-9;
  std::cout << "[ measured ] eigenvalues within 1e-9 of 1: " << unit << " (chambers "
            << chambers.size() << "), matvecs " << s.matvecs << "\n";
  EXPECT_EQ(unit, static_cast<int>(chambers.size()));
  ASSERT_EQ(s.steady_states.size(), chambers.size());
  EXPECT_TRUE(s.steady_states_split);
  for (std::size_t i = 0; i < chambers.size(); ++i) {
    const SteadyState& ss = s.steady_states[i];
    const Eigen::MatrixXd r = ss.state.matrix();
    const double residual = eigen_residual(maps.phi, 1.0, r.cast<std::complex<double>>());
    double outside = 0;
    for (int m = 0; m < N; ++m)
      if (m < chambers[i].first || m > chambers[i].second) outside += std::abs(r(m, m));
    const double min_eig = Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd>(r).eigenvalues()(0);
    const std::string tag = "chamber " + std::to_string(chambers[i].first) + ".." +
                            std::to_string(chambers[i].second);
    report(tag + " fixed-point residual", residual);
    report(tag + " population outside", outside);
    report(tag + " smallest eigenvalue of r", min_eig);
    std::cout << "           E " << ss.energy << " W " << ss.ergotropy << " P " << ss.purity
              << " Tr " << trace(ss.state) << "\n";
    EXPECT_LT(residual, kFixedPointTol);
    EXPECT_LT(outside, kChamberLeakTol);
    EXPECT_NEAR(trace(ss.state), 1.0, 1e-12);
    EXPECT_GT(min_eig, -kFixedPointTol);  // a density matrix, not just a fixed point
  }
  // Without the deflation round one Krylov space may see fewer copies: the default matters.
  SpectrumSettings plain;
  plain.deflation_rounds = 0;
  const Spectrum p = spectrum(maps.phi, N, plain);
  int plain_unit = 0;
  for (auto x : p.eigenvalues) plain_unit += std::abs(x - 1.0) < 1e-9;
  std::cout << "[ measured ] without deflation: " << plain_unit << " eigenvalues at 1\n";
}

// Every returned eigenpair, on coherent and incoherent cases, real and complex spectra.
TEST(Spectrum, EigenpairResiduals) {
  struct Case {
    double g;
    int N;
    Qubit qb;
  };
  for (const Case& c : {Case{kPaperG, 150, {0.39, 0.168}}, Case{kPaperG, 60, {0.39, 0.168}},
                        Case{std::numbers::pi / 2, 36, {0.5, 0.2}}, Case{1.0, 30, {0.0, 0.3}},
                        Case{0.3, 25, {0.9, 0.5}}, Case{1.3, 40, {1.0, 0.5}}}) {
    Maps maps(c.g, c.N, c.qb);
    SpectrumSettings st;
    st.count = 10;
    const Spectrum s = spectrum(maps.phi, c.N, st);
    EXPECT_TRUE(s.converged);
    double worst = 0;
    int complex_pairs = 0;
    for (std::size_t j = 0; j < s.eigenvalues.size(); ++j) {
      worst = worst_of(worst, eigen_residual(maps.phi, s.eigenvalues[j], s.eigenvectors[j]));
      complex_pairs += s.eigenvalues[j].imag() != 0.0;
      // Decreasing modulus.
      if (j > 0) {
        EXPECT_LE(std::abs(s.eigenvalues[j]), std::abs(s.eigenvalues[j - 1]) + 1e-12);
      }
    }
    report("g=" + std::to_string(c.g) + " N=" + std::to_string(c.N) + " c=" +
               std::to_string(c.qb.c) + " q=" + std::to_string(c.qb.q) + " (" +
               std::to_string(complex_pairs) + " complex) worst residual",
           worst);
    EXPECT_LT(worst, kResidualTol);
  }
}

// d lambda/d(c, q) from the left/right eigenvectors and Micromaser::pullback, against
// central differences of the eigenvalue itself: the slowest decay mode at the paper's g, and
// every simple eigenvalue (complex pairs included) of a strongly coherent case.
TEST(Spectrum, EigenvalueGradientMatchesFiniteDifferences) {
  struct Case {
    double g;
    int N;
    Qubit qb;
    bool all;  // every simple eigenvalue of the top K, not only lambda_1
  };
  int complex_checked = 0;
  for (const Case& c : {Case{kPaperG, 40, {0.39, 0.168}, false},
                        Case{0.3, 25, {0.9, 0.5}, true}, Case{1.3, 40, {1.0, 0.5}, true}}) {
    SpectrumSettings st;
    st.tolerance = 1e-13;
    Maps maps(c.g, c.N, c.qb);
    const Spectrum s = spectrum(maps.phi, c.N, st);
    ASSERT_TRUE(s.slowest_mode);
    std::vector<std::size_t> modes = {*s.slowest_mode};
    if (c.all) {
      modes.clear();
      for (std::size_t j = 0; j < s.eigenvalues.size(); ++j)
        if (std::abs(s.eigenvalues[j] - 1.0) > 1e-9) modes.push_back(j);
    }
    for (std::size_t j : modes) {
      const std::complex<double> lambda = s.eigenvalues[j];
      EigenvalueSensitivity d;
      try {
        d = eigenvalue_sensitivity(s, j, maps.phi_t, maps.dphi, st);
      } catch (const std::runtime_error& e) {
        std::cout << "           skip " << lambda << ": " << e.what() << "\n";
        continue;
      }
      // The eigenvalue of the perturbed map nearest lambda.
      auto eig = [&](Qubit qb) {
        Maps m(c.g, c.N, qb);
        const Spectrum t = spectrum(m.phi, c.N, st);
        return *std::min_element(t.eigenvalues.begin(), t.eigenvalues.end(),
                                 [&](auto a, auto b) {
                                   return std::abs(a - lambda) < std::abs(b - lambda);
                                 });
      };
      const double h = 1e-4;
      const std::complex<double> fd_c =
          (eig({c.qb.c + h, c.qb.q}) - eig({c.qb.c - h, c.qb.q})) / (2 * h);
      const std::complex<double> fd_q =
          (eig({c.qb.c, c.qb.q + h}) - eig({c.qb.c, c.qb.q - h})) / (2 * h);
      // Errors relative to the gradient's scale (its largest component): a component that
      // vanishes by symmetry (dlambda/dq of lambda = -1 at c = 1) has no relative error.
      const double scale = std::max(std::abs(fd_c), std::abs(fd_q));
      const double err_c = std::abs(d.eigenvalue_derivative[0] - fd_c) / scale;
      const double err_q = std::abs(d.eigenvalue_derivative[1] - fd_q) / scale;
      // d(-ln|lambda|)/d(c, q) against -Re(fd/lambda) (same finite differences).
      const double rate_c = -(fd_c / lambda).real(), rate_q = -(fd_q / lambda).real();
      const double rate_err = std::max(std::abs(d.decay_rate_derivative[0] - rate_c),
                                       std::abs(d.decay_rate_derivative[1] - rate_q)) /
                              std::max(std::abs(rate_c), std::abs(rate_q));
      complex_checked += lambda.imag() != 0.0;
      std::cout << "           lambda " << lambda << " dlambda/dc " << d.eigenvalue_derivative[0]
                << " (fd " << fd_c << ") dlambda/dq " << d.eigenvalue_derivative[1] << " (fd "
                << fd_q << ")\n";
      std::ostringstream tag;
      tag << "g=" << c.g << " N=" << c.N << " lambda=" << lambda;
      report(tag.str() + " dlambda/dc rel error", err_c);
      report(tag.str() + " dlambda/dq rel error", err_q);
      report(tag.str() + " d(-ln|lambda|)/d(c,q) rel error", rate_err);
      EXPECT_LT(err_c, kGradientTol);
      EXPECT_LT(err_q, kGradientTol);
      EXPECT_LT(rate_err, kGradientTol);
    }
  }
  EXPECT_GT(complex_checked, 0) << "no complex eigenvalue was differentiated";
}

// The lifetime is the relaxation time of a long run. At the paper's g the state leaves the
// first near-trapping chamber slowly; once the faster modes have died out (|lambda_3|^k with
// |lambda_3| ~ 0.9997 is e^-29 at k = 1e5), the drift d_k = r_k+1 - r_k = (Phi - 1) r_k is
// the slowest decay mode alone, d_k ~ (lambda_1 - 1) a_1 lambda_1^k v_1, so
// ||d_k2|| / ||d_k1|| = |lambda_1|^(k2 - k1). The quasi-steady modes (|1 - lambda| ~ 1e-12)
// add a non-decaying drift ~1e-12 / 3.5e-7 ~ 3e-6 relative: the measured rate agrees to
// ~1e-4, the tolerance below is 1e-3 relative.
TEST(Spectrum, LifetimeIsTheDecayRateOfALongRun) {
  constexpr double kLifetimeTol = 1e-3;
  const int N = 150;
  const Qubit qb{0.39, 0.168};
  Maps maps(kPaperG, N, qb);
  const Spectrum s = spectrum(maps.phi, N);
  ASSERT_TRUE(s.lifetime);
  const double rate = 1.0 / *s.lifetime;

  const long k1 = 100'000, k2 = 200'000;
  const Schedule sched({{qb, k2 + 1, false}});
  State r(N), tmp(N), next(N);
  auto drift = [&]() {
    maps.model.apply(qb, r, next);
    return (next.matrix() - r.matrix()).norm();
  };
  propagate(maps.model, sched, 0, k1, r, tmp);
  const double d1 = drift();
  propagate(maps.model, sched, k1, k2, r, tmp);
  const double d2 = drift();
  const double measured = -std::log(d2 / d1) / static_cast<double>(k2 - k1);
  const double err = std::abs(measured - rate) / rate;
  std::cout << "           lifetime " << *s.lifetime << " (lambda_1 "
            << s.eigenvalues[*s.slowest_mode] << "), drift " << d1 << " -> " << d2
            << ", measured rate " << measured << " vs 1/lifetime " << rate << "\n";
  report("decay rate of the drift vs 1/lifetime, rel error", err);
  EXPECT_LT(err, kLifetimeTol);
}

// The O(N^2) collision kernel (docs/physics.md section 3) against an independent dense reference
// (the 2N x 2N unitary from a matrix exponential), trace, leakage, symmetry and positivity.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <qbopt/qbopt.hpp>
#include <random>
#include <vector>

#include "dense_reference.hpp"

using namespace qbopt;
using qbopt_test::DenseMicromaser;
using qbopt_test::least_of;
using qbopt_test::max_abs;
using qbopt_test::max_abs_diff;
using qbopt_test::min_coeff;
using qbopt_test::report;
using qbopt_test::worst_of;

namespace {

// Matrix exponential (Pade, scaling and squaring) of a 2N x 2N matrix of norm <~ 10: a few
// hundred ulps.
constexpr double kUnitaryTol = 1e-13;
// The brief's agreement target for rho (max abs elementwise): both sides are O(N^2) sums of
// O(1) terms per collision, rounding accumulates to ~1e-14 over tens of collisions.
constexpr double kRhoTol = 1e-12;
// E and W are sums of N terms weighted by levels up to N (~30): 1e-12 per element times N.
constexpr double kObservableTol = 1e-10;
// Tr r after tens of collisions: each collision preserves it up to rounding of O(N) terms.
constexpr double kTraceTol = 1e-13;
// Positivity: smallest eigenvalue of r may go negative only by eigensolver rounding.
constexpr double kPositivityTol = 1e-12;
// Eigenvalues of rho (general complex solver) against those of r (symmetric solver), 40 levels.
constexpr double kSpectrumTol = 1e-12;

double uniform(std::mt19937& rng, double a, double b) {
  return std::uniform_real_distribution<double>(a, b)(rng);
}

// (c, q) in [0,1]^2 with the edges c, q in {0, 1} drawn now and then.
Qubit random_qubit(std::mt19937& rng) {
  auto draw = [&] {
    const double u = uniform(rng, 0, 1);
    if (u < 0.08) return 0.0;
    if (u < 0.16) return 1.0;
    return uniform(rng, 0, 1);
  };
  return {draw(), draw()};
}

// Runs the fast kernel and the dense reference side by side over `qubits`, from |0><0|,
// and returns the largest elementwise difference of rho over all steps.
double max_trajectory_error(double g, int N, const std::vector<Qubit>& qubits) {
  const DenseMicromaser dense(g, N);
  const Micromaser fast(g, N);
  State s(N), tmp = State::zeros(N);
  Eigen::MatrixXcd rho = dense.vacuum();
  double err = 0;
  for (const Qubit& qb : qubits) {
    fast.apply(qb, s, tmp);
    std::swap(s, tmp);
    rho = dense.apply(rho, qb.c, qb.q);
    err = worst_of(err, max_abs_diff(s.density_matrix(), rho));
  }
  return err;
}

}  // namespace

// The reference itself follows the block structure of docs/physics.md section 3:
// U|n,g> = C_n|n,g> - i S_n|n-1,e>, U|n,e> = C_{n+1}|n,e> - i S_{n+1}|n+1,g>.
TEST(DenseReference, UnitaryHasTheJaynesCummingsBlocks) {
  const int N = 12;
  for (double g : {0.3, 0.795, std::acos(-1.0) / 4, 1.7}) {
    const DenseMicromaser d(g, N);
    const Eigen::MatrixXcd& U = d.unitary();
    const double unitarity = max_abs(U * U.adjoint() - Eigen::MatrixXcd::Identity(2 * N, 2 * N));
    double block = 0;
    const std::complex<double> I(0, 1);
    for (int n = 0; n < N; ++n) {
      Eigen::VectorXcd expect = Eigen::VectorXcd::Zero(2 * N);
      // |n,g>
      expect(2 * n) = std::cos(g * std::sqrt(n));
      if (n > 0) expect(2 * (n - 1) + 1) = -I * std::sin(g * std::sqrt(n));
      block = worst_of(block, max_abs(U.col(2 * n) - expect));
      // |n,e>, except the truncated top level
      if (n + 1 < N) {
        expect.setZero();
        expect(2 * n + 1) = std::cos(g * std::sqrt(n + 1));
        expect(2 * (n + 1)) = -I * std::sin(g * std::sqrt(n + 1));
        block = worst_of(block, max_abs(U.col(2 * n + 1) - expect));
      }
    }
    report("unitarity error g=" + std::to_string(g), unitarity);
    report("block structure error g=" + std::to_string(g), block);
    EXPECT_LT(unitarity, kUnitaryTol);
    EXPECT_LT(block, kUnitaryTol);
  }
}

// One collision from a random (generic, full-rank) state supported below the top level.
TEST(CollisionVsDense, SingleCollisionFromRandomStates) {
  std::mt19937 rng(20240611);
  const int N = 14;
  double worst = 0;
  for (int trial = 0; trial < 40; ++trial) {
    const double g = uniform(rng, 0.05, 3.0);
    const Qubit qb = random_qubit(rng);
    const Eigen::MatrixXd r0 = qbopt_test::random_density(N, N - 1, N - 1, rng);
    const State in = State::from_matrix(r0);
    State out = State::zeros(N);
    Micromaser(g, N).apply(qb, in, out);
    const Eigen::MatrixXcd rho = DenseMicromaser(g, N).apply(in.density_matrix(), qb.c, qb.q);
    worst = worst_of(worst, max_abs_diff(out.density_matrix(), rho));
  }
  report("max |rho_fast - rho_dense| (40 random single collisions)", worst);
  EXPECT_LT(worst, kRhoTol);
}

// Per-collision random qubits from |0><0|: every intermediate state agrees.
TEST(CollisionVsDense, RandomPerCollisionTrajectories) {
  std::mt19937 rng(7);
  const int N = 32, n = 30;  // after 30 collisions levels 0..30 are populated: N - 1 = 31 never
  double worst = 0;
  for (int trial = 0; trial < 6; ++trial) {
    const double g = uniform(rng, 0.05, 2.5);
    std::vector<Qubit> qubits;
    for (int k = 0; k < n; ++k) qubits.push_back(random_qubit(rng));
    worst = worst_of(worst, max_trajectory_error(g, N, qubits));
  }
  report("max |rho_fast - rho_dense| over 6 random trajectories of 30 collisions", worst);
  EXPECT_LT(worst, kRhoTol);
}

// Multi-batch schedules through simulate(): final rho, the energy at every collision, and
// the sampled figures of merit against the same quantities of the dense rho.
TEST(CollisionVsDense, MultiBatchSchedulesThroughSimulate) {
  std::mt19937 rng(99);
  const int N = 34;
  double worst_rho = 0, worst_E = 0, worst_P = 0, worst_W = 0, worst_L = 0;
  for (int trial = 0; trial < 5; ++trial) {
    const double g = uniform(rng, 0.1, 2.0);
    std::vector<Batch> batches;
    int remaining = 32;  // total collisions: N - 2, so level N-1 is never reached
    for (int b = 0; b < 3; ++b) {
      const int count = b == 2 ? remaining : 1 + static_cast<int>(uniform(rng, 0, 12));
      remaining -= count;
      batches.push_back({random_qubit(rng), count, false});
    }
    const Schedule sched(batches);
    SimulateOptions opt;
    opt.samples = 8;
    const Trajectory tr = simulate(Micromaser(g, N), sched, opt);

    const DenseMicromaser dense(g, N);
    std::vector<Eigen::MatrixXcd> rhos{dense.vacuum()};
    for (const Batch& b : batches)
      for (long k = 0; k < b.count; ++k)
        rhos.push_back(dense.apply(rhos.back(), b.qubit.c, b.qubit.q));
    ASSERT_EQ(tr.energy.size(), rhos.size());
    for (std::size_t k = 0; k < rhos.size(); ++k)
      worst_E = worst_of(worst_E, std::abs(tr.energy[k] - qbopt_test::dense_energy(rhos[k])));
    worst_rho = worst_of(worst_rho, max_abs_diff(tr.final_state.density_matrix(), rhos.back()));
    ASSERT_FALSE(tr.samples.empty());
    for (const Sample& s : tr.samples) {
      const Eigen::MatrixXcd& rho = rhos[s.k];
      worst_E = worst_of(worst_E, std::abs(s.energy - qbopt_test::dense_energy(rho)));
      worst_P = worst_of(worst_P, std::abs(s.purity - qbopt_test::dense_purity(rho)));
      worst_W = worst_of(worst_W, std::abs(s.ergotropy - qbopt_test::dense_ergotropy(rho)));
      worst_L = worst_of(worst_L, std::abs(s.leakage - (1 - qbopt_test::dense_trace(rho))));
    }
    // The library's observables on the final State, too.
    const State& f = tr.final_state;
    worst_E = worst_of(worst_E, std::abs(energy(f) - qbopt_test::dense_energy(rhos.back())));
    worst_P = worst_of(worst_P, std::abs(purity(f) - qbopt_test::dense_purity(rhos.back())));
    worst_W = worst_of(worst_W, std::abs(ergotropy(f) - qbopt_test::dense_ergotropy(rhos.back())));
  }
  report("max |rho_fast - rho_dense| (final, 5 three-batch schedules)", worst_rho);
  report("max |E - E_dense|", worst_E);
  report("max |P - P_dense|", worst_P);
  report("max |W - W_dense|", worst_W);
  report("max |leakage - (1 - Tr rho_dense)|", worst_L);
  EXPECT_LT(worst_rho, kRhoTol);
  EXPECT_LT(worst_E, kObservableTol);
  EXPECT_LT(worst_P, kObservableTol);
  EXPECT_LT(worst_W, kObservableTol);
  EXPECT_LT(worst_L, kTraceTol);
}

// c = 0 (kappa = 0) takes the O(N) diagonal path; it must agree with the dense reference,
// also when a schedule switches c = 0 -> c > 0 -> c = 0, and with c > 0 but q in {0, 1}.
TEST(IncoherentPath, AgreesWithDenseIncludingSwitches) {
  std::mt19937 rng(4242);
  const int N = 30;
  const double g = 0.795;
  const Micromaser fast(g, N);

  // Purely incoherent: the state stays diagonal (fast path) and matches.
  std::vector<Qubit> incoherent;
  for (int k = 0; k < 28; ++k) incoherent.push_back({0.0, uniform(rng, 0, 1)});
  const double err_incoherent = max_trajectory_error(g, N, incoherent);
  {
    const Trajectory tr = simulate(fast, Schedule::per_collision(incoherent), {});
    EXPECT_TRUE(tr.final_state.diagonal()) << "c = 0 from |0> should keep the state diagonal";
  }

  // kappa = 0 with c > 0 (q = 0 or 1) is incoherent too.
  std::vector<Qubit> kappa_zero;
  for (int k = 0; k < 28; ++k) kappa_zero.push_back({uniform(rng, 0.1, 1), k % 3 == 0 ? 1.0 : 0.0});
  const double err_kappa_zero = max_trajectory_error(g, N, kappa_zero);

  // c = 0 -> c > 0 -> c = 0: after the coherent batch the state is no longer diagonal and
  // the c = 0 collisions must carry its coherences.
  const std::vector<Batch> batches{
      {{0.0, 0.2}, 8, false}, {{0.7, 0.3}, 6, false}, {{0.0, 0.1}, 14, false}};
  std::vector<Qubit> switching;
  for (const Batch& b : batches)
    for (long k = 0; k < b.count; ++k) switching.push_back(b.qubit);
  const double err_switch = max_trajectory_error(g, N, switching);
  {
    const Trajectory tr = simulate(fast, Schedule(batches), {});
    EXPECT_FALSE(tr.final_state.diagonal());
    const Eigen::MatrixXcd rho = [&] {
      const DenseMicromaser d(g, N);
      Eigen::MatrixXcd r = d.vacuum();
      for (const Qubit& qb : switching) r = d.apply(r, qb.c, qb.q);
      return r;
    }();
    const double err_sim = max_abs_diff(tr.final_state.density_matrix(), rho);
    report("switching schedule via simulate(): max |rho - rho_dense|", err_sim);
    EXPECT_LT(err_sim, kRhoTol);
  }

  report("c = 0 trajectory: max |rho - rho_dense|", err_incoherent);
  report("kappa = 0 (c > 0, q in {0,1}) trajectory: max |rho - rho_dense|", err_kappa_zero);
  report("c = 0 -> 0.7 -> 0 trajectory: max |rho - rho_dense|", err_switch);
  EXPECT_LT(err_incoherent, kRhoTol);
  EXPECT_LT(err_kappa_zero, kRhoTol);
  EXPECT_LT(err_switch, kRhoTol);
}

// The output buffer's previous content must not leak into the result.
TEST(Collision, OutputBufferReuseIsHarmless) {
  std::mt19937 rng(5);
  const int N = 16;
  const Micromaser model(0.9, N);
  State in = State::from_matrix(qbopt_test::random_density(N, 6, 6, rng));
  in.set_top(5);  // levels 6.. are zero: one collision writes levels 0..6
  State fresh = State::zeros(N);
  model.apply({0.4, 0.3}, in, fresh);
  double worst = 0;
  // Dirty buffers: a full random state (top N-1 > 6), and one with top 2 < 6.
  for (int support : {N, 3}) {
    State dirty = State::from_matrix(qbopt_test::random_density(N, support, support, rng));
    dirty.set_top(support - 1);
    model.apply({0.4, 0.3}, in, dirty);
    worst = worst_of(worst, max_abs(dirty.matrix() - fresh.matrix()));
  }
  // Diagonal input into a previously coherent buffer.
  State diag_in(N);
  State a = State::zeros(N), b = State::from_matrix(qbopt_test::random_density(N, N, N, rng));
  model.apply({0.0, 0.3}, diag_in, a);
  model.apply({0.0, 0.3}, diag_in, b);
  worst = worst_of(worst, max_abs(a.matrix() - b.matrix()));
  report("max difference fresh vs reused output buffer", worst);
  EXPECT_EQ(worst, 0.0);
}

// Above the threading threshold (src/micromaser.cpp, collision_threads) one collision may be
// split over the OpenMP team by columns (forced here: QBOPT_COLLISION_SPLIT=on skips the
// timing that decides it); every element is computed by the same code as on one thread, so the
// result must be bit-identical for any team size, with an odd and an even number of columns
// (the last column unpaired), and into a dirty output buffer.
TEST(Collision, SplitOverThreadsIsBitIdentical) {
  std::mt19937 rng(11);
  const int saved = omp_get_max_threads();
  setenv("QBOPT_COLLISION_SPLIT", "on", 1);
  double worst = 0;
  for (int N : {700, 701}) {
    const Micromaser model(0.795, N);
    const State in = State::from_matrix(qbopt_test::random_density(N, N, N, rng));
    State serial = State::zeros(N);
    omp_set_num_threads(1);
    model.apply({0.39, 0.168}, in, serial);
    for (int threads : {2, 3}) {
      State split = State::from_matrix(qbopt_test::random_density(N, N, N, rng));
      omp_set_num_threads(threads);
      model.apply({0.39, 0.168}, in, split);
      worst = worst_of(worst, max_abs(split.matrix() - serial.matrix()));
    }
  }
  // Without the override the first large collision times both ways (running it several
  // times into the same buffer) and keeps the faster: the result is the same either way.
  unsetenv("QBOPT_COLLISION_SPLIT");
  {
    const int N = 701;
    const Micromaser model(0.795, N);
    const State in = State::from_matrix(qbopt_test::random_density(N, N, N, rng));
    State serial = State::zeros(N), timed = State::zeros(N);
    omp_set_num_threads(1);
    model.apply({0.39, 0.168}, in, serial);
    omp_set_num_threads(2);
    model.apply({0.39, 0.168}, in, timed);
    worst = worst_of(worst, max_abs(timed.matrix() - serial.matrix()));
  }
  omp_set_num_threads(saved);
  report("max |split - serial| over N = 700, 701 and 2, 3 threads", worst);
  EXPECT_EQ(worst, 0.0);
}

// Far from the top the trace is preserved.
TEST(TraceAndLeakage, TracePreservedFarFromTop) {
  std::mt19937 rng(11);
  const int N = 60;
  double worst = 0;
  for (int trial = 0; trial < 5; ++trial) {
    const Micromaser model(uniform(rng, 0.1, 2.5), N);
    const Qubit qb = random_qubit(rng);
    SimulateOptions opt;
    opt.samples = 10;
    const Trajectory tr = simulate(model, Schedule({{qb, 55, false}}), opt);
    for (const Sample& s : tr.samples) worst = worst_of(worst, std::abs(s.leakage));
    worst = worst_of(worst, std::abs(1.0 - tr.final_state.matrix().trace()));
  }
  report("max |1 - Tr r| far from the top (55 collisions, N = 60)", worst);
  EXPECT_LT(worst, kTraceTol);
}

// One collision on |N-1><N-1| loses exactly (1-q) sin^2(g sqrt N): the excited part of the
// qubit would push the battery to level N.
TEST(TraceAndLeakage, LeakageOfOneCollisionAtTheTop) {
  const int N = 6;
  double worst = 0;
  for (double g : {0.4, 0.795, 1.3})
    for (Qubit qb : {Qubit{0.0, 0.0}, Qubit{0.5, 0.3}, Qubit{1.0, 0.8}}) {
      Eigen::MatrixXd top = Eigen::MatrixXd::Zero(N, N);
      top(N - 1, N - 1) = 1.0;
      State out = State::zeros(N);
      Micromaser(g, N).apply(qb, State::from_matrix(top), out);
      const double expected = (1 - qb.q) * std::pow(std::sin(g * std::sqrt(N)), 2);
      worst = worst_of(worst, std::abs(leakage(out) - expected));
    }
  report("max |leakage - (1-q) sin^2(g sqrt N)|", worst);
  EXPECT_LT(worst, kTraceTol);
}

// With a small N the top level is reached. The truncated collision is P Phi(P r P) P with P
// the projector on levels 0..N-1: reproduced independently with the dense reference on N+2
// levels (one collision from levels < N reaches at most N, so its own truncation at N+1 is
// never felt) projected back after every collision. The leakage is then > 0, equal to
// 1 - Tr rho_dense, and non-decreasing.
TEST(TraceAndLeakage, LeakageWhenTheTopIsReached) {
  std::mt19937 rng(606);
  const int N = 6;
  double worst_rho = 0, worst_L = 0, min_step = 0, final_L = 0;
  for (int trial = 0; trial < 4; ++trial) {
    const double g = uniform(rng, 0.4, 1.5);
    const Micromaser fast(g, N);
    const DenseMicromaser dense(g, N + 2);
    State s(N), tmp = State::zeros(N);
    Eigen::MatrixXcd rho = Eigen::MatrixXcd::Zero(N, N);
    rho(0, 0) = 1;
    double previous = 0;
    for (int k = 1; k <= 20; ++k) {
      Qubit qb{uniform(rng, 0, 1), uniform(rng, 0.05, 0.5)};
      fast.apply(qb, s, tmp);
      std::swap(s, tmp);
      Eigen::MatrixXcd big = Eigen::MatrixXcd::Zero(N + 2, N + 2);
      big.topLeftCorner(N, N) = rho;
      rho = dense.apply(big, qb.c, qb.q).topLeftCorner(N, N);
      worst_rho = worst_of(worst_rho, max_abs_diff(s.density_matrix(), rho));
      const double L = leakage(s);
      worst_L = worst_of(worst_L, std::abs(L - (1 - qbopt_test::dense_trace(rho))));
      worst_L = worst_of(worst_L, std::abs(L - (1 - s.matrix().trace())));
      min_step = least_of(min_step, L - previous);
      previous = L;
    }
    final_L = worst_of(final_L, previous);
  }
  report("max |rho - P Phi(P rho P) P (dense)| with leakage (N = 6)", worst_rho);
  report("max |leakage - (1 - Tr rho_dense)|", worst_L);
  report("largest final leakage (N = 6, 20 collisions)", final_L);
  report("most negative leakage step", min_step);
  EXPECT_LT(worst_rho, kRhoTol);
  EXPECT_LT(worst_L, kTraceTol);
  // Not a tolerance: the run must really leak (measured ~0.9), or the comparison is vacuous.
  constexpr double kMustLeak = 0.1;
  EXPECT_GT(final_L, kMustLeak)
      << "the top level should have been reached: the test would be vacuous";
  EXPECT_GE(min_step, -kTraceTol);

  // Long leaky run through simulate(): everything eventually leaks, within [0, 1].
  SimulateOptions opt;
  opt.samples = 30;
  const Trajectory tr = simulate(Micromaser(0.795, 5), Schedule({{{0.5, 0.2}, 200, false}}), opt);
  const double L = leakage(tr.final_state);
  report("final leakage (N = 5, 200 collisions)", L);
  EXPECT_GT(L, kMustLeak);
  EXPECT_LE(L, 1.0 + kTraceTol);
  EXPECT_NEAR(L, 1.0 - tr.final_state.matrix().trace(), kTraceTol);
  for (std::size_t i = 1; i < tr.samples.size(); ++i)
    EXPECT_GE(tr.samples[i].leakage, tr.samples[i - 1].leakage - kTraceTol)
        << "leakage decreased between k = " << tr.samples[i - 1].k << " and " << tr.samples[i].k;
}

// Symmetric storage invariant (the stencil reads the first super-diagonal), eigenvalues of r in
// [0, 1], and the spectrum of rho = D r D^dag (density_matrix(), by a general eigensolver that
// reads the whole matrix and assumes nothing) equal to that of r, as D is unitary; both far from
// the top and with a leaking truncation.
TEST(StateInvariants, SymmetricAndPositiveAlongRandomRuns) {
  std::mt19937 rng(31337);
  double min_eig = 1, max_eig = 0, max_asym = 0, max_spec = 0, max_imag = 0;
  // N = 10 with 30 collisions leaks part of the state; N = 40 with 35 never reaches the top.
  for (auto [N, n] : {std::pair{10, 30}, std::pair{40, 35}}) {
    for (int trial = 0; trial < 4; ++trial) {
      const Micromaser model(uniform(rng, 0.1, 2.5), N);
      State s(N), tmp = State::zeros(N);
      for (int k = 1; k <= n; ++k) {
        model.apply(random_qubit(rng), s, tmp);
        std::swap(s, tmp);
        if (k % 5 != 0) continue;
        for (int j = 0; j + 1 <= s.top(); ++j)
          max_asym = worst_of(max_asym, std::abs(s.at(j, j + 1) - s.at(j + 1, j)));
        // Eigenvalues of the populated block 0..top (the rest of r is exactly zero).
        const int d = s.top() + 1;
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es(s.matrix().topLeftCorner(d, d),
                                                          Eigen::EigenvaluesOnly);
        min_eig = least_of(min_eig, min_coeff(es.eigenvalues()));
        max_eig = worst_of(max_eig, es.eigenvalues().maxCoeff());
        const Eigen::MatrixXcd rho = s.density_matrix().topLeftCorner(d, d);
        Eigen::ComplexEigenSolver<Eigen::MatrixXcd> ce(rho, false);
        ASSERT_EQ(ce.info(), Eigen::Success);
        std::vector<double> lr(d), lrho(d);
        for (int i = 0; i < d; ++i) {
          lr[i] = es.eigenvalues()(i);
          lrho[i] = ce.eigenvalues()(i).real();
          max_imag = worst_of(max_imag, std::abs(ce.eigenvalues()(i).imag()));
        }
        std::sort(lrho.begin(), lrho.end());  // es's are ascending
        for (int i = 0; i < d; ++i) max_spec = worst_of(max_spec, std::abs(lrho[i] - lr[i]));
      }
    }
  }
  report("smallest eigenvalue of r (populated block)", min_eig);
  report("max |r(n,n+1) - r(n+1,n)| (stored)", max_asym);
  report("largest eigenvalue of r", max_eig);
  report("max |eig(rho) - eig(r)| (general solver on rho)", max_spec);
  report("max |Im eig(rho)|", max_imag);
  EXPECT_GE(min_eig, -kPositivityTol);
  EXPECT_LE(max_eig, 1 + kPositivityTol);
  EXPECT_EQ(max_asym, 0.0);
  // The non-symmetric QR iteration on a normal matrix of norm <= 1 and size <= 40: backward
  // stable, eigenvalues within ~d eps (measured ~1e-15); a wrong phase in D breaks the
  // similarity and moves them by O(0.01) or more.
  EXPECT_LT(max_spec, kSpectrumTol);
  EXPECT_LT(max_imag, kSpectrumTol);
}

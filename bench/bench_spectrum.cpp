// Google Benchmark: the leading spectrum of the collision map (K = 6) against N, and the
// 10^5-collision run it replaces for the relaxation time and the steady state (N = 150).
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <qbopt/qbopt.hpp>
#include <qbopt/spectrum.hpp>

namespace {

const double kG = std::numbers::pi / std::sqrt(15.6);
const qbopt::Qubit kQubit{0.39, 0.168};

// range(0) = N, range(1) = deflation rounds (1 = default, 0 = a single Arnoldi run).
void BM_Spectrum(benchmark::State& bs) {
  const int N = static_cast<int>(bs.range(0));
  const qbopt::Micromaser model(kG, N);
  const qbopt::LinearMap phi = [&](const qbopt::State& in, qbopt::State& out) {
    model.apply(kQubit, in, out);
  };
  qbopt::SpectrumSettings st;
  st.deflation_rounds = static_cast<int>(bs.range(1));
  long matvecs = 0;
  bool converged = true;
  for (auto _ : bs) {
    const qbopt::Spectrum s = qbopt::spectrum(phi, N, st);
    matvecs = s.matvecs;
    converged = converged && s.converged;
    benchmark::DoNotOptimize(s.eigenvalues.data());
  }
  bs.counters["matvecs"] = static_cast<double>(matvecs);
  bs.counters["converged"] = converged;
}
BENCHMARK(BM_Spectrum)
    ->ArgsProduct({{50, 100, 150, 200}, {1, 0}})
    ->ArgNames({"N", "deflation"})
    ->Unit(benchmark::kMillisecond);

// What the spectrum replaces: 10^5 collisions from |0> at N = 150.
void BM_Simulate1e5(benchmark::State& bs) {
  const int N = static_cast<int>(bs.range(0));
  const qbopt::Micromaser model(kG, N);
  const qbopt::Schedule schedule({{kQubit, 100'000, false}});
  for (auto _ : bs) {
    qbopt::State s(N), tmp(N);
    qbopt::propagate(model, schedule, 0, schedule.collisions(), s, tmp);
    benchmark::DoNotOptimize(s.data());
  }
}
BENCHMARK(BM_Simulate1e5)->Arg(150)->ArgName("N")->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();

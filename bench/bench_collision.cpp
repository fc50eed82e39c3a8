// Google Benchmark: cost of one collision (and of the fused adjoint step) against N.
#include <benchmark/benchmark.h>

#include <cmath>
#include <numbers>
#include <qbopt/qbopt.hpp>

namespace {

const double kG = std::numbers::pi / std::sqrt(15.6);

// A populated state on all N levels: N collisions from |0> with coherent qubits.
qbopt::State filled_state(const qbopt::Micromaser& model) {
  qbopt::State s(model.dim()), t(model.dim());
  for (int k = 0; k < model.dim(); ++k) {
    model.apply({0.4, 0.17}, s, t);
    std::swap(s, t);
  }
  return s;
}

void BM_Collision(benchmark::State& bs) {
  const int N = static_cast<int>(bs.range(0));
  qbopt::Micromaser model(kG, N);
  qbopt::State s = filled_state(model), t(N);
  for (auto _ : bs) {
    model.apply({0.39, 0.168}, s, t);
    std::swap(s, t);
    benchmark::DoNotOptimize(s.data());
  }
  bs.SetComplexityN(N);
}
BENCHMARK(BM_Collision)
    ->Arg(120)
    ->Arg(150)
    ->Arg(400)
    ->Arg(1000)
    ->Complexity(benchmark::oNSquared)
    ->Unit(benchmark::kMicrosecond);

// One lossy step (collision + gap map) at N = 150 from a full state, against BM_Collision:
// args (kappa_tau * 1e4, n_th * 10, arrivals: 0 regular, 1 poisson).
void BM_LossyStep(benchmark::State& bs) {
  const int N = 150;
  const double kt = bs.range(0) * 1e-4, n_th = bs.range(1) * 0.1;
  qbopt::LossyMicromaser model(kG, N, kt, n_th, static_cast<qbopt::Arrivals>(bs.range(2)));
  qbopt::State s = filled_state(qbopt::Micromaser(kG, N)), t(N);
  for (auto _ : bs) {
    model.apply({0.39, 0.168}, s, t);
    std::swap(s, t);
    benchmark::DoNotOptimize(s.data());
  }
  bs.counters["taylor_terms"] = model.gap().terms() * model.gap().substeps();
}
BENCHMARK(BM_LossyStep)
    ->Args({10, 0, 1})
    ->Args({100, 1, 1})
    ->Args({10, 0, 0})
    ->Args({10, 1, 0})
    ->Args({100, 0, 0})
    ->Args({100, 1, 0})
    ->Unit(benchmark::kMicrosecond);

void BM_CollisionIncoherent(benchmark::State& bs) {
  const int N = static_cast<int>(bs.range(0));
  qbopt::Micromaser model(kG, N);
  qbopt::State s(N), t(N);
  for (int k = 0; k < N; ++k) {
    model.apply({0.0, 0.1}, s, t);
    std::swap(s, t);
  }
  for (auto _ : bs) {
    model.apply({0.0, 0.1}, s, t);
    std::swap(s, t);
    benchmark::DoNotOptimize(s.data());
  }
}
BENCHMARK(BM_CollisionIncoherent)->Arg(150)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_Pullback(benchmark::State& bs) {
  const int N = static_cast<int>(bs.range(0));
  qbopt::Micromaser model(kG, N);
  qbopt::State r = filled_state(model);
  qbopt::State lam = r, out(N);
  for (auto _ : bs) {
    double d[qbopt::kMaxControls] = {};
    model.pullback({0.39, 0.168}, r, lam, out, {}, d, nullptr);
    benchmark::DoNotOptimize(d[0]);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_Pullback)->Arg(150)->Arg(1000)->Unit(benchmark::kMicrosecond);

void BM_Ergotropy(benchmark::State& bs) {
  const int N = static_cast<int>(bs.range(0));
  qbopt::Micromaser model(kG, N);
  qbopt::State r = filled_state(model);
  for (auto _ : bs) benchmark::DoNotOptimize(qbopt::ergotropy(r));
}
BENCHMARK(BM_Ergotropy)->Arg(150)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();

// Google Benchmark: cost of one collision (and of the fused adjoint step) against N.
#include <benchmark/benchmark.h>

#include <omp.h>

#include <time.h>

#include <chrono>
#include <cstdlib>
#include <cmath>
#include <numbers>
#include <qbopt/qbopt.hpp>

#include "../src/detail/simd.hpp"

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

// Core clock (Hz), calibrated once: a chain of dependent integer additions retires one per
// cycle on every x86-64 core, so chain length / wall time is the clock the kernel runs at
// (turbo included, unlike the TSC). Best of 20 runs of 4e6 additions (~1 ms each). 0 where
// the chain is not available (then no cycle counters are reported).
double core_hz() {
  static const double hz = [] {
#if defined(__x86_64__)
    double best = 1e30;
    for (int r = 0; r < 20; ++r) {
      long x = 0;
      const auto t0 = std::chrono::steady_clock::now();
      for (long i = 0; i < 500000; ++i)
        asm volatile("add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\t"
                     "add $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0"
                     : "+r"(x));
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                                .count());
    }
    return 4e6 / best;
#else
    return 0.0;
#endif
  }();
  return hz;
}

// Doubles per vector register of the kernel in this build (one source of truth).
constexpr int kLanes = qbopt::detail::kLanes;

// Arithmetic bound of the collision (src/micromaser.cpp, forward_columns): 12 multiply/FMA per
// lower-triangle element, two FMA pipes of kLanes doubles: 12 / (2 kLanes) cycles per element
// (0.75 AVX-512, 1.5 AVX2). Its 7 loads per element at two vector loads per cycle need less,
// 7 / (2 kLanes); unaligned loads that cross a cache line count twice on some cores.
constexpr double kBoundCyclesPerElement = 12.0 / (2 * kLanes);

// Seconds of CPU time of the calling thread (the serial kernel's busy time, which a machine
// shared with other jobs does not inflate as it does the wall time).
double thread_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// Counters of a collision benchmark on a full triangle of N levels: elements (lower triangle,
// N (N+1) / 2), core cycles per element (seconds per collision x calibrated clock / elements)
// and the bound.
void collision_counters(benchmark::State& bs, int N, double seconds) {
  const double elements = 0.5 * N * (N + 1.0);
  bs.counters["elements"] = elements;
  const double hz = core_hz();
  if (hz > 0 && bs.iterations() > 0) {
    bs.counters["core_GHz"] = hz * 1e-9;
    bs.counters["cycles_per_element"] = seconds / bs.iterations() * hz / elements;
  }
  bs.counters["bound_cycles_per_element"] = kBoundCyclesPerElement;
  bs.counters["vector_doubles"] = kLanes;
}

// cycles_per_element from the thread's CPU time (the kernel runs on this thread below the
// threading threshold, N <= 300; above it the other threads' time is not counted).
void BM_Collision(benchmark::State& bs) {
  const int N = static_cast<int>(bs.range(0));
  qbopt::Micromaser model(kG, N);
  qbopt::State s = filled_state(model), t(N);
  const double t0 = thread_seconds();
  for (auto _ : bs) {
    model.apply({0.39, 0.168}, s, t);
    std::swap(s, t);
    benchmark::DoNotOptimize(s.data());
  }
  const double busy = thread_seconds() - t0;
  bs.SetComplexityN(N);
  collision_counters(bs, N, busy);
}
BENCHMARK(BM_Collision)
    ->Arg(120)
    ->Arg(150)
    ->Arg(400)
    ->Arg(1000)
    ->Complexity(benchmark::oNSquared)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// One collision on (N, threads): omp_set_num_threads caps the team of the kernel's parallel
// split (src/micromaser.cpp, collision_threads), QBOPT_COLLISION_SPLIT=on forces the split
// (instead of the kernel's own timing at first use); threads = 1 is the serial kernel.
// cycles_per_element here from the wall time (what a split can shorten).
void BM_CollisionThreads(benchmark::State& bs) {
  const int N = static_cast<int>(bs.range(0));
  qbopt::Micromaser model(kG, N);
  qbopt::State s = filled_state(model), t(N);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(static_cast<int>(bs.range(1)));
  setenv("QBOPT_COLLISION_SPLIT", "on", 1);
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : bs) {
    model.apply({0.39, 0.168}, s, t);
    std::swap(s, t);
    benchmark::DoNotOptimize(s.data());
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  unsetenv("QBOPT_COLLISION_SPLIT");
  omp_set_num_threads(saved);
  bs.counters["threads"] = static_cast<double>(bs.range(1));
  collision_counters(bs, N, wall);
}
BENCHMARK(BM_CollisionThreads)
    ->ArgsProduct({{300, 400, 800, 1500}, {1, 2}})
    ->UseRealTime()
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

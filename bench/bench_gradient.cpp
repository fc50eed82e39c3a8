// Google Benchmark: one loss evaluation vs one loss + exact gradient (the target is a
// gradient at most 3x a loss), for one batch and for 1000 one-qubit batches, n = 1000.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <numbers>
#include <string>
#include <qbopt/gradient.hpp>
#include <qbopt/qbopt.hpp>

namespace {

const double kG = std::numbers::pi / std::sqrt(15.6);

qbopt::Schedule make_schedule(bool per_qubit, long n = 1000) {
  if (!per_qubit) return qbopt::Schedule({{{0.31, 0.145}, n, false}});
  std::vector<qbopt::Qubit> q;
  for (int k = 0; k < n; ++k) q.push_back({0.31 + 0.05 * std::sin(0.1 * k), 0.145});
  return qbopt::Schedule::per_collision(q);
}

void run(benchmark::State& bs, bool gradient, bool per_qubit, std::size_t budget, long every = 0,
         bool pipeline = true, const char* model_name = "micromaser", long n = 1000) {
  const int N = static_cast<int>(bs.range(0));
  qbopt::ModelConfig cfg(model_name, N);
  if (std::string(model_name) == "lossy") {
    cfg.set("kappa_tau", 1e-3);
    cfg.set("n_th", 0.1);
    cfg.set_text("arrivals", "poisson");
  }
  const auto model_ptr = cfg.make();
  const qbopt::CollisionModel& model = *model_ptr;
  const qbopt::Schedule s = make_schedule(per_qubit, n);
  auto merit = qbopt::make_figure_of_merit("eq11", {1.0, 0.2});
  qbopt::GradientOptions opt;
  opt.gradient = gradient;
  opt.memory_budget = budget;
  opt.checkpoint_every = every;
  opt.pipeline = pipeline;
  qbopt::LossEvaluator ev(opt);
  // One evaluation before timing: the evaluator keeps its checkpoint buffers, as in an
  // optimization, and first-touch page faults (slow in VMs) are not the gradient's cost.
  benchmark::DoNotOptimize(ev(model, s, *merit).merit.value);
  for (auto _ : bs) benchmark::DoNotOptimize(ev(model, s, *merit).merit.value);
}

const std::size_t kAll = std::size_t(256) << 20;
void BM_Loss_OneBatch(benchmark::State& s) { run(s, false, false, kAll); }
void BM_Gradient_OneBatch(benchmark::State& s) { run(s, true, false, kAll); }
void BM_Loss_1000Batches(benchmark::State& s) { run(s, false, true, kAll); }
void BM_Gradient_1000Batches(benchmark::State& s) { run(s, true, true, kAll); }
void BM_Gradient_OneBatch_Every(benchmark::State& s) { run(s, true, false, kAll, s.range(1)); }
// One core only (no recompute/adjoint pipeline), with a given checkpoint stride.
void BM_Gradient_OneBatch_Serial_Every(benchmark::State& s) {
  run(s, true, false, kAll, s.range(1), false);
}
// One core only (no recompute/adjoint pipeline).
void BM_Gradient_OneBatch_Serial(benchmark::State& s) { run(s, true, false, kAll, 0, false); }
// The lossy model (kappa_tau = 1e-3, n_th = 0.1, Poisson arrivals).
void BM_Loss_Lossy(benchmark::State& s) { run(s, false, false, kAll, 0, true, "lossy"); }
void BM_Gradient_Lossy(benchmark::State& s) { run(s, true, false, kAll, 0, true, "lossy"); }
// Loss and loss + gradient on one core, side by side: args N, n, per-qubit batches (0/1).
void BM_Loss_Sized(benchmark::State& s) {
  run(s, false, s.range(2) != 0, kAll, 0, false, "micromaser", s.range(1));
}
void BM_Gradient_Serial_Sized(benchmark::State& s) {
  run(s, true, s.range(2) != 0, kAll, 0, false, "micromaser", s.range(1));
}
// The target side by side: each iteration times one loss and one loss + gradient
// evaluation in turn (wall time), so that drifts of the clock or of other load on the machine
// affect both alike; counters loss_ms, gradient_ms and ratio (of the sums). Args: N, n,
// per-qubit batches (0/1), two-core adjoint (0/1).
void BM_GradientRatio(benchmark::State& bs) {
  const int N = static_cast<int>(bs.range(0));
  const long n = bs.range(1);
  qbopt::ModelConfig cfg("micromaser", N);
  const auto model = cfg.make();
  const qbopt::Schedule s = make_schedule(bs.range(2) != 0, n);
  auto merit = qbopt::make_figure_of_merit("eq11", {1.0, 0.2});
  qbopt::GradientOptions lo, go;
  lo.gradient = false;
  go.pipeline = bs.range(3) != 0;
  qbopt::LossEvaluator loss(lo), grad(go);
  benchmark::DoNotOptimize(loss(*model, s, *merit).merit.value);  // buffers, page faults
  benchmark::DoNotOptimize(grad(*model, s, *merit).merit.value);
  using clock = std::chrono::steady_clock;
  double t_loss = 0, t_grad = 0;
  for (auto _ : bs) {
    const auto t0 = clock::now();
    benchmark::DoNotOptimize(loss(*model, s, *merit).merit.value);
    const auto t1 = clock::now();
    benchmark::DoNotOptimize(grad(*model, s, *merit).merit.value);
    const auto t2 = clock::now();
    t_loss += std::chrono::duration<double>(t1 - t0).count();
    t_grad += std::chrono::duration<double>(t2 - t1).count();
    bs.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
  }
  const double it = static_cast<double>(bs.iterations());
  bs.counters["loss_ms"] = 1e3 * t_loss / it;
  bs.counters["gradient_ms"] = 1e3 * t_grad / it;
  bs.counters["ratio"] = t_grad / t_loss;
}
BENCHMARK(BM_GradientRatio)
    ->Args({150, 1000, 0, 1})
    ->Args({150, 1000, 1, 1})
    ->Args({150, 4000, 0, 1})
    ->Args({150, 4000, 1, 1})
    ->Args({150, 1000, 0, 0})
    ->Args({150, 4000, 0, 0})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Loss_Sized)
    ->Args({150, 1000, 0})
    ->Args({150, 1000, 1})
    ->Args({150, 4000, 0})
    ->Args({150, 4000, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gradient_Serial_Sized)
    ->Args({150, 1000, 0})
    ->Args({150, 1000, 1})
    ->Args({150, 4000, 0})
    ->Args({150, 4000, 1})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Loss_Lossy)->Arg(150)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gradient_Lossy)->Arg(150)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Loss_OneBatch)->Arg(120)->Arg(150)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gradient_OneBatch)->Arg(120)->Arg(150)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Loss_1000Batches)->Arg(120)->Arg(150)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gradient_1000Batches)->Arg(120)->Arg(150)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gradient_OneBatch_Serial)->Arg(120)->Arg(150)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gradient_OneBatch_Serial_Every)
    ->Args({150, 2})
    ->Args({150, 4})
    ->Args({150, 8})
    ->Args({150, 16})
    ->Args({150, 32})
    ->Args({150, 90})
    ->Args({150, 128})
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Gradient_OneBatch_Every)
    ->Args({150, 1})
    ->Args({150, 2})
    ->Args({150, 4})
    ->Args({150, 8})
    ->Args({150, 16})
    ->Args({150, 32})
    ->Args({150, 64})
    ->Args({150, 90})
    ->Args({150, 128})
    ->Unit(benchmark::kMillisecond);

}  // namespace

int main(int argc, char** argv) {
  // The automatic checkpoint stride on this machine (BM_Gradient_OneBatch uses it).
  const std::size_t seg = qbopt::checkpoint_segment_bytes();
  std::printf("checkpoint segments: %zu KiB = %zu states at N = 150\n", seg >> 10,
              seg / (sizeof(double) * 152 * 152));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

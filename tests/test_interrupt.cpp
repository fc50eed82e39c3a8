// Cancellation (stop hooks), O(1) batch stepping and the gradient's storage plan.
#include <gtest/gtest.h>

#include <atomic>
#include <qbopt/qbopt.hpp>

using namespace qbopt;

namespace {

// A hook that says stop from its `after`-th call on, counting the calls (thread-safe).
struct CountingHook {
  std::shared_ptr<std::atomic<long>> calls = std::make_shared<std::atomic<long>>(0);
  long after;
  explicit CountingHook(long a) : after(a) {}
  StopHook hook() const {
    auto c = calls;
    const long a = after;
    return [c, a] { return ++*c >= a; };
  }
};

Schedule two_batches(long n) { return Schedule({{{0.3, 0.1}, n / 2, false}, {{0.5, 0.2}, n - n / 2, false}}); }

}  // namespace

TEST(ScheduleCursor, SeeksForwardsAndBackwards) {
  const Schedule s({{{0.1, 0.1}, 3, false}, {{0.2, 0.1}, 1, false}, {{0.3, 0.1}, 5, false}});
  ScheduleCursor c(s);
  const std::size_t expect[] = {0, 0, 0, 1, 2, 2, 2, 2, 2};
  for (long k = 0; k < 9; ++k) EXPECT_EQ(c.seek(k), expect[k]) << k;
  for (long k = 8; k >= 0; --k) EXPECT_EQ(c.seek(k), expect[k]) << k;
  EXPECT_EQ(c.seek(3), 1u);
  EXPECT_EQ(c.batch_start(), 3);
  EXPECT_EQ(c.batch_end(), 4);
}

TEST(ScheduleCursor, PerCollisionScheduleMatchesBatches) {
  // The same qubits one per collision, propagated in uneven pieces through one cursor.
  const Schedule batched = two_batches(301);
  std::vector<Qubit> qs;
  for (const auto& b : batched.batches())
    for (long j = 0; j < b.count; ++j) qs.push_back(b.qubit);
  const Schedule per = Schedule::per_collision(qs);
  Micromaser m(kPaperCoupling, 30);
  State a(30), b(30), tmp = State::zeros(30);
  propagate(m, batched, 0, 301, a, tmp);
  ScheduleCursor cur(per);
  for (long k = 0; k < 301; k += 7) propagate(m, per, k, std::min(301L, k + 7), b, tmp, nullptr, &cur);
  // Identical operations in identical order: bitwise equal.
  EXPECT_EQ((a.matrix() - b.matrix()).cwiseAbs().maxCoeff(), 0.0);
}

TEST(Interrupt, SimulatePollsOftenAndThrows) {
  Micromaser m(kPaperCoupling, 20);
  const long n = 200000;
  SimulateOptions o;
  CountingHook never(1L << 60);
  o.should_stop = never.hook();
  simulate(m, two_batches(n), o);
  // At least one poll per poll_interval(N) collisions (the ~0.2 s bound of the CLI).
  EXPECT_GE(*never.calls, n / poll_interval(20));
  CountingHook third(3);
  o.should_stop = third.hook();
  EXPECT_THROW(simulate(m, two_batches(n), o), Interrupted);
  EXPECT_EQ(*third.calls, 3);
}

TEST(Interrupt, LossForwardAndBackwardPassesThrow) {
  Micromaser m(kPaperCoupling, 40);
  auto merit = make_figure_of_merit("eq11", {1.0, 0.2});
  const long n = 4000;
  for (bool grad : {false, true}) {
    GradientOptions o;
    o.gradient = grad;
    CountingHook never(1L << 60);
    o.should_stop = never.hook();
    evaluate_loss(m, two_batches(n), *merit, o);
    const long calls = *never.calls;
    EXPECT_GE(calls, n / poll_interval(40)) << grad;
    // Stop at the last poll: with the gradient that is in the backward pass.
    CountingHook last(calls);
    o.should_stop = last.hook();
    EXPECT_THROW(evaluate_loss(m, two_batches(n), *merit, o), Interrupted) << grad;
  }
}

TEST(Interrupt, NoiseEnsembleAndWignerThrow) {
  Micromaser m(kPaperCoupling, 30);
  NoiseSettings ns;
  ns.trajectories = 4;
  ns.should_stop = CountingHook(5).hook();
  EXPECT_THROW(noise_ensemble(m, two_batches(20000), ns), Interrupted);
  const State r = simulate(m, two_batches(200)).final_state;
  const auto xs = linspace(-4, 4, 60);
  EXPECT_THROW(wigner(r, xs, xs, CountingHook(2).hook()), Interrupted);
  EXPECT_NO_THROW(wigner(r, xs, xs, CountingHook(1L << 60).hook()));
}

TEST(Interrupt, SpectrumPollsEveryApplicationAndThrows) {
  Micromaser m(kPaperCoupling, 30);
  const LinearMap step = step_maps(m, Qubit{0.39, 0.168}).phi;
  long applications = 0;
  const LinearMap phi = [&](const State& in, State& out) {
    ++applications;
    step(in, out);
  };
  SpectrumSettings st;
  st.count = 4;
  CountingHook never(1L << 60);
  st.should_stop = never.hook();
  const Spectrum s = spectrum(phi, 30, st);
  // matvecs counts every application of the map, the deflation rounds' B Q included (also
  // in a round that ends early), and a poll precedes every application.
  EXPECT_EQ(applications, s.matvecs);
  EXPECT_EQ(*never.calls, s.matvecs);
  // Stopped inside the deflation round (the first Arnoldi run is about a third of the work):
  // Interrupted, never a spectrum.
  st.should_stop = CountingHook(s.matvecs / 2).hook();
  EXPECT_THROW(spectrum(phi, 30, st), Interrupted);
}

TEST(Interrupt, OptimizeRecordsEveryStart) {
  auto merit = make_figure_of_merit("eq11", {1.0, 0.2});
  OptimizeSettings st;
  st.starts = 5;
  st.max_iterations = 5;
  st.threads = 1;  // one start at a time: the polls, and so the stop, fall at the same place
  CountingHook never(1L << 60);
  st.should_stop = never.hook();
  optimize(ModelConfig("micromaser", 30), two_batches(400), *merit, st);
  // A third of the polls of the whole run: inside an evaluation of the second start or so.
  CountingHook hook(*never.calls / 3);
  st.should_stop = hook.hook();
  const OptimizeResult r = optimize(ModelConfig("micromaser", 30), two_batches(400), *merit, st);
  EXPECT_EQ(r.status, OptimizeStatus::interrupted);
  ASSERT_EQ(r.starts.size(), 5u);
  // The starts run to their end, the one stopped, then the ones never started.
  int stopped = 0, not_started = 0;
  for (const auto& s : r.starts) {
    EXPECT_EQ(s.initial.size(), 4u);
    stopped += s.status == OptimizeStatus::interrupted && s.message != "not started";
    not_started += s.message == "not started";
  }
  EXPECT_EQ(stopped, 1);
  EXPECT_GE(not_started, 1);
  EXPECT_EQ(r.starts.back().message, "not started");
  EXPECT_TRUE(std::isfinite(r.best.merit.value));
}

// The estimate counts the ergotropy's workspace once and the model's scratch states on every
// thread that runs the model: two with the pipeline (one forward, one adjoint), else one.
TEST(GradientPlan, CountsTheModelScratchAndTheErgotropyWorkspace) {
  const int lossy = LossyMicromaser::model_spec().scratch_states;
  EXPECT_EQ(lossy, 10);  // 3 of its own, 4 of the gap map, 3 more in the gap's derivatives
  EXPECT_EQ(Micromaser::model_spec().scratch_states, 0);
  GradientOptions o;
  o.pipeline = true;
  const GradientPlan base = plan_gradient(150, 1000, o);
  const GradientPlan p = plan_gradient(150, 1000, o, lossy);
  ASSERT_TRUE(p.pipeline);
  EXPECT_EQ(p.bytes - base.bytes, 2 * 10 * State::bytes(150));
  EXPECT_EQ(p.scratch_states, 20u);
  EXPECT_NE(p.describe().find("20 model scratch states"), std::string::npos);
  EXPECT_GE(base.bytes, base.states * base.state_bytes + ErgotropyWorkspace::bytes(150));
  o.pipeline = false;
  EXPECT_EQ(plan_gradient(150, 1000, o, lossy).bytes - plan_gradient(150, 1000, o).bytes,
            10 * State::bytes(150));
  // simulate: the two states, the model's scratch and rho.
  EXPECT_EQ(simulate_memory(150, 100, 0, lossy).bytes - simulate_memory(150, 100).bytes,
            10 * State::bytes(150));
}

// optimize() keeps one evaluator per start running at once, each without the pipeline when
// several run; one start alone pipelines (two segment buffers, the model's scratch twice).
TEST(GradientPlan, OptimizeCountsOneEvaluatorPerConcurrentStart) {
  const int lossy = LossyMicromaser::model_spec().scratch_states;
  GradientOptions serial;
  serial.pipeline = false;
  const std::size_t one = plan_gradient(150, 1000, serial, lossy).bytes;
  OptimizeSettings st;
  st.starts = 8;
  st.threads = 2;
  EXPECT_EQ(concurrent_starts(st), 2);
  const MemoryEstimate two = optimize_memory(150, 1000, st, lossy);
  EXPECT_EQ(two.bytes, 2 * one);
  EXPECT_NE(two.what.find("2 starts at once"), std::string::npos);
  st.threads = 1;
  EXPECT_EQ(optimize_memory(150, 1000, st, lossy).bytes, one);
  st.starts = 1;
  st.threads = 0;  // all cores, one start: the pipeline
  EXPECT_EQ(optimize_memory(150, 1000, st, lossy).bytes,
            plan_gradient(150, 1000, GradientOptions{}, lossy).bytes);
}

TEST(GradientPlan, FallsBackWithinTheBudget) {
  GradientOptions o;
  o.pipeline = true;
  // N = 150, 1000 collisions: the fast plan (cache-sized segments, pipelined) fits 256 MiB.
  GradientPlan p = plan_gradient(150, 1000, o);
  EXPECT_TRUE(p.pipeline);
  EXPECT_FALSE(p.over_budget);
  EXPECT_LE(p.bytes, o.memory_budget);
  // 10^5 collisions at N = 150: sqrt checkpointing, still within the budget.
  p = plan_gradient(150, 100000, o);
  EXPECT_FALSE(p.over_budget);
  EXPECT_LE(p.bytes, o.memory_budget);
  // N = 5000 (a state is 200 MB) with 1000 collisions: multi-level checkpointing, the four
  // states it cannot do without (over 256 MiB, and it says so) and two packed slots.
  p = plan_gradient(5000, 1000, o);
  EXPECT_TRUE(p.over_budget);
  EXPECT_FALSE(p.pipeline);
  EXPECT_TRUE(p.multilevel);
  EXPECT_EQ(p.slots, 2);
  EXPECT_EQ(p.states, 4u);
  EXPECT_NE(p.describe().find("fewest"), std::string::npos);
  // Whatever the plan, the gradient is the same.
  Micromaser m(kPaperCoupling, 30);
  auto merit = make_figure_of_merit("eq11", {1.0, 0.2});
  const LossEvaluation ref = evaluate_loss(m, two_batches(500), *merit);
  GradientOptions tight;
  tight.memory_budget = 1;  // forces multi-level checkpointing without a slot
  ASSERT_FALSE(plan_gradient(30, 500, tight).pipeline);
  const LossEvaluation low = evaluate_loss(m, two_batches(500), *merit, tight);
  // Same operations in the same order per collision: equal to rounding of the sums.
  for (std::size_t b = 0; b < 2; ++b)
    for (std::size_t i = 0; i < 2; ++i) EXPECT_NEAR(low.batches[b][i], ref.batches[b][i], 1e-12);
}

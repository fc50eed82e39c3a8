// L-BFGS-B over schedules: bounds, fixed parameters, multi-start, the paper's lambda = 1 optimum.
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <qbopt/optimize.hpp>
#include <qbopt/qbopt.hpp>

using namespace qbopt;

TEST(Optimize, PaperSection31LambdaOne) {
  // Sec. 3.1: n = 1000, N = 120, eta = 20 %, lambda = 1; the paper reports (0.310, 0.145)
  // and the issue asks for (0.310, 0.144) within 0.005.
  const PaperScenario& sc = paper_scenario("3.1-lambda1");
  auto merit = make_figure_of_merit("eq11", {sc.lambda, sc.eta});
  OptimizeSettings st;
  const OptimizeResult r =
      optimize(ModelConfig("micromaser", sc.nc), Schedule(sc.start), *merit, st);
  const Qubit& x = r.schedule.batches()[0].qubit;
  std::cout << "optimum c = " << x.c << " q = " << x.q << " loss " << r.best.merit.value << " ("
            << r.iterations << " iterations, " << r.evaluations << " evaluations, " << to_string(r.status)
            << ")\n";
  // The target for q is 0.001 below the paper's printed 0.145.
  EXPECT_NEAR(x.c, sc.paper[0].c, 0.005);
  EXPECT_NEAR(x.q, sc.paper[0].q - 0.001, 0.005);
  ASSERT_FALSE(r.history.empty());
  EXPECT_LE(r.best.merit.value, r.history.front());
}

TEST(Optimize, FixedParametersNeverMoveAndBoundsHold) {
  auto merit = make_figure_of_merit("eq11", {10.0, 0.1});
  Schedule start({{{0.0, 0.0}, 60, true}, {{0.9, 0.95}, 80, false}, {{0.2, 0.3}, 40, true}});
  OptimizeSettings st;
  st.starts = 3;
  st.seed = 5;
  st.max_iterations = 30;
  const OptimizeResult r = optimize(ModelConfig("micromaser", 60), start, *merit, st);
  ASSERT_EQ(r.starts.size(), 3u);
  for (const auto& sr : r.starts) {
    EXPECT_EQ(sr.schedule.batches()[0].qubit.c, 0.0);
    EXPECT_EQ(sr.schedule.batches()[0].qubit.q, 0.0);
    EXPECT_EQ(sr.schedule.batches()[2].qubit.c, 0.2);
    EXPECT_EQ(sr.schedule.batches()[2].qubit.q, 0.3);
    for (const auto& b : sr.schedule.batches()) {
      EXPECT_GE(b.qubit.c, 0.0);
      EXPECT_LE(b.qubit.c, 1.0);
      EXPECT_GE(b.qubit.q, 0.0);
      EXPECT_LE(b.qubit.q, 1.0);
    }
    // The best start is the one reported.
    EXPECT_LE(r.best.merit.value, sr.loss + 1e-12);
  }
}

TEST(Optimize, FreeCouplingStaysInItsRange) {
  auto merit = make_figure_of_merit("ergotropy", {0.0, 0.2});
  Schedule start({{{0.0, 0.05}, 40, false}});
  OptimizeSettings st;
  st.free_parameters = {"g"};
  st.ranges["g"] = {0.7, 0.9};
  st.max_iterations = 20;
  ModelConfig model("micromaser", 50);
  model.set("g", 0.8);
  const OptimizeResult r = optimize(model, start, *merit, st);
  const double g = r.parameters[0];
  std::cout << "g = " << g << " W = " << r.best.merit.ergotropy << "\n";
  EXPECT_GE(g, 0.7);
  EXPECT_LE(g, 0.9);
  // Starting from the start point, the optimizer never makes things worse.
  EXPECT_LE(r.best.merit.value, r.history.front());
}

TEST(Optimize, SettingsValidation) {
  OptimizeSettings st;
  st.starts = 0;
  EXPECT_THROW(st.validate(), std::invalid_argument);
  st = {};
  st.ranges["g"] = {1.0, 0.5};
  EXPECT_THROW(st.validate(), std::invalid_argument);
}

TEST(Optimize, PerBatchCouplingsStayInRangeAndImprove) {
  // --free-g batch: every free batch gets its own g, starting from the model's g.
  auto merit = make_figure_of_merit("ergotropy", {0.0, 0.2});
  Schedule start({{{0.0, 0.05}, 30, false}, {{0.3, 0.1}, 30, false}});
  OptimizeSettings st;
  st.free_controls = {"g"};
  st.ranges["g"] = {0.6, 1.0};
  st.max_iterations = 15;
  const OptimizeResult r = optimize(ModelConfig("lossy", 40), start, *merit, st);
  ASSERT_EQ(r.slots.size(), 6u);  // c, q, g of each batch
  for (const auto& b : r.schedule.batches()) {
    ASSERT_TRUE(b.qubit.carries(Micromaser::kControlG));
    EXPECT_GE(b.qubit.control(Micromaser::kControlG), 0.6);
    EXPECT_LE(b.qubit.control(Micromaser::kControlG), 1.0);
  }
  EXPECT_LT(r.best.merit.value, r.history.front());
}

#pragma once
// Bounded L-BFGS-B (LBFGSpp) over the free parameters of a schedule, with exact gradients.
#include <cstdint>
#include <functional>
#include <memory>
#include <qbopt/gradient.hpp>
#include <string>
#include <vector>

namespace qbopt {

struct OptimizeSettings {
  // Convergence as SciPy's L-BFGS-B defaults (pgtol 1e-5, factr 1e7), which the paper used.
  int max_iterations = 200;  // L-BFGS-B iterations per start
  double epsilon = 1e-5;     // projected-gradient norm for convergence
  double delta = 2.2e-9;     // relative loss change over `past` iterations for convergence
  int past = 1;
  int max_linesearch = 40;
  int restarts = 5;        // restarts from the best point after a failed line search
  int starts = 1;          // multi-start: the given point, then starts-1 uniform random ones
  std::uint64_t seed = 1;  // seed of the random starts
  bool free_g = false;     // optimize the coupling too
  double g_min = 0.1, g_max = 2.0;

  void validate() const;  // throws std::invalid_argument naming the field
};

// Builds the battery model for a coupling g (so that g can be a free parameter).
using ModelFactory = std::function<std::unique_ptr<CollisionModel>(double g)>;
ModelFactory micromaser_factory(int N);

struct StartResult {
  Schedule schedule;
  double g = 0;
  double loss = 0;
  int iterations = 0, evaluations = 0;
  std::string status;  // "converged", "max_iterations", or why the line search stopped
};

struct OptimizeResult {
  Schedule schedule;  // best parameters found
  double g = 0;
  LossEvaluation best;
  int iterations = 0, evaluations = 0;  // summed over starts
  double seconds = 0;
  std::vector<double> history;  // loss at the end of each iteration of the best start
  std::string status;
  std::vector<StartResult> starts;
};

// Called after each iteration: (start index, iteration, loss); return false to stop.
using IterationCallback = std::function<bool(int, int, double)>;

OptimizeResult optimize(const ModelFactory& factory, double g, const Schedule& start,
                        const FigureOfMerit& merit, const OptimizeSettings& settings,
                        const IterationCallback& callback = {});

}  // namespace qbopt

#pragma once
// Bounded L-BFGS-B (LBFGSpp) over the free parameters of a schedule, with exact gradients.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <qbopt/gradient.hpp>
#include <qbopt/memory.hpp>
#include <qbopt/models.hpp>
#include <qbopt/stability.hpp>
#include <string>
#include <utility>
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
  // Cores: the starts run in parallel on up to `threads` of them (0 = OpenMP's default, all);
  // 1 = one core, which also turns off the two-core gradient pipeline. The initial points are
  // drawn up front from `seed`, so the result does not depend on the number of threads.
  int threads = 0;
  // Free global parameters of the model, by name (e.g. "g"), and optional controls freed in
  // every free batch (e.g. "g": each batch gets its own coupling, starting from the global).
  std::vector<std::string> free_parameters, free_controls;
  // Search range of a free parameter or control; those not listed use their spec bounds.
  std::map<std::string, std::pair<double, double>> ranges = {{"g", {0.1, 2.0}}};
  // Polled inside every loss evaluation (every poll_interval(N) collisions): true ends the
  // run as an interrupted one, with every start so far recorded (no exception escapes).
  StopHook should_stop;
  // Budget of each evaluation's checkpoints (GradientOptions::memory_budget).
  std::size_t memory_budget = GradientOptions{}.memory_budget;
  // The state every evaluation starts from (GradientOptions::initial); null: |0><0|.
  std::shared_ptr<const State> initial;
  // Record the iterate of every iteration (OptimizeResult::path): off by default.
  bool record_path = false;

  void validate() const;  // throws std::invalid_argument naming the field
};

// Why a start (or the run) stopped.
enum class OptimizeStatus { converged, max_iterations, line_search_failed, interrupted };
const char* to_string(OptimizeStatus s);

struct StartResult {
  Schedule schedule;               // best point of this start
  std::vector<double> parameters;  // the model's global parameters there
  std::vector<double> initial;     // the start's initial point (in the order of the free slots)
  double loss = 0;
  int iterations = 0, evaluations = 0;
  OptimizeStatus status = OptimizeStatus::converged;
  std::string message;  // the line search's words when it failed
};

struct OptimizeResult {
  Schedule schedule;               // best parameters found
  std::vector<double> parameters;  // the model's global parameters there
  LossEvaluation best;
  int iterations = 0, evaluations = 0;  // summed over starts
  double seconds = 0;
  std::vector<double> history;  // loss at the end of each iteration of the best start
  // With settings.record_path: the point (free slot values, in the order of `slots`) at which
  // each entry of `history` was evaluated, for drawing the optimizer's path on a landscape.
  std::vector<std::vector<double>> path;
  // The run's own: interrupted when any start was, else the best start's.
  OptimizeStatus status = OptimizeStatus::converged;
  std::string message;
  std::vector<std::string> slots;  // names of the free slots ("batch 2 c", "g", ...)
  // Every start, in order; after an interruption the ones not run too ("not started").
  std::vector<StartResult> starts;
};

// Called after each iteration: (start index, iteration, loss); return false to stop (every
// start then stops). With parallel starts it is called from several threads at once.
using IterationCallback = std::function<bool(int, int, double)>;

// Minimizes the figure of merit over the free controls of the schedule's free batches and the
// free global parameters of the model, from `start` (then settings.starts - 1 random points).
// `loss` may carry the spectral penalty of the last batch's map (make_loss("eq11-spectral")).
OptimizeResult optimize(const ModelConfig& model, const Schedule& start, const Loss& loss,
                        const OptimizeSettings& settings, const IterationCallback& callback = {});
// Starts that run at once: settings.starts on up to settings.threads cores (0: OpenMP's
// default). Each has its own evaluator, with the two-core gradient pipeline only when one
// start has the machine to itself (and settings.threads is not 1).
int concurrent_starts(const OptimizeSettings& settings);
// What optimize() holds at its peak on N levels and n collisions: one evaluation plan per
// concurrent start (plan_gradient with settings.memory_budget and the model's scratch states).
MemoryEstimate optimize_memory(int N, long n, const OptimizeSettings& settings,
                               int scratch_states);

// The figure of merit alone.
OptimizeResult optimize(const ModelConfig& model, const Schedule& start, const FigureOfMerit& merit,
                        const OptimizeSettings& settings, const IterationCallback& callback = {});

}  // namespace qbopt

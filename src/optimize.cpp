#include <LBFGSB.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <optional>
#include <cmath>
#include <limits>
#include <qbopt/optimize.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace qbopt {

void OptimizeSettings::validate() const {
  auto bad = [](const std::string& field, double v, const std::string& rule) {
    std::ostringstream s;
    s << field << " must be " << rule << ", got " << v;
    return std::invalid_argument(s.str());
  };
  if (max_iterations < 1) throw bad("max_iterations", max_iterations, ">= 1");
  if (!(epsilon >= 0)) throw bad("epsilon", epsilon, ">= 0");
  if (!(delta >= 0)) throw bad("delta", delta, ">= 0");
  if (past < 0) throw bad("past", past, ">= 0");
  if (max_linesearch < 1) throw bad("max_linesearch", max_linesearch, ">= 1");
  if (restarts < 0) throw bad("restarts", restarts, ">= 0");
  if (starts < 1) throw bad("starts", starts, ">= 1");
  if (threads < 0) throw bad("threads", threads, ">= 0");
  for (const auto& [name, r] : ranges)
    if (!(std::isfinite(r.first) && std::isfinite(r.second) && r.first < r.second))
      throw std::invalid_argument("the range of " + name + " must be finite with min < max, got " +
                                  format_number(r.first) + "," + format_number(r.second));
}

const char* to_string(OptimizeStatus s) {
  switch (s) {
    case OptimizeStatus::converged: return "converged";
    case OptimizeStatus::max_iterations: return "max_iterations";
    case OptimizeStatus::line_search_failed: return "line_search_failed";
    case OptimizeStatus::interrupted: return "interrupted";
  }
  return "?";
}

namespace {

// A free parameter: control `index` of a batch, or global parameter `index` (batch = -1).
struct Slot {
  int batch;
  int index;
  double lower, upper;
};

// Where control i of a batch sits in its gradient row: c, q, then the carried controls.
int row_position(const Qubit& qb, int control) {
  int pos = std::min(control, 2);
  for (int i = 2; i < control; ++i) pos += qb.carries(i);
  return pos;
}

struct Stop {};  // thrown from the objective when the callback asks to stop

// A loss or gradient that is not finite is a defect of the inputs or the model, not a
// line-search failure: it must not be caught with LBFGSpp's errors.
struct NonFinite : std::exception {
  const char* what() const noexcept override {
    return "the loss or its gradient is not finite (lambda too large for double precision?)";
  }
};

// Objective for LBFGSpp: x -> (L, dL/dx), counting evaluations and detecting iterations.
class Objective {
 public:
  Objective(const ModelConfig& m, const Schedule& s, const std::vector<Slot>& slots,
            const Loss& loss, LossEvaluator& ev, const IterationCallback& cb, int start,
            std::atomic<bool>* stop = nullptr)
      : model_(m),
        base_(s),
        slots_(slots),
        loss_(loss),
        ev_(ev),
        cb_(cb),
        start_(start),
        stop_(stop) {}

  void decode(const Eigen::VectorXd& x, Schedule& s, std::vector<double>& values) const {
    s = base_;
    values = model_.values();
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const Slot& sl = slots_[i];
      // The line search can overshoot a bound by a rounding error (-1e-17): project back.
      const double v = std::clamp(x[i], sl.lower, sl.upper);
      if (sl.batch < 0)
        values[sl.index] = v;
      else
        s.batches()[sl.batch].qubit.set_control(sl.index, v);
    }
  }

  double operator()(const Eigen::VectorXd& x, Eigen::VectorXd& grad) {
    if (stop_ && stop_->load()) throw Stop{};  // another start was stopped
    Schedule s;
    std::vector<double> values;
    decode(x, s, values);
    auto model = model_.make(values);
    LossEvaluation le = evaluate(ev_, *model, s, loss_);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const Slot& sl = slots_[i];
      grad[i] = sl.batch < 0 ? le.parameters[sl.index]
                             : le.batches[sl.batch][row_position(
                                   s.batches()[sl.batch].qubit, sl.index)];
    }
    const double f = le.merit.value;
    if (!std::isfinite(f) || !grad.allFinite()) throw NonFinite{};
    track(x, f);
    ++evaluations;
    if (f < best_f) {
      best_f = f;
      best_x = x;
      best_eval = std::move(le);
    }
    return f;
  }

  // An L-BFGS-B iteration is one line search; its trial points lie on one ray from the
  // previous iterate, so a trial off that ray means the previous evaluation ended an iteration.
  void track(const Eigen::VectorXd& x, double f) {
    if (evaluations == 0) {
      anchor_ = last_x_ = x;
      last_f_ = f;
      record(f, x);
      return;
    }
    const Eigen::VectorXd d1 = last_x_ - anchor_, d2 = x - anchor_;
    const double n1 = d1.norm(), n2 = d2.norm();
    // In one dimension every trial is on the same line: count each evaluation instead.
    const bool same_ray =
        x.size() > 1 && (n1 == 0 || n2 == 0 || std::abs(d1.dot(d2)) >= (1 - 1e-9) * n1 * n2);
    if (!same_ray) end_iteration();
    last_x_ = x;
    last_f_ = f;
  }
  void end_iteration() {
    record(last_f_, last_x_);
    anchor_ = last_x_;
    if (cb_ && !cb_(start_, static_cast<int>(history.size()) - 1, last_f_)) {
      if (stop_) stop_->store(true);
      throw Stop{};
    }
  }
  // The last iteration ends with the run (reported, but it can no longer be stopped).
  void finish() {
    if (evaluations == 0 || (history.size() >= 2 && history.back() == last_f_)) return;
    record(last_f_, last_x_);
    if (cb_) cb_(start_, static_cast<int>(history.size()) - 1, last_f_);
  }

  int evaluations = 0;
  double best_f = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_x;
  LossEvaluation best_eval;  // at best_x (so the result needs no re-evaluation)
  std::vector<double> history;
  std::vector<std::vector<double>> path;  // with record_path: the point of each history entry
  bool record_path = false;

 private:
  // One entry of the history (and of the path: x clamped to the bounds, as decode() uses it).
  void record(double f, const Eigen::VectorXd& x) {
    history.push_back(f);
    if (!record_path) return;
    std::vector<double> p(static_cast<std::size_t>(x.size()));
    for (std::size_t i = 0; i < slots_.size(); ++i)
      p[i] = std::clamp(x[static_cast<Eigen::Index>(i)], slots_[i].lower, slots_[i].upper);
    path.push_back(std::move(p));
  }
  const ModelConfig& model_;
  const Schedule& base_;
  const std::vector<Slot>& slots_;
  const Loss& loss_;
  LossEvaluator& ev_;
  const IterationCallback& cb_;
  int start_;
  std::atomic<bool>* stop_;
  Eigen::VectorXd anchor_, last_x_;
  double last_f_ = 0;
};

// The two-core gradient pipeline (when asked for by default) only when one start has the
// machine to itself.
bool pipeline_for(const OptimizeSettings& settings, int starts_at_once) {
  return starts_at_once == 1 && settings.threads != 1;
}

}  // namespace

int concurrent_starts(const OptimizeSettings& settings) {
#ifdef _OPENMP
  const int cores = settings.threads > 0 ? settings.threads : omp_get_max_threads();
#else
  const int cores = 1;
#endif
  return std::max(1, std::min(cores, settings.starts));
}

MemoryEstimate optimize_memory(int N, long n, const OptimizeSettings& settings,
                               int scratch_states) {
  const int at_once = concurrent_starts(settings);
  GradientOptions g;
  g.memory_budget = settings.memory_budget;
  g.pipeline = pipeline_for(settings, at_once);
  const GradientPlan plan = plan_gradient(N, n, g, scratch_states);
  if (at_once == 1) return {plan.bytes, plan.describe()};
  return {plan.bytes * static_cast<std::size_t>(at_once),
          std::to_string(at_once) + " starts at once, each " + plan.describe()};
}

OptimizeResult optimize(const ModelConfig& model, const Schedule& start, const FigureOfMerit& merit,
                        const OptimizeSettings& settings, const IterationCallback& callback) {
  return optimize(model, start, figure_only(merit), settings, callback);
}

OptimizeResult optimize(const ModelConfig& model, const Schedule& given, const Loss& loss,
                        const OptimizeSettings& settings, const IterationCallback& callback) {
  settings.validate();
  given.validate(model.spec());
  const auto t0 = std::chrono::steady_clock::now();
  const ModelSpec& spec = model.spec();
  auto range = [&](const ParameterSpec& p) {
    const auto it = settings.ranges.find(p.name);
    return it != settings.ranges.end() ? it->second : std::make_pair(p.lower, p.upper);
  };

  // The free slots: every control the free batches carry (c, q, and those freed by
  // settings.free_controls, which then start from the global value), then the free globals.
  Schedule start = given;
  OptimizeResult res;
  std::vector<Slot> slots;
  std::vector<int> freed;
  for (const auto& name : settings.free_controls) {
    const int i = spec.control_index(name);
    if (i < 2 || !spec.controls[i].optional)
      throw std::invalid_argument("model '" + spec.name + "' has no optional control '" + name +
                                  "' to free per batch");
    freed.push_back(i);
  }
  for (std::size_t b = 0; b < start.batches().size(); ++b) {
    Batch& bt = start.batches()[b];
    if (bt.fixed) continue;
    for (int i : freed)
      if (!bt.qubit.carries(i))
        bt.qubit.set_control(i, model.get(spec.controls[i].name));
    for (int i = 0; i < static_cast<int>(spec.controls.size()); ++i) {
      if (!bt.qubit.carries(i)) continue;
      const auto [lo, hi] = i < 2 ? std::make_pair(0.0, 1.0) : range(spec.controls[i]);
      slots.push_back({static_cast<int>(b), i, lo, hi});
      res.slots.push_back("batch " + std::to_string(b + 1) + " " + spec.controls[i].name);
    }
  }
  for (const auto& name : settings.free_parameters) {
    const int j = spec.parameter_index(name);
    if (j < 0 || spec.parameters[j].is_choice())
      throw std::invalid_argument("model '" + spec.name + "' has no continuous parameter '" + name +
                                  "' to free");
    const auto [lo, hi] = range(spec.parameters[j]);
    slots.push_back({-1, j, lo, hi});
    res.slots.push_back(name);
  }
  const int dim = static_cast<int>(slots.size());
  Eigen::VectorXd lb(dim), ub(dim), x0(dim);
  for (int i = 0; i < dim; ++i) {
    lb[i] = slots[i].lower;
    ub[i] = slots[i].upper;
    const double v = slots[i].batch < 0
                         ? model.values()[slots[i].index]
                         : start.batches()[slots[i].batch].qubit.control(slots[i].index);
    x0[i] = std::clamp(v, lb[i], ub[i]);
  }

  // Every start's initial point, drawn up front in start order: the same for any threads.
  std::mt19937_64 rng(settings.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<Eigen::VectorXd> initial(static_cast<std::size_t>(settings.starts), x0);
  for (int s = 1; s < settings.starts; ++s)
    for (int i = 0; i < dim; ++i) initial[s][i] = lb[i] + (ub[i] - lb[i]) * unit(rng);

  const int threads = dim > 0 ? concurrent_starts(settings) : 1;
  GradientOptions gopt;
  gopt.parameters = !settings.free_parameters.empty();
  gopt.should_stop = settings.should_stop;
  gopt.memory_budget = settings.memory_budget;
  gopt.initial = settings.initial;
  gopt.pipeline = pipeline_for(settings, threads);
  LossEvaluator ev(gopt);
  double best = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_x = x0;
  LossEvaluation best_eval;
  bool have_eval = false;
  std::atomic<bool> stop{false};

  if (dim > 0) {
    LBFGSpp::LBFGSBParam<double> param;  // kept alive for the solver, which holds a reference
    param.epsilon = settings.epsilon;
    param.epsilon_rel = 0;
    param.past = settings.past;
    param.delta = settings.delta;
    param.max_iterations = settings.max_iterations;
    param.max_linesearch = settings.max_linesearch;
    struct Done {
      StartResult result;
      std::vector<double> history;
      std::vector<std::vector<double>> path;
      Eigen::VectorXd best_x;
      LossEvaluation best_eval;
    };
    std::vector<std::optional<Done>> done(static_cast<std::size_t>(settings.starts));
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(settings.starts));
    // Each start is independent given its initial point: dynamic hand-out over the threads,
    // each start with its own evaluator (its state storage is not shareable).
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
    for (int s = 0; s < settings.starts; ++s) {
      if (stop.load()) continue;  // stopped: later starts do not begin (recorded below)
      try {
        LossEvaluator own(gopt);
        Eigen::VectorXd x = initial[s];
        Objective obj(model, start, slots, loss, threads > 1 ? own : ev, callback, s, &stop);
        obj.record_path = settings.record_path;
        LBFGSpp::LBFGSBSolver<double> solver(param);
        StartResult sr;
        sr.initial.assign(x.data(), x.data() + dim);
        double fx = 0;
        // A failed line search (the |dE/dk| penalty makes the landscape kinked) restarts the
        // solver from the best point with a fresh Hessian model, while that still gains.
        for (int restart = 0; restart <= settings.restarts; ++restart) {
          const double before = obj.best_f;
          try {
            sr.iterations += solver.minimize(obj, x, fx, lb, ub);
            sr.status = sr.iterations >= settings.max_iterations ? OptimizeStatus::max_iterations
                                                                 : OptimizeStatus::converged;
            sr.message.clear();
            break;
          } catch (const Stop&) {
            sr.status = OptimizeStatus::interrupted;
            stop.store(true);
            break;
          } catch (const Interrupted&) {  // the stop hook, inside an evaluation
            sr.status = OptimizeStatus::interrupted;
            stop.store(true);
            break;
          } catch (const std::runtime_error& e) {
            // LBFGSpp's line-search failures (runtime_error, logic_error): non-convergence is
            // a result, so keep the best point seen and say why it stopped.
            sr.status = OptimizeStatus::line_search_failed;
            sr.message = e.what();
          } catch (const std::logic_error& e) {
            sr.status = OptimizeStatus::line_search_failed;
            sr.message = e.what();
          }
          if (obj.best_x.size() == 0) break;  // not a single evaluation succeeded
          const bool gained = !std::isfinite(before) ||
                              obj.best_f < before - settings.delta * std::max(1.0, std::abs(before));
          if (!gained || restart == settings.restarts) break;
          x = obj.best_x;
        }
        obj.finish();
        // After a thrown line search the solver reports no count: use the iterations observed.
        sr.iterations = std::max(sr.iterations, static_cast<int>(obj.history.size()) - 1);
        sr.evaluations = obj.evaluations;
        sr.loss = obj.best_f;
        obj.decode(obj.best_x.size() ? obj.best_x : x0, sr.schedule, sr.parameters);
        done[s] = Done{std::move(sr), obj.history, std::move(obj.path), obj.best_x,
                       std::move(obj.best_eval)};
      } catch (...) {
        errors[s] = std::current_exception();
        stop.store(true);
      }
    }
    for (const auto& e : errors)  // the first start's error, as a serial run would throw it
      if (e) std::rethrow_exception(e);
    // Merged in start order, so ties go to the earlier start as in a serial run.
    for (int s = 0; s < settings.starts; ++s) {
      auto& d = done[s];
      if (!d) {
        // Not run (interrupted before it began): recorded with its initial point, the same
        // draw as an uninterrupted run, so a rerun can pick these starts up.
        StartResult sr;
        sr.initial.assign(initial[s].data(), initial[s].data() + dim);
        sr.status = OptimizeStatus::interrupted;
        sr.message = "not started";
        sr.loss = std::numeric_limits<double>::quiet_NaN();
        Objective(model, start, slots, loss, ev, {}, s)
            .decode(initial[s], sr.schedule, sr.parameters);
        res.starts.push_back(std::move(sr));
        continue;
      }
      StartResult& sr = d->result;
      res.iterations += sr.iterations;
      res.evaluations += sr.evaluations;
      if (d->best_x.size() > 0 && sr.loss < best) {
        best = sr.loss;
        best_x = d->best_x;
        best_eval = std::move(d->best_eval);
        have_eval = true;
        res.history = d->history;
        res.path = d->path;
        res.status = sr.status;
        res.message = sr.message;
      }
      res.starts.push_back(std::move(sr));
    }
  }
  const bool stopped = stop.load();
  if (stopped) res.status = OptimizeStatus::interrupted;

  // Report the best point with its full evaluation: the one the objective kept, else (no
  // free slot) a fresh one.
  Objective final_obj(model, start, slots, loss, ev, {}, 0);
  final_obj.decode(best_x, res.schedule, res.parameters);
  if (have_eval) {
    res.best = std::move(best_eval);
  } else if (stopped) {
    // Interrupted in the very first evaluation: nothing is known (and Ctrl-C must not wait).
    const double nan = std::numeric_limits<double>::quiet_NaN();
    res.best.merit.value = res.best.merit.ergotropy = res.best.merit.penalty = nan;
    res.best.final_energy = res.best.final_leakage = nan;
  } else {
    GradientOptions plain = gopt;
    plain.should_stop = nullptr;
    LossEvaluator fresh(plain);
    res.best = evaluate(fresh, *model.make(res.parameters), res.schedule, loss);
  }
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace qbopt

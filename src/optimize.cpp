#include <LBFGSB.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <qbopt/micromaser.hpp>
#include <qbopt/optimize.hpp>
#include <random>
#include <sstream>
#include <stdexcept>

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
  if (free_g && !(std::isfinite(g_min) && std::isfinite(g_max) && g_min < g_max))
    throw bad("g_min", g_min, "finite and below g_max");
}

ModelFactory micromaser_factory(int N) {
  return [N](double g) { return std::make_unique<Micromaser>(g, N); };
}

namespace {

// A free parameter: c or q of a batch, or the coupling g.
struct Slot {
  int batch;  // -1 for g
  int which;  // 0: c, 1: q
};

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
  Objective(const ModelFactory& f, double g, const Schedule& s, const std::vector<Slot>& slots,
            const FigureOfMerit& merit, LossEvaluator& ev, const IterationCallback& cb, int start)
      : factory_(f),
        g_(g),
        base_(s),
        slots_(slots),
        merit_(merit),
        ev_(ev),
        cb_(cb),
        start_(start) {}

  void decode(const Eigen::VectorXd& x, Schedule& s, double& g) const {
    s = base_;
    g = g_;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      if (slots_[i].batch < 0) {
        g = x[i];
        continue;
      }
      Qubit& qb = s.batches()[slots_[i].batch].qubit;
      // The line search can overshoot a bound by a rounding error (-1e-17): project back.
      (slots_[i].which == 0 ? qb.c : qb.q) = std::clamp(x[i], 0.0, 1.0);
    }
  }

  double operator()(const Eigen::VectorXd& x, Eigen::VectorXd& grad) {
    Schedule s;
    double g;
    decode(x, s, g);
    auto model = factory_(g);
    LossEvaluation le = ev_(*model, s, merit_);
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      const Slot& sl = slots_[i];
      grad[i] =
          sl.batch < 0 ? le.d_g : (sl.which == 0 ? le.batches[sl.batch].c : le.batches[sl.batch].q);
    }
    const double f = le.merit.value;
    if (!std::isfinite(f) || !grad.allFinite()) throw NonFinite{};
    track(x, f);
    ++evaluations;
    if (f < best_f) {
      best_f = f;
      best_x = x;
    }
    return f;
  }

  // An L-BFGS-B iteration is one line search; its trial points lie on one ray from the
  // previous iterate, so a trial off that ray means the previous evaluation ended an iteration.
  void track(const Eigen::VectorXd& x, double f) {
    if (evaluations == 0) {
      anchor_ = last_x_ = x;
      last_f_ = f;
      history.push_back(f);
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
    history.push_back(last_f_);
    anchor_ = last_x_;
    if (cb_ && !cb_(start_, static_cast<int>(history.size()) - 1, last_f_)) throw Stop{};
  }
  // The last iteration ends with the run (reported, but it can no longer be stopped).
  void finish() {
    if (evaluations == 0 || (history.size() >= 2 && history.back() == last_f_)) return;
    history.push_back(last_f_);
    if (cb_) cb_(start_, static_cast<int>(history.size()) - 1, last_f_);
  }

  int evaluations = 0;
  double best_f = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_x;
  std::vector<double> history;

 private:
  const ModelFactory& factory_;
  double g_;
  const Schedule& base_;
  const std::vector<Slot>& slots_;
  const FigureOfMerit& merit_;
  LossEvaluator& ev_;
  const IterationCallback& cb_;
  int start_;
  Eigen::VectorXd anchor_, last_x_;
  double last_f_ = 0;
};

}  // namespace

OptimizeResult optimize(const ModelFactory& factory, double g, const Schedule& start,
                        const FigureOfMerit& merit, const OptimizeSettings& settings,
                        const IterationCallback& callback) {
  settings.validate();
  start.validate();
  const auto t0 = std::chrono::steady_clock::now();

  std::vector<Slot> slots;
  for (std::size_t b = 0; b < start.batches().size(); ++b)
    if (!start.batches()[b].fixed) {
      slots.push_back({static_cast<int>(b), 0});
      slots.push_back({static_cast<int>(b), 1});
    }
  if (settings.free_g) slots.push_back({-1, 0});
  const int dim = static_cast<int>(slots.size());
  Eigen::VectorXd lb(dim), ub(dim), x0(dim);
  for (int i = 0; i < dim; ++i) {
    if (slots[i].batch < 0) {
      lb[i] = settings.g_min;
      ub[i] = settings.g_max;
      x0[i] = std::clamp(g, settings.g_min, settings.g_max);
    } else {
      lb[i] = 0;
      ub[i] = 1;
      const Qubit& qb = start.batches()[slots[i].batch].qubit;
      x0[i] = slots[i].which == 0 ? qb.c : qb.q;
    }
  }

  GradientOptions gopt;
  gopt.with_g = settings.free_g;
  LossEvaluator ev(gopt);
  OptimizeResult res;
  res.status = "nothing to optimize";
  std::mt19937_64 rng(settings.seed);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  double best = std::numeric_limits<double>::infinity();
  Eigen::VectorXd best_x = x0;
  bool stopped = false;

  if (dim > 0) {
    LBFGSpp::LBFGSBParam<double> param;  // kept alive for the solver, which holds a reference
    param.epsilon = settings.epsilon;
    param.epsilon_rel = 0;
    param.past = settings.past;
    param.delta = settings.delta;
    param.max_iterations = settings.max_iterations;
    param.max_linesearch = settings.max_linesearch;
    for (int s = 0; s < settings.starts && !stopped; ++s) {
      Eigen::VectorXd x = x0;
      if (s > 0)
        for (int i = 0; i < dim; ++i) x[i] = lb[i] + (ub[i] - lb[i]) * unit(rng);
      Objective obj(factory, g, start, slots, merit, ev, callback, s);
      LBFGSpp::LBFGSBSolver<double> solver(param);
      StartResult sr;
      double fx = 0;
      // A failed line search (the |dE/dk| penalty makes the landscape kinked) restarts the
      // solver from the best point with a fresh Hessian model, while that still gains.
      for (int restart = 0; restart <= settings.restarts; ++restart) {
        const double before = obj.best_f;
        try {
          sr.iterations += solver.minimize(obj, x, fx, lb, ub);
          sr.status = sr.iterations >= settings.max_iterations ? "max_iterations" : "converged";
          break;
        } catch (const Stop&) {
          sr.status = "interrupted";
          stopped = true;
          break;
        } catch (const std::runtime_error& e) {
          // LBFGSpp's line-search failures (runtime_error, logic_error): non-convergence is
          // a result, so keep the best point seen and say why it stopped.
          sr.status = std::string("stopped: ") + e.what();
        } catch (const std::logic_error& e) {
          sr.status = std::string("stopped: ") + e.what();
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
      obj.decode(obj.best_x.size() ? obj.best_x : x0, sr.schedule, sr.g);
      res.iterations += sr.iterations;
      res.evaluations += sr.evaluations;
      if (obj.best_x.size() > 0 && obj.best_f < best) {
        best = obj.best_f;
        best_x = obj.best_x;
        res.history = obj.history;
        res.status = sr.status;
      }
      res.starts.push_back(std::move(sr));
    }
  }

  // Report the best point with its full evaluation.
  Objective final_obj(factory, g, start, slots, merit, ev, {}, 0);
  final_obj.decode(best_x, res.schedule, res.g);
  res.best = ev(*factory(res.g), res.schedule, merit);
  res.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return res;
}

}  // namespace qbopt

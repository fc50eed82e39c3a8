// pybind11 layer of qbopt.sweep and qbopt.landscape: the CLI's sweep engine and task runner
// (cli/sweep.cpp, cli/main.cpp) and a (c, q) grid of loss evaluations, run on C++ threads
// with the GIL released. No physics here.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <future>
#include <limits>
#include <nlohmann/json.hpp>
#include <qbopt/qbopt.hpp>
#include <string>
#include <thread>
#include <vector>

#include "io.hpp"
#include "sweep.hpp"
#include "task.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace py = pybind11;
using namespace qbopt;

namespace {

// Runs work() on its own thread while the calling thread, with the GIL released between
// checks, takes the GIL every 50 ms to run Python's signal handlers and tick(). When a handler
// raises (Ctrl-C: KeyboardInterrupt), or tick() returns false or raises, stop() is called;
// once work() has returned, the Python exception is re-raised (a false tick raises nothing).
// Returns false when tick() stopped the work.
template <class Work, class Tick, class Stop>
bool run_polling(Work work, Tick tick, Stop stop) {
  std::exception_ptr failure;
  std::promise<void> finished;
  std::future<void> done = finished.get_future();
  std::thread worker([&] {
    try {
      work();
    } catch (...) {
      failure = std::current_exception();
    }
    finished.set_value();
  });
  bool stopped = false, ticked_out = false;
  py::object type, value, trace;  // the pending Python exception
  {
    py::gil_scoped_release nogil;
    while (done.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      if (stopped) continue;
      py::gil_scoped_acquire gil;
      bool go = true;
      try {
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        go = tick();
        if (!go) ticked_out = true;
      } catch (py::error_already_set& e) {
        type = e.type(), value = e.value(), trace = e.trace();
        go = false;
      }
      if (!go) {
        stopped = true;
        stop();
      }
    }
  }
  worker.join();
  if (type) {
    PyErr_Restore(type.release().ptr(), value.release().ptr(), trace.release().ptr());
    throw py::error_already_set();
  }
  if (failure) std::rethrow_exception(failure);
  return !ticked_out;
}

}  // namespace

void bind_sweep(py::module_& m) {
  // (exit code, error, tasks, skipped, written, failures, seconds) of `qbopt sweep`; the
  // sweep is a TOML file (path) or the JSON text of a dict (config_json). progress(done,
  // pending) on the calling thread at most every 50 ms; False stops the sweep (code 130).
  m.def(
      "sweep",
      [](const std::string& path, const std::string& config_json, const std::string& out,
         int threads, bool restart, py::object progress) {
        cli::SweepOptions o;
        o.file = path;
        if (!config_json.empty()) o.config_json = config_json;
        o.out = out;
        o.threads = threads;
        o.restart = restart;
        o.quiet = true;
        std::atomic<long> done{0}, total{-1};
        o.progress = [&](long d, long t) {
          done.store(d);
          total.store(t);
        };
        cli::SweepSummary sum;
        long shown = -1;
        auto report = [&]() -> bool {
          if (progress.is_none() || total.load() < 0 || done.load() == shown) return true;
          shown = done.load();
          return progress(shown, total.load()).ptr() != Py_False;
        };
        cli::request_interrupt(false);
        try {
          run_polling([&] { cli::run_sweep(o, &sum); }, report,
                      [] { cli::request_interrupt(true); });
        } catch (...) {
          cli::request_interrupt(false);
          throw;
        }
        cli::request_interrupt(false);
        if (sum.code != 130) {
          py::gil_scoped_acquire gil;
          report();  // the last lines
        }
        return py::make_tuple(sum.code, sum.error, sum.tasks, sum.skipped, sum.written,
                              sum.failures, sum.seconds);
      },
      py::arg("path"), py::arg("config_json"), py::arg("out"), py::arg("threads"),
      py::arg("restart"), py::arg("progress") = py::none());

  // One task of a sweep ({"command", options...} as JSON text) run as the CLI runs it: the
  // JSON text of its --out document; Ctrl-C raises KeyboardInterrupt.
  m.def("run_task", [](const std::string& task, int threads) {
    const nlohmann::json t = nlohmann::json::parse(task);
    std::string result;
    cli::RunContext ctx;
    ctx.quiet = true;
    ctx.threads = threads;
    cli::request_interrupt(false);
    try {
      run_polling([&] { result = cli::run_task(t, ctx).dump(); }, [] { return true; },
                  [] { cli::request_interrupt(true); });
    } catch (...) {
      cli::request_interrupt(false);
      throw;
    }
    cli::request_interrupt(false);
    return result;
  });

  // The loss of `schedule` with batch `batch`'s (c, q) moved to every point of the grid:
  // (loss, ergotropy, penalty, lifetime), each row-major over (q, c) (q slowest); lifetime
  // (-1/ln|lambda_1| of that batch's one-step map) only when asked, NaN where no mode decays.
  m.def(
      "landscape",
      [](const ModelConfig& config, const Schedule& schedule, int batch,
         const std::vector<double>& cs, const std::vector<double>& qs, const std::string& name,
         double lam, double eta, bool lifetime, int count, int threads) {
        const Loss loss = make_loss(name, {lam, eta});
        if (batch < 0 || batch >= static_cast<int>(schedule.batches().size()))
          throw std::invalid_argument("batch must be in [0, " +
                                      std::to_string(schedule.batches().size() - 1) + "], got " +
                                      std::to_string(batch));
        for (double c : cs) Qubit{c, 0.5}.validate();
        for (double q : qs) Qubit{0.5, q}.validate();
        const std::size_t points = cs.size() * qs.size();
        if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
        threads = static_cast<int>(std::min<std::size_t>(threads, std::max<std::size_t>(points, 1)));
        // As qbopt.loss evaluates it (no gradient): one evaluator per thread.
        GradientOptions opt;
        opt.gradient = false;
        opt.parameters = false;
        const GradientPlan plan =
            plan_gradient(config.nc(), schedule.collisions(), opt, config.spec().scratch_states);
        check_memory({plan.bytes * static_cast<std::size_t>(threads),
                      std::to_string(threads) + " x " + plan.describe()},
                     available_memory(), "the available memory");
        if (lifetime) {
          const long n = static_cast<long>(config.nc()) * (config.nc() + 1) / 2;
          if (count < 1 || count > n - 2)
            throw std::invalid_argument("count must be in [1, " + std::to_string(n - 2) +
                                        "], got " + std::to_string(count));
        }
        const double nan = std::numeric_limits<double>::quiet_NaN();
        std::vector<double> L(points, nan), W(points, nan), P(points, nan), T(points, nan);
        std::atomic<std::size_t> next{0};
        std::atomic<bool> stop{false};
        auto worker = [&] {
#ifdef _OPENMP
          omp_set_num_threads(1);  // the grid is the parallelism
#endif
          GradientOptions o = opt;
          o.should_stop = [&] { return stop.load(std::memory_order_relaxed); };
          LossEvaluator ev(o);
          const auto model = config.make();
          Schedule s = schedule;
          for (std::size_t k; (k = next.fetch_add(1)) < points && !stop.load();) {
            const double c = cs[k % cs.size()], q = qs[k / cs.size()];
            Qubit& qubit = s.batches()[static_cast<std::size_t>(batch)].qubit;
            qubit.c = c;
            qubit.q = q;
            const LossEvaluation le = evaluate(ev, *model, s, loss);
            L[k] = le.merit.value;
            W[k] = le.merit.ergotropy;
            P[k] = le.merit.penalty;
            if (lifetime) {
              const Qubit at = qubit;
              SpectrumSettings st;
              st.count = count;
              const LinearMap phi = [&](const State& in, State& out) { model->apply(at, in, out); };
              const Spectrum sp = spectrum(phi, config.nc(), st);
              if (sp.lifetime && std::isfinite(*sp.lifetime)) T[k] = *sp.lifetime;
            }
          }
        };
        run_polling(
            [&] {
              std::vector<std::thread> pool;
              std::vector<std::exception_ptr> errors(static_cast<std::size_t>(threads));
              for (int t = 0; t < threads; ++t)
                pool.emplace_back([&, t] {
                  try {
                    worker();
                  } catch (...) {
                    errors[static_cast<std::size_t>(t)] = std::current_exception();
                    stop.store(true);
                  }
                });
              for (auto& th : pool) th.join();
              for (auto& e : errors)
                if (e) std::rethrow_exception(e);
            },
            [] { return true; }, [&] { stop.store(true); });
        return py::make_tuple(L, W, P, T);
      },
      py::arg("model"), py::arg("schedule"), py::arg("batch"), py::arg("c"), py::arg("q"),
      py::arg("name"), py::arg("lam"), py::arg("eta"), py::arg("lifetime"), py::arg("count"),
      py::arg("threads"));
}

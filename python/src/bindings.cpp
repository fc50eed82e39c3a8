// pybind11 layer: converts types and calls the library; no physics here.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/complex.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <complex>
#include <map>
#include <optional>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <qbopt/qbopt.hpp>
#include <utility>

#include "json_io.hpp"

namespace py = pybind11;
using namespace qbopt;

namespace {

// Ctrl-C while the library runs without the GIL. The stop hook takes the GIL at most every
// 0.1 s, on the calling thread only (Python runs signal handlers there), to run the handlers;
// when one raises (KeyboardInterrupt) the library stops and the exception is re-raised.
struct PendingSignal {
  std::thread::id owner = std::this_thread::get_id();
  std::atomic<bool> stop{false};
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  PyObject *type = nullptr, *value = nullptr, *traceback = nullptr;
};

// Calls f(stop_hook) with the GIL released; Python's signals interrupt it within ~0.1 s.
// `keep_result`: a KeyboardInterrupt after f returned (the optimizer's "interrupted" result,
// the best point so far) is dropped and the result returned, as the CLI writes it.
template <class F>
auto interruptible(F&& f, bool keep_result = false) {
  auto st = std::make_shared<PendingSignal>();
  StopHook hook = [st]() -> bool {
    if (st->stop.load(std::memory_order_relaxed)) return true;
    if (std::this_thread::get_id() != st->owner) return false;  // OpenMP workers
    const auto now = std::chrono::steady_clock::now();
    if (now - st->last < std::chrono::milliseconds(100)) return false;
    st->last = now;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() == 0) return false;
    PyErr_Fetch(&st->type, &st->value, &st->traceback);
    st->stop.store(true);
    return true;
  };
  auto raise_pending = [&] {
    PyErr_Restore(st->type, st->value, st->traceback);
    throw py::error_already_set();
  };
  try {
    auto result = [&] {
      py::gil_scoped_release nogil;
      return f(hook);
    }();
    if (st->type && keep_result &&
        PyErr_GivenExceptionMatches(st->type, PyExc_KeyboardInterrupt)) {
      Py_XDECREF(st->type), Py_XDECREF(st->value), Py_XDECREF(st->traceback);
      st->type = st->value = st->traceback = nullptr;
    }
    if (st->type) raise_pending();
    return result;
  } catch (const Interrupted&) {
    if (!st->type) throw;
    raise_pending();
    throw;  // not reached
  }
}

// The memory budget of a call: max_memory bytes, or (0) the available memory; an estimate
// over it raises ValueError before the call starts.
std::size_t budget(std::size_t max_memory) {
  return max_memory > 0 ? max_memory : available_memory();
}
// The gradient's checkpoint budget: max_memory, or (0) GradientOptions' default.
std::size_t gradient_budget(std::size_t max_memory) {
  return max_memory > 0 ? max_memory : GradientOptions{}.memory_budget;
}

// The state a run continues from (Python's initial=, the CLI's --initial): rho padded to nc
// levels and checked by State::from_density_matrix; null (|0><0|) when rho is None.
std::shared_ptr<const State> initial_state(const std::optional<Eigen::MatrixXcd>& rho, int nc) {
  if (!rho) return nullptr;
  return std::make_shared<const State>(State::from_density_matrix(*rho, nc));
}

}  // namespace

void bind_sweep(py::module_& m);  // sweep_bindings.cpp: qbopt.sweep, qbopt.landscape

PYBIND11_MODULE(_core, m) {
  m.doc() = "qbopt native core (use the qbopt package, not this module)";
  m.attr("__version__") = qbopt::version;

  m.attr("PAPER_COUPLING") = kPaperCoupling;
  m.attr("LEAKAGE_WARNING") = kLeakageWarning;

  // The defaults of the library's settings structs, under the CLI's option names (dashes as
  // underscores): the one source of the defaults of the CLI's flags and Python's arguments.
  m.def("defaults", []() {
    const ModelConfig model;
    const LossSettings loss;
    const OptimizeSettings opt;
    const NoiseSettings noise;
    py::dict d;
    d["model"] = model.name();
    d["nc"] = model.nc();
    d["samples"] = SimulateOptions{}.samples;
    d["sampling"] = to_string(SimulateOptions{}.spacing);
    d["lambda"] = loss.lambda;
    d["eta"] = loss.eta;
    d["loss"] = std::string(kDefaultLoss);
    d["starts"] = opt.starts;
    d["seed"] = opt.seed;
    d["max_iterations"] = opt.max_iterations;
    d["epsilon"] = opt.epsilon;
    d["threads"] = opt.threads;
    d["g_range"] = py::make_tuple(opt.ranges.at("g").first, opt.ranges.at("g").second);
    d["count"] = SpectrumSettings{}.count;
    d["noise"] = py::dict(py::arg("sigma") = noise.sigma, py::arg("trajectories") = noise.trajectories,
                          py::arg("seed") = noise.seed, py::arg("samples") = noise.samples);
    return d;
  });
  m.def("parse_bytes", &parse_bytes, py::arg("text"), py::arg("what"));

  py::class_<Batch>(m, "Batch")
      .def(py::init([](double c, double q, long count, bool fixed) {
             Batch b{{c, q}, count, fixed};
             b.qubit.validate();
             if (count < 1 || count > Schedule::kMaxCollisions)
               throw std::invalid_argument("count must be in [1, 1e8], got " +
                                           std::to_string(count));
             return b;
           }),
           py::arg("c"), py::arg("q"), py::arg("count"), py::arg("fixed") = false)
      .def("set_control", [](Batch& b, int i, double v) { b.qubit.set_control(i, v); })
      .def("carries", [](const Batch& b, int i) { return b.qubit.carries(i); })
      .def("control", [](const Batch& b, int i) { return b.qubit.control(i); })
      .def_property_readonly("c", [](const Batch& b) { return b.qubit.c; })
      .def_property_readonly("q", [](const Batch& b) { return b.qubit.q; })
      .def_readonly("count", &Batch::count)
      .def_readonly("fixed", &Batch::fixed);

  py::class_<Schedule>(m, "Schedule")
      .def(py::init([](std::vector<Batch> b) {
        Schedule s(std::move(b));
        s.validate();
        return s;
      }))
      .def_property_readonly("batches", [](const Schedule& s) { return s.batches(); })
      .def("collisions", &Schedule::collisions);

  py::class_<State>(m, "State")
      .def_static("from_matrix", &State::from_matrix)
      .def_property_readonly("dim", &State::dim)
      .def_property_readonly("top", &State::top)
      .def("matrix", &State::matrix)
      .def("density_matrix", &State::density_matrix);

  py::class_<ModelConfig>(m, "ModelConfig")
      .def(py::init<const std::string&, int>(), py::arg("name"), py::arg("nc"))
      .def("set", &ModelConfig::set)
      .def("set_text", &ModelConfig::set_text)
      .def("get", &ModelConfig::get)
      .def("control_index",
           [](const ModelConfig& c, const std::string& n) { return c.spec().control_index(n); })
      .def("control_names",
           [](const ModelConfig& c) {
             std::vector<std::string> v;
             for (const auto& p : c.spec().controls) v.push_back(p.name);
             return v;
           })
      .def_property_readonly("name", &ModelConfig::name)
      .def_property_readonly("nc", &ModelConfig::nc)
      .def_property_readonly("values", &ModelConfig::values);
  // The CLI's JSON layouts (cli/json_io.hpp), so Python writes exactly what the CLI writes.
  m.def("run_config", [](const std::string& command, const ModelConfig& c, const Schedule& s) {
    return qbopt::cli::run_config(command, c, s).dump();
  });
  m.def("schedule_json", [](const Schedule& s, const ModelConfig& c) {
    return qbopt::cli::schedule_json(s, c.spec()).dump();
  });
  m.def("model_json", [](const ModelConfig& c) { return qbopt::cli::model_json(c).dump(); });
  m.def("parse_batch", [](const std::string& text, const ModelConfig& c) {
    return parse_batch(text, c.spec());
  });
  m.def("models", []() {
    nlohmann::json all = nlohmann::json::array();
    for (const auto& e : model_registry()) {
      auto specs = [](const std::vector<ParameterSpec>& v) {
        nlohmann::json a = nlohmann::json::array();
        for (const auto& p : v)
          a.push_back({{"name", p.name},
                       {"default", p.is_choice() ? nlohmann::json(p.format(p.default_value))
                                                 : nlohmann::json(p.default_value)},
                       {"bounds", {p.lower, p.upper}},
                       {"choices", p.choices},
                       {"optional", p.optional},
                       {"doc", p.doc}});
        return a;
      };
      all.push_back({{"name", e.spec.name},
                     {"doc", e.spec.doc},
                     {"controls", specs(e.spec.controls)},
                     {"parameters", specs(e.spec.parameters)}});
    }
    return all.dump();
  });

  m.def("energy", &energy);
  m.def("purity", &purity);
  m.def("ergotropy", static_cast<double (*)(const State&)>(&ergotropy));
  m.def("leakage", &leakage);
  m.def("populations", &populations);

  m.def(
      "simulate",
      [](const ModelConfig& config, const Schedule& s, int samples, py::object progress,
         std::size_t max_memory, const std::string& sampling, const std::vector<long>& at,
         const std::vector<long>& states_at, const std::optional<Eigen::MatrixXcd>& initial) {
        const long n = s.collisions();
        const auto start = initial_state(initial, config.nc());
        SimulateOptions o;
        o.samples = samples;
        o.spacing = spacing_from_name(sampling, "sampling");
        o.at = collision_indices(at, n, "at");
        o.states_at = collision_indices(states_at, n, "states_at");
        const long count = at.empty() ? std::min<long>(samples, n + 1) : static_cast<long>(o.at.size());
        MemoryEstimate need =
            simulate_memory(config.nc(), n, count, config.spec().scratch_states);
        if (!o.states_at.empty()) {
          const MemoryEstimate st = states_memory(config.nc(), static_cast<long>(o.states_at.size()));
          need = {need.bytes + st.bytes, need.what + ", " + st.what};
        }
        check_memory(need, budget(max_memory), "max_memory");
        // progress(k, n) every few thousand collisions; False stops (partial trajectory).
        if (!progress.is_none())
          o.progress = [&progress](long k, long n) {
            py::gil_scoped_acquire gil;
            return progress(k, n).ptr() != Py_False;
          };
        const auto model = config.make();
        Trajectory t = interruptible([&](const StopHook& stop) {
          o.should_stop = stop;
          return start ? simulate(*model, s, *start, o) : simulate(*model, s, o);
        });
        std::vector<long> k;
        std::vector<double> E, W, P, L;
        for (const auto& x : t.samples) {
          k.push_back(x.k), E.push_back(x.energy), W.push_back(x.ergotropy);
          P.push_back(x.purity), L.push_back(x.leakage);
        }
        // (k, state) of each kept state, after the final state.
        std::vector<std::pair<long, State>> kept;
        for (auto& x : t.states) kept.emplace_back(x.k, std::move(x.state));
        // ... and simulate's {"trajectory", "final"[, "interrupted"]} as the CLI writes them.
        const std::string doc = qbopt::cli::trajectory_json(t, n).dump();
        return py::make_tuple(k, E, W, P, L, t.energy, t.final_state, kept, doc);
      },
      py::arg("model"), py::arg("schedule"), py::arg("samples"), py::arg("progress") = py::none(),
      py::arg("max_memory") = 0,
      py::arg("sampling") = std::string(to_string(SimulateOptions{}.spacing)),
      py::arg("at") = std::vector<long>{}, py::arg("states_at") = std::vector<long>{},
      py::arg("initial") = py::none());
  // The collision counts `ks` sorted and without repeats; ValueError naming `what` and the
  // first one outside [0, n].
  m.def("collision_indices", &collision_indices, py::arg("ks"), py::arg("n"), py::arg("what"));

  m.def("evaluate_loss", [](const ModelConfig& config, const Schedule& s, const std::string& name,
                            double lam, double eta, bool gradient, bool parameters,
                            std::size_t max_memory, const std::optional<Eigen::MatrixXcd>& initial) {
    const Loss loss = make_loss(name, {lam, eta});
    GradientOptions o;
    o.gradient = gradient;
    o.parameters = parameters;
    o.initial = initial_state(initial, config.nc());
    o.memory_budget = gradient_budget(max_memory);
    const GradientPlan plan =
        plan_gradient(config.nc(), s.collisions(), o, config.spec().scratch_states);
    check_memory({plan.bytes, plan.describe()}, budget(max_memory), "max_memory");
    const auto model = config.make();
    return interruptible([&](const StopHook& stop) {
      o.should_stop = stop;
      LossEvaluator ev(o);
      SpectralPenaltyValue sp;
      LossEvaluation le = evaluate(ev, *model, s, loss, &sp);
      // (evaluation, its slow mode or None): the spectral penalty of a NAME-spectral loss.
      std::optional<SpectralPenaltyValue> spectral;
      if (loss.spectral) spectral = sp;
      return std::make_pair(le, spectral);
    });
  }, py::arg("model"), py::arg("schedule"), py::arg("name"), py::arg("lam"), py::arg("eta"),
     py::arg("gradient"), py::arg("parameters"), py::arg("max_memory") = 0,
     py::arg("initial") = py::none());
  py::class_<SpectralPenaltyValue>(m, "SpectralPenaltyValue")
      .def_readonly("eigenvalue", &SpectralPenaltyValue::eigenvalue)
      .def_readonly("decay_rate", &SpectralPenaltyValue::decay_rate);
  // The CLI's result layouts (cli/json_io.hpp), as JSON text: loss and optimize documents
  // without their "config".
  m.def("loss_result_json",
        [](const LossEvaluation& le, const ModelConfig& c, bool gradient,
           const std::optional<SpectralPenaltyValue>& sp) {
          return qbopt::cli::loss_result_json(le, c.spec(), gradient, sp ? &*sp : nullptr).dump();
        });
  m.def("optimize_result_json", [](const OptimizeResult& r, const ModelConfig& c, bool path) {
    return qbopt::cli::optimize_result_json(r, c, path).dump();
  });
  m.def("state_json", [](const State& s, long k) { return qbopt::cli::state_json(s, k).dump(); },
        py::arg("state"), py::arg("k"));
  m.def("iteration_line", &qbopt::cli::iteration_line, py::arg("start"), py::arg("iteration"),
        py::arg("loss"));
  m.def("optimum", &qbopt::cli::optimum, py::arg("result"), py::arg("model"));
  m.def("spectral_json", [](const SpectralPenaltyValue& sp) {
    return qbopt::cli::spectral_json(sp).dump();
  });
  py::class_<MeritValue>(m, "MeritValue")
      .def_readonly("value", &MeritValue::value)
      .def_readonly("ergotropy", &MeritValue::ergotropy)
      .def_readonly("penalty", &MeritValue::penalty);
  py::class_<LossEvaluation>(m, "LossEvaluation")
      .def_readonly("merit", &LossEvaluation::merit)
      .def_readonly("final_energy", &LossEvaluation::final_energy)
      .def_readonly("final_leakage", &LossEvaluation::final_leakage)
      .def_readonly("batches", &LossEvaluation::batches)
      .def_readonly("parameters", &LossEvaluation::parameters);

  py::class_<StartResult>(m, "StartResult")
      .def_readonly("schedule", &StartResult::schedule)
      .def_readonly("parameters", &StartResult::parameters)
      .def_readonly("initial", &StartResult::initial)
      .def_readonly("loss", &StartResult::loss)
      .def_readonly("iterations", &StartResult::iterations)
      .def_readonly("evaluations", &StartResult::evaluations)
      .def_property_readonly("status", [](const StartResult& s) { return to_string(s.status); })
      .def_readonly("message", &StartResult::message);
  py::class_<OptimizeResult>(m, "OptimizeResult")
      .def_readonly("schedule", &OptimizeResult::schedule)
      .def_readonly("parameters", &OptimizeResult::parameters)
      .def_readonly("best", &OptimizeResult::best)
      .def_readonly("iterations", &OptimizeResult::iterations)
      .def_readonly("evaluations", &OptimizeResult::evaluations)
      .def_readonly("seconds", &OptimizeResult::seconds)
      .def_readonly("history", &OptimizeResult::history)
      .def_readonly("path", &OptimizeResult::path)
      .def_property_readonly("status", [](const OptimizeResult& r) { return to_string(r.status); })
      .def_readonly("message", &OptimizeResult::message)
      .def_readonly("slots", &OptimizeResult::slots)
      .def_readonly("starts", &OptimizeResult::starts);
  m.def("optimize", [](const ModelConfig& config, const Schedule& s, const std::string& name,
                       double lam, double eta, int starts, std::uint64_t seed, int max_iterations,
                       double epsilon, std::vector<std::string> free_parameters,
                       std::vector<std::string> free_controls,
                       std::map<std::string, std::pair<double, double>> ranges,
                       py::object callback, std::size_t max_memory,
                       const std::optional<Eigen::MatrixXcd>& initial, int threads, bool path) {
    const Loss loss = make_loss(name, {lam, eta});
    OptimizeSettings st;
    st.record_path = path;
    st.starts = starts;
    st.threads = threads;
    st.initial = initial_state(initial, config.nc());
    st.seed = seed;
    st.max_iterations = max_iterations;
    st.epsilon = epsilon;
    st.free_parameters = std::move(free_parameters);
    st.free_controls = std::move(free_controls);
    for (auto& [k, v] : ranges) st.ranges[k] = v;
    st.validate();
    st.memory_budget = gradient_budget(max_memory);
    check_memory(optimize_memory(config.nc(), s.collisions(), st, config.spec().scratch_states),
                 budget(max_memory), "max_memory");
    // callback(start, iteration, loss) after each iteration; False stops the run.
    IterationCallback cb;
    if (!callback.is_none())
      cb = [&callback](int start, int it, double loss) {
        py::gil_scoped_acquire gil;
        return callback(start, it, loss).ptr() != Py_False;
      };
    // Ctrl-C: the best point so far, status "interrupted" (no KeyboardInterrupt).
    return interruptible(
        [&](const StopHook& stop) {
          st.should_stop = stop;
          return optimize(config, s, loss, st, cb);
        },
        true);
  }, py::arg("model"), py::arg("schedule"), py::arg("name"), py::arg("lam"), py::arg("eta"),
     py::arg("starts"), py::arg("seed"), py::arg("max_iterations"), py::arg("epsilon"),
     py::arg("free_parameters"), py::arg("free_controls"), py::arg("ranges"),
     py::arg("callback") = py::none(), py::arg("max_memory") = 0,
     py::arg("initial") = py::none(), py::arg("threads") = OptimizeSettings{}.threads,
     py::arg("path") = OptimizeSettings{}.record_path);

  // (JSON text of `qbopt spectrum --out`, right eigenvectors as density-matrix-basis arrays,
  // steady states' density matrices).
  m.def(
      "spectrum",
      [](const ModelConfig& config, const Batch& qubit_batch, int count) {
        const Qubit qubit = qubit_batch.qubit;
        SpectrumSettings st;
        st.count = count;
        const auto model = config.make();
        // Ctrl-C: KeyboardInterrupt (no partial spectrum).
        const Spectrum s = interruptible([&](const StopHook& stop) {
          st.should_stop = stop;
          return spectrum(step_maps(*model, qubit).phi, config.nc(), st);
        });
        nlohmann::json j = qbopt::cli::spectrum_json(s);
        j["config"] = qbopt::cli::spectrum_config(config, qubit, count);
        // rho_mn = (-i)^(m-n) r_mn, the phases of State::density_matrix.
        static const std::complex<double> phase[4] = {{1, 0}, {0, -1}, {-1, 0}, {0, 1}};
        std::vector<Eigen::MatrixXcd> vectors;
        for (Eigen::MatrixXcd v : s.eigenvectors) {
          for (int n = 0; n < v.cols(); ++n)
            for (int m = 0; m < v.rows(); ++m) v(m, n) *= phase[((m - n) % 4 + 4) % 4];
          vectors.push_back(std::move(v));
        }
        std::vector<Eigen::MatrixXcd> steady;
        for (const auto& ss : s.steady_states) steady.push_back(ss.state.density_matrix());
        return py::make_tuple(j.dump(), vectors, steady);
      },
      py::arg("model"), py::arg("qubit"), py::arg("count"));

  m.def(
      "wigner",
      [](const Eigen::MatrixXcd& rho, const std::vector<double>& x, const std::vector<double>& p) {
        check_memory(wigner_memory(static_cast<long>(x.size()), static_cast<long>(p.size())),
                     budget(0), "the available memory");
        return interruptible([&](const StopHook& stop) { return wigner(rho, x, p, stop); });
      },
      py::arg("rho"), py::arg("x"), py::arg("p"));

  py::class_<NoiseEnsemble>(m, "NoiseEnsemble")
      .def_readonly("k", &NoiseEnsemble::k)
      .def_readonly("ergotropy_mean", &NoiseEnsemble::ergotropy_mean)
      .def_readonly("ergotropy_std", &NoiseEnsemble::ergotropy_std)
      .def_readonly("purity_mean", &NoiseEnsemble::purity_mean)
      .def_readonly("purity_std", &NoiseEnsemble::purity_std)
      .def_readonly("energy_mean", &NoiseEnsemble::energy_mean)
      .def_readonly("energy_std", &NoiseEnsemble::energy_std);
  m.def("noise_ensemble", [](const ModelConfig& config, const Schedule& s, double sigma,
                             int trajectories, std::uint64_t seed, int samples,
                             const std::optional<Eigen::MatrixXcd>& initial) {
    NoiseSettings ns{sigma, trajectories, seed, samples, {}, nullptr};
    ns.validate();
    ns.initial = initial_state(initial, config.nc());
    check_memory(noise_memory(config.nc(), s.collisions(), trajectories,
                              config.spec().scratch_states),
                 budget(0),
                 "the available memory");
    const auto model = config.make();
    return interruptible([&](const StopHook& stop) {
      ns.should_stop = stop;
      return noise_ensemble(*model, s, ns);
    });
  }, py::arg("model"), py::arg("schedule"), py::arg("sigma"), py::arg("trajectories"),
     py::arg("seed"), py::arg("samples"), py::arg("initial") = py::none());

  // The paper's scenarios (include/qbopt/scenarios.hpp) as dicts, for qbopt.scenarios().
  m.def("paper_scenarios", [] {
    py::list out;
    for (const PaperScenario& s : paper_scenarios()) {
      py::list start, paper;
      for (const Batch& b : s.start) {
        py::dict d;
        d["c"] = b.qubit.c, d["q"] = b.qubit.q, d["count"] = b.count, d["fixed"] = b.fixed;
        start.append(d);
      }
      for (const Qubit& q : s.paper) paper.append(py::make_tuple(q.c, q.q));
      py::dict d;
      d["id"] = s.id, d["section"] = s.section, d["lambda"] = s.lambda, d["eta"] = s.eta;
      d["nc"] = s.nc, d["g"] = kPaperCoupling, d["start"] = start, d["paper"] = paper;
      d["figure"] = s.figure, d["state_figure"] = s.state_figure, d["example"] = s.example;
      out.append(d);
    }
    return out;
  });

  bind_sweep(m);
}

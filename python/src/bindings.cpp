// pybind11 layer: converts types and calls the library; no physics here.
#include <pybind11/eigen.h>
#include <pybind11/functional.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <qbopt/qbopt.hpp>

namespace py = pybind11;
using namespace qbopt;

PYBIND11_MODULE(_core, m) {
  m.doc() = "qbopt native core (use the qbopt package, not this module)";
  m.attr("__version__") = qbopt::version;

  py::class_<Qubit>(m, "Qubit")
      .def(py::init([](double c, double q) {
             Qubit x{c, q};
             x.validate();
             return x;
           }),
           py::arg("c"), py::arg("q"))
      .def_readonly("c", &Qubit::c)
      .def_readonly("q", &Qubit::q);

  py::class_<Batch>(m, "Batch")
      .def(py::init([](double c, double q, long count, bool fixed) {
             Batch b{{c, q}, count, fixed};
             b.qubit.validate();
             if (count < 1)
               throw std::invalid_argument("count must be >= 1, got " + std::to_string(count));
             return b;
           }),
           py::arg("c"), py::arg("q"), py::arg("count"), py::arg("fixed") = false)
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

  py::class_<CollisionModel>(m, "CollisionModel");
  py::class_<Micromaser, CollisionModel>(m, "Micromaser")
      .def(py::init<double, int>(), py::arg("g"), py::arg("nc"))
      .def_property_readonly("g", &Micromaser::coupling)
      .def_property_readonly("nc", &Micromaser::dim);

  m.def("energy", &energy);
  m.def("purity", &purity);
  m.def("ergotropy", &ergotropy);
  m.def("leakage", &leakage);
  m.def("populations", &populations);

  m.def(
      "simulate",
      [](const Micromaser& model, const Schedule& s, int samples) {
        SimulateOptions o;
        o.samples = samples;
        Trajectory t;
        {
          py::gil_scoped_release nogil;
          t = simulate(model, s, o);
        }
        std::vector<long> k;
        std::vector<double> E, W, P, L;
        for (const auto& x : t.samples) {
          k.push_back(x.k), E.push_back(x.energy), W.push_back(x.ergotropy);
          P.push_back(x.purity), L.push_back(x.leakage);
        }
        return py::make_tuple(k, E, W, P, L, t.energy, t.final_state);
      },
      py::arg("model"), py::arg("schedule"), py::arg("samples"));

  m.def("evaluate_loss", [](const Micromaser& model, const Schedule& s, const std::string& name,
                            double lam, double eta, bool gradient, bool with_g) {
    auto merit = make_figure_of_merit(name, {lam, eta});
    GradientOptions o;
    o.gradient = gradient;
    o.with_g = with_g;
    py::gil_scoped_release nogil;
    return evaluate_loss(model, s, *merit, o);
  });
  py::class_<MeritValue>(m, "MeritValue")
      .def_readonly("value", &MeritValue::value)
      .def_readonly("ergotropy", &MeritValue::ergotropy)
      .def_readonly("penalty", &MeritValue::penalty);
  py::class_<ParameterGradient>(m, "ParameterGradient")
      .def_readonly("c", &ParameterGradient::c)
      .def_readonly("q", &ParameterGradient::q)
      .def_readonly("g", &ParameterGradient::g);
  py::class_<LossEvaluation>(m, "LossEvaluation")
      .def_readonly("merit", &LossEvaluation::merit)
      .def_readonly("final_energy", &LossEvaluation::final_energy)
      .def_readonly("batches", &LossEvaluation::batches)
      .def_readonly("d_g", &LossEvaluation::d_g);

  py::class_<StartResult>(m, "StartResult")
      .def_readonly("schedule", &StartResult::schedule)
      .def_readonly("g", &StartResult::g)
      .def_readonly("loss", &StartResult::loss)
      .def_readonly("iterations", &StartResult::iterations)
      .def_readonly("evaluations", &StartResult::evaluations)
      .def_readonly("status", &StartResult::status);
  py::class_<OptimizeResult>(m, "OptimizeResult")
      .def_readonly("schedule", &OptimizeResult::schedule)
      .def_readonly("g", &OptimizeResult::g)
      .def_readonly("best", &OptimizeResult::best)
      .def_readonly("iterations", &OptimizeResult::iterations)
      .def_readonly("evaluations", &OptimizeResult::evaluations)
      .def_readonly("seconds", &OptimizeResult::seconds)
      .def_readonly("history", &OptimizeResult::history)
      .def_readonly("status", &OptimizeResult::status)
      .def_readonly("starts", &OptimizeResult::starts);
  m.def("optimize", [](int nc, double g, const Schedule& s, const std::string& name, double lam,
                       double eta, int starts, std::uint64_t seed, int max_iterations,
                       double epsilon, bool free_g, double g_min, double g_max) {
    auto merit = make_figure_of_merit(name, {lam, eta});
    OptimizeSettings st;
    st.starts = starts;
    st.seed = seed;
    st.max_iterations = max_iterations;
    st.epsilon = epsilon;
    st.free_g = free_g;
    st.g_min = g_min;
    st.g_max = g_max;
    st.validate();
    py::gil_scoped_release nogil;
    return optimize(micromaser_factory(nc), g, s, *merit, st);
  });

  m.def(
      "wigner",
      [](const Eigen::MatrixXcd& rho, const std::vector<double>& x, const std::vector<double>& p) {
        py::gil_scoped_release nogil;
        return wigner(rho, x, p);
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
  m.def("noise_ensemble", [](const Micromaser& model, const Schedule& s, double sigma,
                             int trajectories, std::uint64_t seed, int samples) {
    NoiseSettings ns{sigma, trajectories, seed, samples};
    ns.validate();
    py::gil_scoped_release nogil;
    return noise_ensemble(model, s, ns);
  });
}

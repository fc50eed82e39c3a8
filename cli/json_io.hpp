#pragma once
// JSON layouts shared by the CLI commands.
#include <Eigen/Dense>
#include <nlohmann/json.hpp>
#include <qbopt/gradient.hpp>
#include <qbopt/models.hpp>
#include <qbopt/optimize.hpp>
#include <qbopt/observables.hpp>
#include <qbopt/schedule.hpp>
#include <qbopt/simulate.hpp>
#include <qbopt/spectrum.hpp>
#include <qbopt/stability.hpp>
#include <cmath>
#include <cstdio>
#include <qbopt/version.hpp>
#include <string>
#include <vector>

namespace qbopt::cli {

// {"k": [...], "energy": [...], "ergotropy": [...], "purity": [...], "leakage": [...]}.
inline nlohmann::json samples_json(const std::vector<Sample>& samples) {
  nlohmann::json t = {{"k", nlohmann::json::array()},
                      {"energy", nlohmann::json::array()},
                      {"ergotropy", nlohmann::json::array()},
                      {"purity", nlohmann::json::array()},
                      {"leakage", nlohmann::json::array()}};
  for (const auto& x : samples) {
    t["k"].push_back(x.k);
    t["energy"].push_back(x.energy);
    t["ergotropy"].push_back(x.ergotropy);
    t["purity"].push_back(x.purity);
    t["leakage"].push_back(x.leakage);
  }
  return t;
}

// The complex density matrix as {"re": rows, "im": rows}, rho[m][n] = <m|rho|n> (the form
// --initial reads back).
inline nlohmann::json rho_json(const Eigen::MatrixXcd& rho) {
  nlohmann::json re = nlohmann::json::array(), im = nlohmann::json::array();
  for (int m = 0; m < rho.rows(); ++m) {
    std::vector<double> a(rho.cols()), b(rho.cols());
    for (int n = 0; n < rho.cols(); ++n) a[n] = rho(m, n).real(), b[n] = rho(m, n).imag();
    re.push_back(a), im.push_back(b);
  }
  return {{"re", re}, {"im", im}};
}

// One state of `qbopt state` after k collisions: {"k", "populations", "rho": {"re", "im"},
// "energy", "ergotropy", "purity", "leakage"} (the top level of its output, and each entry
// of its "states" with --states-at).
inline nlohmann::json state_json(const State& s, long k) {
  return {{"k", k},
          {"populations", populations(s)},
          {"rho", rho_json(s.density_matrix())},
          {"energy", energy(s)},
          {"ergotropy", ergotropy(s)},
          {"purity", purity(s)},
          {"leakage", leakage(s)}};
}

// `qbopt simulate`'s {"trajectory" (the samples), "final" {k, energy, ergotropy, purity,
// leakage, populations}[, "interrupted": true]} of a run of a schedule of n collisions.
inline nlohmann::json trajectory_json(const Trajectory& tr, long n) {
  const long done = static_cast<long>(tr.energy.size()) - 1;
  const State& s = tr.final_state;
  nlohmann::json out = {{"trajectory", samples_json(tr.samples)},
                        {"final",
                         {{"k", done},
                          {"energy", energy(s)},
                          {"ergotropy", ergotropy(s)},
                          {"purity", purity(s)},
                          {"leakage", leakage(s)},
                          {"populations", populations(s)}}}};
  if (done < n) out["interrupted"] = true;
  return out;
}

// {"name", then every global parameter (choices by their word)}.
inline nlohmann::json model_json(const ModelConfig& m) {
  nlohmann::json j = {{"name", m.name()}};
  for (std::size_t i = 0; i < m.values().size(); ++i) {
    const ParameterSpec& p = m.spec().parameters[i];
    if (p.is_choice())
      j[p.name] = p.format(m.values()[i]);
    else
      j[p.name] = m.values()[i];
  }
  return j;
}

// {"c", "q", "count", "fixed"} plus every further control the batch carries ("g").
inline nlohmann::json batch_json(const Batch& b, const ModelSpec& spec) {
  nlohmann::json j = {{"c", b.qubit.c}, {"q", b.qubit.q}, {"count", b.count}, {"fixed", b.fixed}};
  for (int i = 2; i < static_cast<int>(spec.controls.size()); ++i)
    if (b.qubit.carries(i)) j[spec.controls[i].name] = b.qubit.control(i);
  return j;
}

inline nlohmann::json schedule_json(const Schedule& s, const ModelSpec& spec) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& b : s.batches()) a.push_back(batch_json(b, spec));
  return a;
}

// The "config" block of every output: the command, qbopt's version, the model with all its
// parameters (and its g at the top level, as before models existed), N and the schedule.
inline nlohmann::json run_config(const std::string& command, const ModelConfig& m,
                                 const Schedule& s) {
  nlohmann::json j = {{"command", command},
                      {"qbopt_version", qbopt::version},
                      {"model", model_json(m)},
                      {"nc", m.nc()},
                      {"batches", schedule_json(s, m.spec())},
                      {"collisions", s.collisions()}};
  if (m.spec().parameter_index("g") >= 0) j["g"] = m.get("g");
  return j;
}

// A matrix as a list of rows: rows_json(w)[j][i] = w(j, i).
inline nlohmann::json rows_json(const Eigen::MatrixXd& w) {
  nlohmann::json rows = nlohmann::json::array();
  for (int j = 0; j < w.rows(); ++j) {
    std::vector<double> row(w.cols());
    for (int i = 0; i < w.cols(); ++i) row[i] = w(j, i);
    rows.push_back(row);
  }
  return rows;
}

// {"eigenvalues": [[re, im], ...] (decreasing modulus), "lifetime": collisions or null,
//  "steady_states": [{"eigenvalue", "populations", "energy", "ergotropy", "purity"}],
//  "matvecs", "converged"} of `qbopt spectrum` (and qbopt.spectrum); the caller adds "config".
inline nlohmann::json spectrum_json(const Spectrum& s) {
  using nlohmann::json;
  json eig = json::array();
  for (const auto& x : s.eigenvalues) eig.push_back({x.real(), x.imag()});
  json steady = json::array();
  for (const auto& ss : s.steady_states)
    steady.push_back({{"eigenvalue", {ss.eigenvalue.real(), ss.eigenvalue.imag()}},
                      {"populations", ss.populations},
                      {"energy", ss.energy},
                      {"ergotropy", ss.ergotropy},
                      {"purity", ss.purity}});
  // An infinite lifetime (|lambda_1| = 1, a persistent oscillation) is written as null too.
  const bool finite = s.lifetime && std::isfinite(*s.lifetime);
  return {{"eigenvalues", eig},
          {"lifetime", finite ? json(*s.lifetime) : json(nullptr)},
          {"steady_states", steady},
          {"matvecs", s.matvecs},
          {"converged", s.converged}};
}

// The "config" block of `qbopt spectrum`: the model, N, the qubit (its controls) and K.
inline nlohmann::json spectrum_config(const ModelConfig& m, const Qubit& qubit, int count) {
  nlohmann::json q = batch_json(Batch{qubit, 1, false}, m.spec());
  q.erase("count");
  q.erase("fixed");
  nlohmann::json j = {{"command", "spectrum"}, {"qbopt_version", qbopt::version},
                      {"model", model_json(m)}, {"nc", m.nc()},
                      {"qubit", q},          {"count", count}};
  if (m.spec().parameter_index("g") >= 0) j["g"] = m.get("g");
  return j;
}

// The optimizer's progress line (`qbopt optimize --progress`, Python's callback=True):
// "start S  iteration I  loss L" with S counted from 1.
inline std::string iteration_line(int start, int iteration, double loss) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "start %d  iteration %3d  loss %.10f", start + 1, iteration, loss);
  return buf;
}

// The figure of merit of an evaluation: {"loss", "ergotropy", "penalty", "energy", "leakage"}.
inline nlohmann::json result_numbers(const LossEvaluation& le) {
  return {{"loss", le.merit.value},
          {"ergotropy", le.merit.ergotropy},
          {"penalty", le.merit.penalty},
          {"energy", le.final_energy},
          {"leakage", le.final_leakage}};
}

// {"eigenvalue": [re, im], "decay_rate": -ln|lambda_1|, "lifetime": 1/decay_rate or null} of a
// spectral penalty.
inline nlohmann::json spectral_json(const SpectralPenaltyValue& p) {
  const double life = 1.0 / p.decay_rate;
  return {{"eigenvalue", {p.eigenvalue.real(), p.eigenvalue.imag()}},
          {"decay_rate", p.decay_rate},
          {"lifetime", std::isfinite(life) && life > 0 ? nlohmann::json(life) : nlohmann::json(nullptr)}};
}

// `qbopt loss`'s result without "config": the numbers, "spectral" (a NAME-spectral loss: `sp`),
// and with the gradient "gradient" (a row per batch: dL/d each control it carries) and
// "model_gradient" {global parameter: dL/d it}.
inline nlohmann::json loss_result_json(const LossEvaluation& le, const ModelSpec& spec,
                                       bool gradient, const SpectralPenaltyValue* sp) {
  nlohmann::json out = result_numbers(le);
  if (sp) out["spectral"] = spectral_json(*sp);
  if (gradient) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& row : le.batches) rows.push_back(row);
    out["gradient"] = rows;
    nlohmann::json mg = nlohmann::json::object();
    for (std::size_t j = 0; j < spec.parameters.size(); ++j)
      if (!spec.parameters[j].is_choice()) mg[spec.parameters[j].name] = le.parameters[j];
    out["model_gradient"] = mg;
  }
  return out;
}

// The model at an optimizer's best point: `config` with the optimized global parameters.
inline ModelConfig optimum(const OptimizeResult& r, const ModelConfig& config) {
  const ModelSpec& spec = config.spec();
  ModelConfig best = config;
  for (std::size_t j = 0; j < r.parameters.size(); ++j)
    if (!spec.parameters[j].is_choice()) best.set(spec.parameters[j].name, r.parameters[j]);
  return best;
}

// `qbopt optimize`'s result without "config" and "spectral": the best point ("params", "g",
// "model") and its numbers, the run ("slots", "iterations", "evaluations", "seconds",
// "history"[, "path"], "status", "message") and every start with its initial point.
inline nlohmann::json optimize_result_json(const OptimizeResult& r, const ModelConfig& config,
                                           bool path) {
  using nlohmann::json;
  const ModelSpec& spec = config.spec();
  const int gi = spec.parameter_index("g");
  json starts = json::array();
  for (const auto& s : r.starts) {
    json p = json::array();
    for (const auto& b : s.schedule.batches()) {
      json row = json::array();
      for (int i = 0; i < static_cast<int>(spec.controls.size()); ++i)
        if (b.qubit.carries(i)) row.push_back(b.qubit.control(i));
      p.push_back(row);
    }
    starts.push_back({{"loss", s.loss},
                      {"params", p},
                      {"initial", s.initial},
                      {"iterations", s.iterations},
                      {"evaluations", s.evaluations},
                      {"status", to_string(s.status)},
                      {"message", s.message}});
    if (gi >= 0) starts.back()["g"] = s.parameters[gi];
  }
  json out = result_numbers(r.best);
  out["params"] = schedule_json(r.schedule, spec);
  if (gi >= 0) out["g"] = r.parameters[gi];
  out["model"] = model_json(optimum(r, config));
  out["slots"] = r.slots;
  out["iterations"] = r.iterations;
  out["evaluations"] = r.evaluations;
  out["seconds"] = r.seconds;
  out["history"] = r.history;
  if (path) out["path"] = r.path;  // [[slot values in the order of "slots"], ...] per history entry
  out["status"] = to_string(r.status);
  out["message"] = r.message;
  out["starts"] = starts;
  return out;
}

}  // namespace qbopt::cli

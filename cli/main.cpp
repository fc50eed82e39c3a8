// qbopt command-line front end: parses flags, calls the library, writes outputs.
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <qbopt/gradient.hpp>
#include <qbopt/loss.hpp>
#include <qbopt/optimize.hpp>
#include <qbopt/qbopt.hpp>
#include <stdexcept>

#include "config.hpp"
#include "io.hpp"
#include "json_io.hpp"
#include "reproduce.hpp"
#include "spectrum.hpp"

using json = nlohmann::json;

namespace qbopt::cli {

// Exit codes: 0 success, 2 bad input, 3 --strict and the truncation leaked, 1 other failure.
constexpr int kBadInput = 2;
constexpr int kLeaky = 3;
constexpr int kInterrupted = 130;         // Ctrl-C: the finished part was written
constexpr double kLeakageWarning = 1e-6;  // above this the truncation N changes the physics

// The model flags every command shares: --model, --param, --g, --nc.
struct ModelFlags {
  std::string model = "micromaser";
  std::vector<std::string> params;  // --param NAME=VALUE
  double g = kPaperCoupling;
  int nc = 150;
  CLI::Option* g_option = nullptr;
  ModelConfig config;

  void add_model_flags(CLI::App& app) {
    app.add_option("--model", model, "battery model (qbopt models lists them)")
        ->capture_default_str();
    app.add_option("--param", params, "model parameter NAME=VALUE (repeatable), e.g. kappa_tau=0.01")
        ->take_all();
    g_option = app.add_option("--g", g, "coupling g tau (rad); same as --param g=VALUE")
                   ->default_str("pi/sqrt(15.6) = " + format_number(kPaperCoupling));
    app.add_option("--nc", nc, "Fock truncation N (levels 0..N-1)")->capture_default_str();
  }
  // Builds and validates the model; throws std::invalid_argument naming the offending value.
  void finish_model() {
    config = ModelConfig(model, 2);
    try {
      config.set_nc(nc);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(std::string("--") + e.what());
    }
    if (g_option && g_option->count() > 0) {
      if (!std::isfinite(g)) throw std::invalid_argument("--g must be finite, got " + format_number(g));
      config.set("g", g);
    }
    for (const auto& p : params) config.set_assignment(p);
  }
};

struct Common : ModelFlags {
  std::vector<std::string> batch_text;
  std::string out;
  bool strict = false;
  Schedule schedule;

  void add_to(CLI::App& app) {
    add_model_flags(app);
    app.add_option("--batch", batch_text,
                   "batch c,q,count[,fixed] or c=..,q=..,count=..[,g=..][,fixed] "
                   "(repeatable, in order)")
        ->take_all();
    app.add_option("--out", out, "output file");
    app.add_flag("--strict", strict, "exit 3 when the final truncation leakage exceeds 1e-6");
  }
  // Builds and validates the model and the schedule; throws std::invalid_argument naming the
  // offending value.
  void finish() {
    finish_model();
    if (batch_text.empty())
      throw std::invalid_argument("at least one --batch c,q,count is required");
    std::vector<Batch> b;
    for (const auto& t : batch_text) b.push_back(parse_batch(t, config.spec()));
    schedule = Schedule(std::move(b));
    schedule.validate(config.spec());
  }
  json config_json(const std::string& command) const {
    return run_config(command, config, schedule);
  }
};

std::string extension(const std::string& path) {
  auto dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(dot);
}

// Progress line on stderr when it is a terminal; stops the run on SIGINT/SIGTERM.
std::function<bool(long, long)> progress_reporter(const char* what) {
  const bool tty = stderr_is_terminal();
  return [tty, what](long k, long n) {
    if (tty) std::fprintf(stderr, "\r%s: %ld / %ld collisions (%.0f%%)", what, k, n, 100.0 * k / n);
    if (tty && k == n) std::fputc('\n', stderr);
    return !interrupted();
  };
}

// Warns (or fails with --strict) when the truncation lost more than kLeakageWarning.
int check_leakage(double leak, const Common& c) {
  if (leak > kLeakageWarning) {
      std::fprintf(stderr,
                 "qbopt: warning: final leakage %.3g exceeds 1e-6; increase --nc (now %d)\n", leak,
                 c.nc);
    if (c.strict) return kLeaky;
  }
  return 0;
}

int run_simulate(Common& c, int samples) {
  c.finish();
  if (samples < 2)
    throw std::invalid_argument("--samples must be >= 2, got " + std::to_string(samples));
  const std::string ext = extension(c.out);
  std::unique_ptr<AtomicFile> file;
  if (!c.out.empty()) {
    if (ext != ".json" && ext != ".csv")
      throw std::invalid_argument("--out '" + c.out + "' must end in .json or .csv");
    file = std::make_unique<AtomicFile>(c.out);  // fails now, before the run, if unwritable
  }
  const auto model = c.config.make();
  SimulateOptions opt;
  opt.samples = samples;
  opt.progress = progress_reporter("simulate");
  const auto t0 = std::chrono::steady_clock::now();
  Trajectory tr = simulate(*model, c.schedule, opt);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long done = static_cast<long>(tr.energy.size()) - 1;
  const State& s = tr.final_state;
  const double E = energy(s), W = ergotropy(s), P = purity(s), L = leakage(s);

  std::printf("%10s %12s %12s %12s %12s\n", "k", "energy", "ergotropy", "purity", "leakage");
  for (const auto& x : tr.samples)
    std::printf("%10ld %12.6f %12.6f %12.6f %12.3e\n", x.k, x.energy, x.ergotropy, x.purity,
                x.leakage);
  std::printf("%ld collisions at N = %d in %.3f s%s\n", done, c.nc, secs,
              done < c.schedule.collisions() ? " (interrupted: partial result)" : "");

  if (file) {
    auto& o = file->stream();
    if (ext == ".csv") {
      o << "k,energy,ergotropy,purity,leakage\n";
      for (const auto& x : tr.samples)
        o << x.k << ',' << x.energy << ',' << x.ergotropy << ',' << x.purity << ',' << x.leakage
          << '\n';
    } else {
      const json t = samples_json(tr.samples);
      json cfg = c.config_json("simulate");
      cfg["samples"] = samples;
      json out = {{"config", cfg},
                  {"trajectory", t},
                  {"final",
                   {{"k", done},
                    {"energy", E},
                    {"ergotropy", W},
                    {"purity", P},
                    {"leakage", L},
                    {"populations", populations(s)}}}};
      if (done < c.schedule.collisions()) out["interrupted"] = true;
      o << out.dump(1) << '\n';
    }
    file->commit();
  }
  if (done < c.schedule.collisions()) return kInterrupted;
  return check_leakage(L, c);
}

// Options of the loss and optimize commands.
struct LossOpts {
  double lambda = 1.0;
  double eta = 0.2;
  std::string loss = "eq11";
  void add_to(CLI::App& app) {
    app.add_option("--lambda", lambda, "weight of the stability penalty of Eq. (11)");
    app.add_option("--eta", eta, "fraction of the last collisions in the penalty window, (0, 1]");
    app.add_option("--loss", loss,
                   "figure of merit: eq11, ergotropy, energy, power, or NAME-spectral (e.g. "
                   "eq11-spectral: the figure without its window penalty, plus lambda * "
                   "(-ln|lambda_1|) of the last batch's one-step map)");
  }
  LossSettings settings() const { return {lambda, eta}; }
  void to(json& cfg) const {
    cfg["lambda"] = lambda;
    cfg["eta"] = eta;
    cfg["loss"] = loss;
  }
};

json result_numbers(const LossEvaluation& le) {
  return {{"loss", le.merit.value},
          {"ergotropy", le.merit.ergotropy},
          {"penalty", le.merit.penalty},
          {"energy", le.final_energy},
          {"leakage", le.final_leakage}};
}

// {"eigenvalue": [re, im], "decay_rate": -ln|lambda_1|, "lifetime": 1/decay_rate or null} of a
// spectral penalty, and its summary line.
json spectral_json(const SpectralPenaltyValue& p) {
  const double life = 1.0 / p.decay_rate;
  return {{"eigenvalue", {p.eigenvalue.real(), p.eigenvalue.imag()}},
          {"decay_rate", p.decay_rate},
          {"lifetime", std::isfinite(life) && life > 0 ? json(life) : json(nullptr)}};
}
void print_spectral(const SpectralPenaltyValue& p) {
  std::printf("spectral: |lambda_1| = %.15f  decay rate %.6g  lifetime %.6g collisions\n",
              std::abs(p.eigenvalue), p.decay_rate, 1.0 / p.decay_rate);
}

std::unique_ptr<AtomicFile> open_json_out(const std::string& out) {
  if (out.empty()) return nullptr;
  if (extension(out) != ".json")
    throw std::invalid_argument("--out '" + out + "' must end in .json");
  return std::make_unique<AtomicFile>(out);
}

int run_loss(Common& c, const LossOpts& lo, bool with_gradient) {
  c.finish();
  const Loss loss = make_loss(lo.loss, lo.settings());
  auto file = open_json_out(c.out);
  const auto model = c.config.make();
  GradientOptions opt;
  opt.gradient = with_gradient;
  opt.parameters = with_gradient;
  LossEvaluator ev(opt);
  SpectralPenaltyValue sp;
  const LossEvaluation le = evaluate(ev, *model, c.schedule, loss, &sp);
  json cfg = c.config_json("loss");
  lo.to(cfg);
  json out = result_numbers(le);
  out["config"] = cfg;
  std::printf("loss %.10f  ergotropy %.6f  penalty %.6g\n", le.merit.value, le.merit.ergotropy,
              le.merit.penalty);
  if (loss.spectral) {
    print_spectral(sp);
    out["spectral"] = spectral_json(sp);
  }
  if (with_gradient) {
    json gr = json::array();
    const ModelSpec& spec = c.config.spec();
    for (std::size_t b = 0; b < le.batches.size(); ++b) {
      gr.push_back(le.batches[b]);
      std::printf("batch %zu:", b + 1);
      int pos = 0;
      for (int i = 0; i < static_cast<int>(spec.controls.size()); ++i)
        if (c.schedule.batches()[b].qubit.carries(i))
          std::printf("  dL/d%s %.10g", spec.controls[i].name.c_str(), le.batches[b][pos++]);
      std::printf("\n");
    }
    out["gradient"] = gr;
    json mg = json::object();
    for (std::size_t j = 0; j < spec.parameters.size(); ++j) {
      if (spec.parameters[j].is_choice()) continue;
      mg[spec.parameters[j].name] = le.parameters[j];
      std::printf("dL/d%s %.10g\n", spec.parameters[j].name.c_str(), le.parameters[j]);
    }
    out["model_gradient"] = mg;
  }
  if (file) {
    file->stream() << out.dump(1) << '\n';
    file->commit();
  }
  return check_leakage(le.final_leakage, c);
}

struct OptOpts {
  int starts = 1;
  std::uint64_t seed = 1;
  int max_iterations = 200;
  double epsilon = 1e-5;
  std::string free_g;  // "", "global" or "batch"
  CLI::Option* free_g_option = nullptr;
  std::vector<double> g_range{0.1, 2.0};
  bool progress = false;
  void add_to(CLI::App& app) {
    app.add_option("--starts", starts, "number of starting points (the given one, then random)")
        ->capture_default_str();
    app.add_option("--seed", seed, "seed of the random starting points")
        ->check(CLI::NonNegativeNumber)
        ->capture_default_str();
    app.add_option("--max-iterations", max_iterations, "L-BFGS-B iterations per start")
        ->capture_default_str();
    app.add_option("--epsilon", epsilon, "projected-gradient norm at convergence")
        ->capture_default_str();
    free_g_option = app.add_option("--free-g", free_g,
                                   "optimize the coupling too: the model's g (no value, or "
                                   "'global'), or each free batch's own g ('batch')")
                        ->expected(0, 1);
    app.add_option("--g-range", g_range, "search range of a free g: min,max")
        ->delimiter(',')
        ->expected(2)
        ->capture_default_str();
    app.add_flag("--progress", progress,
                 "print a line per iteration even when stderr is not a terminal");
  }
  // "none", "global" or "batch"; throws on anything else.
  std::string free_g_mode() const {
    if (!free_g_option || free_g_option->count() == 0) return "none";
    if (free_g.empty() || free_g == "global" || free_g == "true") return "global";
    if (free_g == "batch") return "batch";
    if (free_g == "false" || free_g == "none") return "none";
    throw std::invalid_argument("--free-g '" + free_g + "' must be empty, 'global' or 'batch'");
  }
};

int run_optimize(Common& c, const LossOpts& lo, const OptOpts& oo) {
  c.finish();
  const Loss loss = make_loss(lo.loss, lo.settings());
  OptimizeSettings st;
  st.starts = oo.starts;
  st.seed = oo.seed;
  st.max_iterations = oo.max_iterations;
  st.epsilon = oo.epsilon;
  const std::string mode = oo.free_g_mode();
  if (mode == "global") st.free_parameters.push_back("g");
  if (mode == "batch") st.free_controls.push_back("g");
  st.ranges["g"] = {oo.g_range.at(0), oo.g_range.at(1)};
  st.validate();
  auto file = open_json_out(c.out);
  const bool show = oo.progress || stderr_is_terminal();
  IterationCallback cb = [show](int start, int it, double loss) {
    if (show) std::fprintf(stderr, "start %d  iteration %3d  loss %.10f\n", start + 1, it, loss);
    return !interrupted();
  };
  OptimizeResult r = optimize(c.config, c.schedule, loss, st, cb);
  const int leak_rc = check_leakage(r.best.final_leakage, c);
  const ModelSpec& spec = c.config.spec();
  const int gi = spec.parameter_index("g");

  json cfg = c.config_json("optimize");
  lo.to(cfg);
  cfg["starts"] = oo.starts;
  cfg["seed"] = oo.seed;
  cfg["max_iterations"] = oo.max_iterations;
  cfg["epsilon"] = oo.epsilon;
  cfg["free_g"] = mode;
  if (mode != "none") cfg["g_range"] = oo.g_range;
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
  ModelConfig best_model = c.config;
  for (std::size_t j = 0; j < r.parameters.size(); ++j)
    if (!spec.parameters[j].is_choice()) best_model.set(spec.parameters[j].name, r.parameters[j]);
  json out = result_numbers(r.best);
  out["config"] = cfg;
  out["params"] = schedule_json(r.schedule, spec);
  if (gi >= 0) out["g"] = r.parameters[gi];
  out["model"] = model_json(best_model);
  out["slots"] = r.slots;
  out["iterations"] = r.iterations;
  out["evaluations"] = r.evaluations;
  out["seconds"] = r.seconds;
  out["history"] = r.history;
  out["status"] = to_string(r.status);
  out["message"] = r.message;
  out["leakage"] = r.best.final_leakage;
  out["starts"] = starts;
  if (loss.spectral && !interrupted()) {
    // The optimum's slow mode (one more spectrum: the optimizer keeps only the loss).
    const SpectralPenaltyValue sp = (*loss.spectral)(*best_model.make(),
                                                     r.schedule.batches().back().qubit, false);
    print_spectral(sp);
    out["spectral"] = spectral_json(sp);
  }
  for (std::size_t b = 0; b < r.schedule.batches().size(); ++b) {
    const auto& x = r.schedule.batches()[b];
    std::printf("batch %zu: c = %.4f  q = %.4f", b + 1, x.qubit.c, x.qubit.q);
    for (int i = 2; i < static_cast<int>(spec.controls.size()); ++i)
      if (x.qubit.carries(i)) std::printf("  %s = %.4f", spec.controls[i].name.c_str(), x.qubit.control(i));
    std::printf("  count = %ld%s\n", x.count, x.fixed ? " (fixed)" : "");
  }
  if (mode == "global") std::printf("g = %.6f\n", r.parameters[gi]);
  std::printf(
      "loss %.10f  ergotropy %.6f  penalty %.6g  (%d iterations, %d evaluations, %.2f s, %s)\n",
      r.best.merit.value, r.best.merit.ergotropy, r.best.merit.penalty, r.iterations, r.evaluations,
      r.seconds, to_string(r.status));
  if (file) {
    file->stream() << out.dump(1) << '\n';
    file->commit();
  }
  if (r.status == OptimizeStatus::interrupted) return kInterrupted;
  return leak_rc;
}

int run_state(Common& c, const std::vector<double>& grid) {
  c.finish();
  auto file = open_json_out(c.out);
  std::vector<double> xs;
  if (!grid.empty()) {
    if (grid.size() != 3 || !std::isfinite(grid[0]) || !std::isfinite(grid[1]) ||
        grid[0] >= grid[1] || grid[2] < 2 || grid[2] != std::floor(grid[2]) || grid[2] > 4001)
      throw std::invalid_argument(
          "--wigner must be xmin,xmax,points with xmin < xmax and 2 <= points <= 4001");
    xs = linspace(grid[0], grid[1], static_cast<int>(grid[2]));
  }
  const auto model = c.config.make();
  SimulateOptions so;
  so.samples = 2;
  so.progress = progress_reporter("state");
  const Trajectory t = simulate(*model, c.schedule, so);
  const State& s = t.final_state;
  const Eigen::MatrixXcd rho = s.density_matrix();
  json re = json::array(), im = json::array();
  for (int m = 0; m < rho.rows(); ++m) {
    std::vector<double> a(rho.cols()), b(rho.cols());
    for (int n = 0; n < rho.cols(); ++n) a[n] = rho(m, n).real(), b[n] = rho(m, n).imag();
    re.push_back(a), im.push_back(b);
  }
  json out = {{"config", c.config_json("state")},     {"populations", populations(s)},
              {"rho", {{"re", re}, {"im", im}}}, {"energy", energy(s)},
              {"ergotropy", ergotropy(s)},       {"purity", purity(s)},
              {"leakage", leakage(s)},           {"k", t.energy.size() - 1}};
  const bool partial = static_cast<long>(t.energy.size()) - 1 < c.schedule.collisions();
  if (partial) out["interrupted"] = true;
  std::printf("state after %zu collisions: E %.6f  W %.6f  P %.6f  leakage %.3e%s\n",
              t.energy.size() - 1, energy(s), ergotropy(s), purity(s), leakage(s),
              partial ? " (interrupted: partial state)" : "");
  if (!xs.empty() && !interrupted()) {
    const Eigen::MatrixXd w = wigner(rho, xs, xs);
    out["config"]["wigner"] = grid;
    out["wigner"] = {{"x", xs}, {"p", xs}, {"w", rows_json(w)}};
  }
  if (file) {
    file->stream() << out.dump(1) << '\n';
    file->commit();
  }
  if (partial) return kInterrupted;
  return check_leakage(leakage(s), c);
}

// `qbopt models`: every registered model with its controls and parameters.
int run_models(bool as_json) {
  json all = json::array();
  for (const auto& e : model_registry()) {
    const ModelSpec& m = e.spec;
    auto specs = [](const std::vector<ParameterSpec>& v) {
      json a = json::array();
      for (const auto& p : v) {
        json j = {{"name", p.name}, {"doc", p.doc}};
        if (p.is_choice()) {
          j["default"] = p.format(p.default_value);
          j["choices"] = p.choices;
        } else {
          j["default"] = p.default_value;
          j["bounds"] = {p.lower, p.upper};
        }
        if (p.optional) j["optional"] = true;
        a.push_back(j);
      }
      return a;
    };
    all.push_back({{"name", m.name},
                   {"doc", m.doc},
                   {"controls", specs(m.controls)},
                   {"parameters", specs(m.parameters)}});
    if (as_json) continue;
    std::printf("%s: %s\n", m.name.c_str(), m.doc.c_str());
    auto print = [](const char* title, const std::vector<ParameterSpec>& v) {
      std::printf("  %s\n", title);
      for (const auto& p : v) {
        std::string range = p.is_choice() ? "" : "[" + format_number(p.lower) + ", " +
                                                     format_number(p.upper) + "]";
        if (p.is_choice())
          for (const auto& c : p.choices) range += (range.empty() ? "" : " | ") + c;
        std::printf("    %-10s default %-22s %-22s %s%s\n", p.name.c_str(),
                    p.format(p.default_value).c_str(), range.c_str(), p.doc.c_str(),
                    p.optional ? " (optional)" : "");
      }
    };
    print("per-qubit controls (--batch):", m.controls);
    print("global parameters (--param NAME=VALUE):", m.parameters);
  }
  if (as_json) std::printf("%s\n", all.dump(1).c_str());
  return 0;
}

int main(int argc, char** argv) {
  CLI::App app{"qbopt: simulate and optimize the charging of a micromaser quantum battery"};
  app.set_version_flag("--version", std::string("qbopt ") + qbopt::version);
  app.require_subcommand(1);

  Common sim_c;
  int samples = 50;
  auto* sim = app.add_subcommand("simulate", "run a charging schedule and record E, W, P, leakage");
  sim_c.add_to(*sim);
  sim->add_option("--samples", samples, "number of log-spaced sample points (>= 2)");

  Common loss_c;
  LossOpts loss_o;
  bool with_gradient = false;
  std::string loss_config;
  auto* loss = app.add_subcommand(
      "loss", "evaluate a figure of merit (Eq. (11) by default) and its gradient");
  loss_c.add_to(*loss);
  loss_o.add_to(*loss);
  loss->add_flag("--gradient", with_gradient, "also write dL/d(c, q) of every batch");
  loss->add_option("config", loss_config,
                   "TOML file with any of these options (flags override it)");

  Common opt_c;
  LossOpts opt_l;
  OptOpts opt_o;
  std::string opt_config;
  auto* opt = app.add_subcommand(
      "optimize", "minimize the loss over the free (c, q) of the batches with L-BFGS-B");
  opt_c.add_to(*opt);
  opt_l.add_to(*opt);
  opt_o.add_to(*opt);
  opt->add_option("config", opt_config, "TOML file with any of these options (flags override it)");

  Common st_c;
  std::vector<double> wigner_grid;
  auto* st =
      app.add_subcommand("state", "final state of a schedule: populations, rho, Wigner function");
  st_c.add_to(*st);
  st->add_option("--wigner", wigner_grid, "Wigner grid xmin,xmax,points (same for x and p)")
      ->delimiter(',');

  bool models_json = false;
  auto* models = app.add_subcommand("models", "list the battery models and their parameters");
  models->add_flag("--json", models_json, "as JSON");

  ReproduceOptions rep_o;
  auto* rep = app.add_subcommand("reproduce",
                                 "redo the seed paper: tables, long runs, states, noise, figures");
  rep->add_option("--out", rep_o.out_dir, "output directory (report.md, results.json, PNG figures)")
      ->required();
  rep->add_flag("--quick", rep_o.quick, "shortened run for CI (under a minute)");
  rep->add_option("--seed", rep_o.seed, "seed of the noise ensembles")
      ->check(CLI::NonNegativeNumber);
  rep->add_option("--sigma", rep_o.sigma, "noise on each qubit's c and q (0 = no ensembles)");
  rep->add_option("--trajectories", rep_o.noise_trajectories, "noise ensemble size");
  rep->add_option("--collisions", rep_o.collisions, "length of the long runs");
  rep->add_flag("!--no-figures", rep_o.figures, "skip the matplotlib figures");

  ModelFlags spec_m;
  SpectrumOptions spec_o;
  std::string spec_qubit;
  auto* spec = app.add_subcommand(
      "spectrum", "leading eigenvalues of the one-step map: lifetime and steady states");
  spec_m.add_model_flags(*spec);
  spec->add_option("--qubit", spec_qubit, "the charging qubit: c,q or c=..,q=..[,g=..]")
      ->required();
  spec->add_option("--count", spec_o.count, "number K of eigenvalues (largest modulus)")
      ->capture_default_str();
  spec->add_option("--out", spec_o.out, "output file (.json)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "qbopt: error: %s\n", e.what());
    return kBadInput;
  }
  install_interrupt_handler();
  try {
    if (*loss && !loss_config.empty()) apply_config(*loss, loss_config);
    if (*opt && !opt_config.empty()) apply_config(*opt, opt_config);
    if (*sim) return run_simulate(sim_c, samples);
    if (*loss) return run_loss(loss_c, loss_o, with_gradient);
    if (*opt) return run_optimize(opt_c, opt_l, opt_o);
    if (*st) return run_state(st_c, wigner_grid);
    if (*rep) return run_reproduce(rep_o);
    if (*models) return run_models(models_json);
    if (*spec) {
      spec_m.finish_model();
      spec_o.model = spec_m.config;
      // One qubit = a one-collision batch: the same parser and checks as --batch.
      const bool keyword = spec_qubit.find('=') != std::string::npos;
      spec_o.qubit =
          parse_batch(spec_qubit + (keyword ? ",count=1" : ",1"), spec_m.config.spec()).qubit;
      return run_spectrum(spec_o);
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "qbopt: error: %s\n", e.what());
    return kBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qbopt: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace qbopt::cli

int main(int argc, char** argv) { return qbopt::cli::main(argc, argv); }

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
#include "options.hpp"
#include "reproduce.hpp"

using json = nlohmann::json;

namespace qbopt::cli {

// Exit codes: 0 success, 2 bad input, 3 --strict and the truncation leaked, 1 other failure.
constexpr int kBadInput = 2;
constexpr int kLeaky = 3;
constexpr int kInterrupted = 130;         // Ctrl-C: the finished part was written
constexpr double kLeakageWarning = 1e-6;  // above this the truncation N changes the physics

struct Common {
  std::string model = "micromaser";
  std::vector<std::string> params;  // --param NAME=VALUE
  double g = kPaperCoupling;
  int nc = 150;
  std::vector<std::string> batch_text;
  std::string out;
  std::string config_file;  // TOML file, positional
  std::string max_memory_text;
  std::size_t max_memory = 0;  // bytes; 0 = unknown (no check)
  bool strict = false;
  CLI::Option* g_option = nullptr;
  ModelConfig config;
  Schedule schedule;

  // `out_rule`: the extensions --out takes for this command.
  void add_to(CLI::App& app, const std::string& out_rule) {
    app.add_option("--model", model, "battery model (qbopt models lists them)");
    app.add_option("--param", params, "model parameter NAME=VALUE (repeatable), e.g. kappa_tau=0.01")
        ->take_all();
    g_option = app.add_option("--g", g, "coupling g tau (rad, dimensionless); same as --param g=VALUE")
                   ->default_str("pi/sqrt(15.6) = " + format_number(kPaperCoupling));
    app.add_option("--nc", nc, "Fock truncation N (levels 0..N-1; a state takes 8 (N+2)^2 bytes)");
    app.add_option("--batch", batch_text,
                   "batch c,q,count[,fixed] or c=..,q=..,count=..[,g=..][,fixed] "
                   "(repeatable, in order)")
        ->take_all();
    app.add_option("--out", out,
                   "output file, " + out_rule +
                       "; written atomically when the run ends (nothing is left on failure)");
    app.add_flag("--strict", strict, "exit 3 when the final truncation leakage exceeds 1e-6");
    app.add_option("--max-memory", max_memory_text,
                   "refuse to start when the estimated memory exceeds this (bytes, or 512M, 8G)")
        ->default_str("available memory (MemAvailable)");
    app.add_option("config", config_file,
                   "TOML file with any of these options (flags override it)");
  }
  // Builds and validates the model and the schedule; throws std::invalid_argument naming the
  // offending value.
  void finish() {
    max_memory = max_memory_text.empty() ? available_memory()
                                         : parse_bytes(max_memory_text, "--max-memory");
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
    if (batch_text.empty())
      throw std::invalid_argument("at least one --batch c,q,count is required");
    std::vector<Batch> b;
    for (const auto& t : batch_text) b.push_back(parse_batch(t, config.spec()));
    schedule = Schedule(std::move(b));
    schedule.validate(config.spec());
  }
  // Refuses (std::invalid_argument, exit 2) a run whose estimate exceeds --max-memory.
  void check(const MemoryEstimate& need, const std::string& command) const {
    try {
      check_memory(need, max_memory, "--max-memory");
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(command + " " + e.what());
    }
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
  auto last = std::chrono::steady_clock::now();
  return [tty, what, last](long k, long n) mutable {
    // At most 10 lines a second: the library calls this every few milliseconds.
    const auto now = std::chrono::steady_clock::now();
    if (tty && (k == n || now - last > std::chrono::milliseconds(100))) {
      std::fprintf(stderr, "\r%s: %ld / %ld collisions (%.0f%%)", what, k, n, 100.0 * k / n);
      if (k == n) std::fputc('\n', stderr);
      last = now;
    }
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
  c.check(simulate_memory(c.nc, c.schedule.collisions()), "simulate");
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
    app.add_option("--lambda", lambda,
                   "weight of the stability penalty of Eq. (11) (dimensionless, >= 0)");
    app.add_option("--eta", eta,
                   "fraction of the last collisions in the penalty window, (0, 1]");
    app.add_option("--loss", loss, "figure of merit: eq11, ergotropy, energy, power");
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

std::unique_ptr<AtomicFile> open_json_out(const std::string& out) {
  if (out.empty()) return nullptr;
  if (extension(out) != ".json")
    throw std::invalid_argument("--out '" + out + "' must end in .json");
  return std::make_unique<AtomicFile>(out);
}

int run_loss(Common& c, const LossOpts& lo, bool with_gradient) {
  c.finish();
  auto merit = make_figure_of_merit(lo.loss, lo.settings());
  auto file = open_json_out(c.out);
  const auto model = c.config.make();
  GradientOptions opt;
  opt.gradient = with_gradient;
  opt.parameters = with_gradient;
  opt.should_stop = stop_hook();
  // The gradient checkpoints as sparsely as it must to fit --max-memory; if even the
  // sparsest plan does not fit, refuse with that plan.
  if (c.max_memory > 0) opt.memory_budget = c.max_memory;
  const GradientPlan plan = plan_gradient(c.nc, c.schedule.collisions(), opt);
  c.check({plan.bytes, plan.describe()}, "loss");
  const LossEvaluation le = evaluate_loss(*model, c.schedule, *merit, opt);
  json cfg = c.config_json("loss");
  lo.to(cfg);
  json out = result_numbers(le);
  out["config"] = cfg;
  std::printf("loss %.10f  ergotropy %.6f  penalty %.6g\n", le.merit.value, le.merit.ergotropy,
              le.merit.penalty);
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
    app.add_option("--starts", starts, "number of starting points (the given one, then random)");
    app.add_option("--seed", seed, "seed of the random starting points, 0 .. 2^64-1");
    app.add_option("--max-iterations", max_iterations, "L-BFGS-B iterations per start");
    app.add_option("--epsilon", epsilon, "projected-gradient norm at convergence (dimensionless)");
    free_g_option = app.add_option("--free-g", free_g,
                                   "optimize the coupling too: the model's g (no value, or "
                                   "'global'), or each free batch's own g ('batch')")
                        ->expected(0, 1);
    app.add_option("--g-range", g_range, "search range of a free g: min,max (rad)")
        ->delimiter(',')
        ->expected(2);
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
  auto merit = make_figure_of_merit(lo.loss, lo.settings());
  OptimizeSettings st;
  st.starts = oo.starts;
  st.seed = oo.seed;
  st.max_iterations = oo.max_iterations;
  st.epsilon = oo.epsilon;
  const std::string mode = oo.free_g_mode();
  if (mode == "global") st.free_parameters.push_back("g");
  if (mode == "batch") st.free_controls.push_back("g");
  st.ranges["g"] = {oo.g_range.at(0), oo.g_range.at(1)};
  st.should_stop = stop_hook();
  st.validate();
  {
    GradientOptions g;
    if (c.max_memory > 0) g.memory_budget = c.max_memory;
    const GradientPlan plan = plan_gradient(c.nc, c.schedule.collisions(), g);
    c.check({plan.bytes, plan.describe()}, "optimize");
    st.memory_budget = g.memory_budget;
  }
  auto file = open_json_out(c.out);
  const bool show = oo.progress || stderr_is_terminal();
  IterationCallback cb = [show](int start, int it, double loss) {
    if (show) std::fprintf(stderr, "start %d  iteration %3d  loss %.10f\n", start + 1, it, loss);
    return !interrupted();
  };
  OptimizeResult r = optimize(c.config, c.schedule, *merit, st, cb);
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
        grid[0] >= grid[1] || grid[2] < 2 || grid[2] != std::floor(grid[2]) || grid[2] > 4001) {
      std::string text;
      for (double v : grid) text += (text.empty() ? "" : ",") + format_number(v);
      // Appended piecewise: GCC 12 reports a false -Wrestrict on "literal" + std::string here.
      std::string msg = "--wigner '";
      msg += text;
      msg += "' must be xmin,xmax,points with xmin < xmax and 2 <= points <= 4001";
      throw std::invalid_argument(msg);
    }
    xs = linspace(grid[0], grid[1], static_cast<int>(grid[2]));
  }
  MemoryEstimate need = simulate_memory(c.nc, c.schedule.collisions());
  if (!xs.empty()) {
    const MemoryEstimate w = wigner_memory(static_cast<long>(xs.size()), static_cast<long>(xs.size()));
    need = {need.bytes + w.bytes, need.what + ", and a " + w.what};
  }
  c.check(need, "state");
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
  bool wigner_stopped = false;
  if (!xs.empty() && !partial) {
    try {
      const Eigen::MatrixXd w = wigner(rho, xs, xs, stop_hook());
      out["config"]["wigner"] = grid;
      out["wigner"] = {{"x", xs}, {"p", xs}, {"w", rows_json(w)}};
    } catch (const Interrupted&) {
      // The state is complete: write it, without the Wigner function, marked interrupted.
      wigner_stopped = true;
      out["interrupted"] = true;
    }
  }
  if (file) {
    file->stream() << out.dump(1) << '\n';
    file->commit();
  }
  if (partial || wigner_stopped) return kInterrupted;
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

// The one printer of error lines: the message sanitized (one line, values cut).
int report_error(const std::string& what, int code) {
  std::fprintf(stderr, "qbopt: error: %s\n", sanitize(what).c_str());
  return code;
}

int main(int argc, char** argv) {
  CLI::App app{"qbopt: simulate and optimize the charging of a micromaser quantum battery"};
  app.set_version_flag("--version", std::string("qbopt ") + qbopt::version);
  app.require_subcommand(1);
  // --help shows every default (inherited by the subcommands' options).
  app.option_defaults()->always_capture_default();

  Common sim_c;
  int samples = 50;
  auto* sim = app.add_subcommand("simulate", "run a charging schedule and record E, W, P, leakage");
  sim_c.add_to(*sim, "ending in .json (full result) or .csv (the samples)");
  sim->add_option("--samples", samples, "number of log-spaced sample points (>= 2)");

  Common loss_c;
  LossOpts loss_o;
  bool with_gradient = false;
  auto* loss = app.add_subcommand(
      "loss", "evaluate a figure of merit (Eq. (11) by default) and its gradient");
  loss_c.add_to(*loss, "ending in .json");
  loss_o.add_to(*loss);
  loss->add_flag("--gradient", with_gradient, "also write dL/d(c, q) of every batch");

  Common opt_c;
  LossOpts opt_l;
  OptOpts opt_o;
  auto* opt = app.add_subcommand(
      "optimize", "minimize the loss over the free (c, q) of the batches with L-BFGS-B");
  opt_c.add_to(*opt, "ending in .json");
  opt_l.add_to(*opt);
  opt_o.add_to(*opt);

  Common st_c;
  std::vector<double> wigner_grid;
  auto* st =
      app.add_subcommand("state", "final state of a schedule: populations, rho, Wigner function");
  st_c.add_to(*st, "ending in .json");
  st->add_option("--wigner", wigner_grid,
                 "Wigner grid xmin,xmax,points (x and p alike, dimensionless quadratures)")
      ->delimiter(',');

  bool models_json = false;
  auto* models = app.add_subcommand("models", "list the battery models and their parameters");
  models->add_flag("--json", models_json, "as JSON");

  ReproduceOptions rep_o;
  auto* rep = app.add_subcommand("reproduce",
                                 "redo the seed paper: tables, long runs, states, noise, figures");
  rep->add_option("--out", rep_o.out_dir,
                  "output directory (report.md, results.json, PNG figures)")
      ->required();
  rep->add_flag("--quick", rep_o.quick, "shortened run for CI (under a minute)");
  rep->add_option("--seed", rep_o.seed, "seed of the noise ensembles, 0 .. 2^64-1");
  rep->add_option("--sigma", rep_o.sigma,
                  "standard deviation of the noise on each qubit's c and q (0 = no ensembles)");
  rep->add_option("--trajectories", rep_o.noise_trajectories, "noise ensemble size");
  rep->add_option("--collisions", rep_o.collisions, "length of the long runs (collisions)");
  rep->add_flag("!--no-figures", rep_o.figures, "skip the matplotlib figures");

  check_numeric_options(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    if (dynamic_cast<const CLI::ExtrasError*>(&e) || what.find("not expected") != std::string::npos)
      what += did_you_mean(app, std::vector<std::string>(argv + 1, argv + argc));
    return report_error(what, kBadInput);
  }
  install_interrupt_handler();
  try {
    for (auto [sub, c] : {std::pair{sim, &sim_c}, {loss, &loss_c}, {opt, &opt_c}, {st, &st_c}})
      if (*sub && !c->config_file.empty()) apply_config(*sub, c->config_file);
    if (*sim) return run_simulate(sim_c, samples);
    if (*loss) return run_loss(loss_c, loss_o, with_gradient);
    if (*opt) return run_optimize(opt_c, opt_l, opt_o);
    if (*st) return run_state(st_c, wigner_grid);
    if (*rep) return run_reproduce(rep_o);
    if (*models) return run_models(models_json);
  } catch (const Interrupted&) {
    // Stopped by SIGINT/SIGTERM inside a computation that has no partial result to write.
    std::fprintf(stderr, "qbopt: interrupted (status: interrupted; no output written)\n");
    return kInterrupted;
  } catch (const std::invalid_argument& e) {
    return report_error(e.what(), kBadInput);
  } catch (const std::exception& e) {
    return report_error(e.what(), 1);
  }
  return 0;
}

}  // namespace qbopt::cli

int main(int argc, char** argv) { return qbopt::cli::main(argc, argv); }

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

struct Common {
  double g = std::numbers::pi / std::sqrt(15.6);
  int nc = 150;
  std::vector<std::string> batch_text;
  std::string out;
  bool strict = false;
  Schedule schedule;

  void add_to(CLI::App& app) {
    app.add_option("--g", g, "coupling g (default pi/sqrt(15.6))");
    app.add_option("--nc", nc, "Fock truncation N (levels 0..N-1)");
    app.add_option("--batch", batch_text, "batch c,q,count[,fixed] (repeatable, in order)")
        ->take_all();
    app.add_option("--out", out, "output file");
    app.add_flag("--strict", strict, "exit 3 when the final truncation leakage exceeds 1e-6");
  }
  // Validates and builds the schedule; throws std::invalid_argument naming the value.
  void finish() {
    if (!std::isfinite(g))
      throw std::invalid_argument("--g must be finite, got " + std::to_string(g));
    if (nc < 2 || nc > Micromaser::kMaxLevels)
      throw std::invalid_argument("--nc must be in [2, 5000], got " + std::to_string(nc));
    if (batch_text.empty())
      throw std::invalid_argument("at least one --batch c,q,count is required");
    std::vector<Batch> b;
    for (const auto& t : batch_text) b.push_back(parse_batch(t));
    schedule = Schedule(std::move(b));
    schedule.validate();
  }
  json config(const std::string& command) const {
    json batches = json::array();
    for (const auto& b : schedule.batches())
      batches.push_back(
          {{"c", b.qubit.c}, {"q", b.qubit.q}, {"count", b.count}, {"fixed", b.fixed}});
    return {{"command", command}, {"qbopt_version", qbopt::version},    {"g", g}, {"nc", nc},
            {"batches", batches}, {"collisions", schedule.collisions()}};
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
  Micromaser model(c.g, c.nc);
  SimulateOptions opt;
  opt.samples = samples;
  opt.progress = progress_reporter("simulate");
  const auto t0 = std::chrono::steady_clock::now();
  Trajectory tr = simulate(model, c.schedule, opt);
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
      json cfg = c.config("simulate");
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
          {"energy", le.final_energy}};
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
  Micromaser model(c.g, c.nc);
  GradientOptions opt;
  opt.gradient = with_gradient;
  const LossEvaluation le = evaluate_loss(model, c.schedule, *merit, opt);
  json cfg = c.config("loss");
  lo.to(cfg);
  json out = result_numbers(le);
  out["config"] = cfg;
  std::printf("loss %.10f  ergotropy %.6f  penalty %.6g\n", le.merit.value, le.merit.ergotropy,
              le.merit.penalty);
  if (with_gradient) {
    json gr = json::array();
    for (std::size_t b = 0; b < le.batches.size(); ++b) {
      gr.push_back({le.batches[b].c, le.batches[b].q});
      std::printf("batch %zu: dL/dc %.10g  dL/dq %.10g\n", b + 1, le.batches[b].c, le.batches[b].q);
    }
    out["gradient"] = gr;
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
  bool free_g = false;
  std::vector<double> g_range{0.1, 2.0};
  bool progress = false;
  void add_to(CLI::App& app) {
    app.add_option("--starts", starts, "number of starting points (the given one, then random)");
    app.add_option("--seed", seed, "seed of the random starting points")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--max-iterations", max_iterations, "L-BFGS-B iterations per start");
    app.add_option("--epsilon", epsilon, "projected-gradient norm at convergence");
    app.add_flag("--free-g", free_g, "optimize the coupling g too");
    app.add_option("--g-range", g_range, "bounds of g when free: min,max")
        ->delimiter(',')
        ->expected(2);
    app.add_flag("--progress", progress,
                 "print a line per iteration even when stderr is not a terminal");
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
  st.free_g = oo.free_g;
  st.g_min = oo.g_range.at(0);
  st.g_max = oo.g_range.at(1);
  st.validate();
  auto file = open_json_out(c.out);
  const bool show = oo.progress || stderr_is_terminal();
  IterationCallback cb = [show](int start, int it, double loss) {
    if (show) std::fprintf(stderr, "start %d  iteration %3d  loss %.10f\n", start + 1, it, loss);
    return !interrupted();
  };
  OptimizeResult r = optimize(micromaser_factory(c.nc), c.g, c.schedule, *merit, st, cb);
  const int leak_rc = check_leakage(r.best.final_leakage, c);

  json cfg = c.config("optimize");
  lo.to(cfg);
  cfg["starts"] = oo.starts;
  cfg["seed"] = oo.seed;
  cfg["max_iterations"] = oo.max_iterations;
  cfg["epsilon"] = oo.epsilon;
  cfg["free_g"] = oo.free_g;
  if (oo.free_g) cfg["g_range"] = oo.g_range;
  json params = json::array();
  for (const auto& b : r.schedule.batches())
    params.push_back({{"c", b.qubit.c}, {"q", b.qubit.q}, {"count", b.count}, {"fixed", b.fixed}});
  json starts = json::array();
  for (const auto& s : r.starts) {
    json p = json::array();
    for (const auto& b : s.schedule.batches()) p.push_back({b.qubit.c, b.qubit.q});
    starts.push_back({{"loss", s.loss},
                      {"params", p},
                      {"g", s.g},
                      {"iterations", s.iterations},
                      {"evaluations", s.evaluations},
                      {"status", s.status}});
  }
  json out = result_numbers(r.best);
  out["config"] = cfg;
  out["params"] = params;
  out["g"] = r.g;
  out["iterations"] = r.iterations;
  out["evaluations"] = r.evaluations;
  out["seconds"] = r.seconds;
  out["history"] = r.history;
  out["status"] = r.status;
  out["starts"] = starts;
  for (std::size_t b = 0; b < r.schedule.batches().size(); ++b) {
    const auto& x = r.schedule.batches()[b];
    std::printf("batch %zu: c = %.4f  q = %.4f  count = %ld%s\n", b + 1, x.qubit.c, x.qubit.q,
                x.count, x.fixed ? " (fixed)" : "");
  }
  if (oo.free_g) std::printf("g = %.6f\n", r.g);
  std::printf(
      "loss %.10f  ergotropy %.6f  penalty %.6g  (%d iterations, %d evaluations, %.2f s, %s)\n",
      r.best.merit.value, r.best.merit.ergotropy, r.best.merit.penalty, r.iterations, r.evaluations,
      r.seconds, r.status.c_str());
  if (file) {
    file->stream() << out.dump(1) << '\n';
    file->commit();
  }
  if (r.status == "interrupted") return kInterrupted;
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
  Micromaser model(c.g, c.nc);
  SimulateOptions so;
  so.samples = 2;
  so.progress = progress_reporter("state");
  const Trajectory t = simulate(model, c.schedule, so);
  const State& s = t.final_state;
  const Eigen::MatrixXcd rho = s.density_matrix();
  json re = json::array(), im = json::array();
  for (int m = 0; m < rho.rows(); ++m) {
    std::vector<double> a(rho.cols()), b(rho.cols());
    for (int n = 0; n < rho.cols(); ++n) a[n] = rho(m, n).real(), b[n] = rho(m, n).imag();
    re.push_back(a), im.push_back(b);
  }
  json out = {{"config", c.config("state")},     {"populations", populations(s)},
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

  // spectrum (issue 8): flags of the current CLI; re-wired to --model/--param on main.
  SpectrumOptions spec_o;
  spec_o.g = std::numbers::pi / std::sqrt(15.6);
  auto* spec = app.add_subcommand(
      "spectrum", "leading eigenvalues of the collision map: lifetime and steady states");
  spec->add_option("--g", spec_o.g, "coupling g (default pi/sqrt(15.6))");
  spec->add_option("--nc", spec_o.nc, "Fock truncation N (levels 0..N-1)");
  spec->add_option("--qubit", spec_o.qubit, "the charging qubit c,q")->delimiter(',')->required();
  spec->add_option("--count", spec_o.count, "number K of eigenvalues (largest modulus)");
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
    if (*spec) return run_spectrum(spec_o);
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

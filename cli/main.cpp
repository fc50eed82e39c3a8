// qbopt command-line front end: parses flags, calls the library, writes outputs (main() is in
// entry.cpp; the commands here are also what sweep tasks and the Python sweep run).
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
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
#include "spectrum.hpp"
#include "sweep.hpp"
#include "task.hpp"

using json = nlohmann::json;

namespace qbopt::cli {

// Exit codes: 0 success, 2 bad input, 3 --strict and the truncation leaked, 1 other failure.
constexpr int kBadInput = 2;
constexpr int kLeaky = 3;
constexpr int kInterrupted = 130;         // Ctrl-C: the finished part was written

// The state of a `qbopt state --out` file, as a run's start (--initial).
std::shared_ptr<const State> read_initial_state(const std::string& path, int nc);

// The model flags every command shares: --model, --param, --g, --nc. Every default of the
// commands' flags is the library's (ModelConfig, LossSettings, OptimizeSettings, ...), which
// Python's qbopt reads too (_core.defaults()).
struct ModelFlags {
  std::string model = ModelConfig{}.name();
  std::vector<std::string> params;  // --param NAME=VALUE
  double g = kPaperCoupling;
  int nc = ModelConfig{}.nc();
  CLI::Option* g_option = nullptr;
  ModelConfig config;

  void add_model_flags(CLI::App& app) {
    app.add_option("--model", model, "battery model (qbopt models lists them)");
    app.add_option("--param", params, "model parameter NAME=VALUE (repeatable), e.g. kappa_tau=0.01")
        ->take_all();
    g_option = app.add_option("--g", g, "coupling g tau (rad, dimensionless); same as --param g=VALUE")
                   ->default_str("pi/sqrt(15.6) = " + format_number(kPaperCoupling));
    app.add_option("--nc", nc, "Fock truncation N (levels 0..N-1; a state takes about 8 (N+2)^2 bytes)");
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
  std::string max_memory_text;
  std::size_t max_memory = 0;  // bytes; 0 = unknown (no check)
  bool strict = false;
  std::string initial_file;               // --initial: the JSON written by `qbopt state`
  std::shared_ptr<const State> initial;  // null: |0><0|
  Schedule schedule;

  // `out_rule`: the extensions --out takes for this command.
  void add_to(CLI::App& app, const std::string& out_rule) {
    add_model_flags(app);
    app.add_option("--batch", batch_text,
                   "batch c,q,count[,fixed] or c=..,q=..,count=..[,g=..][,fixed] "
                   "(repeatable, in order)")
        ->take_all();
    app.add_option("--out", out,
                   "output file, " + out_rule +
                       "; written atomically when the run ends (nothing is left on failure)");
    app.add_flag("--strict", strict, "exit 3 when the final truncation leakage exceeds 1e-6");
    app.add_option("--initial", initial_file,
                   "continue from the state in this JSON file (written by qbopt state --out); "
                   "default |0><0|");
    app.add_option("--max-memory", max_memory_text,
                   "refuse to start when the estimated memory exceeds this (bytes, or 512M, 8G)")
        ->default_str("available memory (MemAvailable)");
  }
  // Builds and validates the model and the schedule; throws std::invalid_argument naming the
  // offending value.
  void finish() {
    max_memory = max_memory_text.empty() ? available_memory()
                                         : parse_bytes(max_memory_text, "--max-memory");
    finish_model();
    if (batch_text.empty())
      throw std::invalid_argument("at least one --batch c,q,count is required");
    std::vector<Batch> b;
    for (const auto& t : batch_text) b.push_back(parse_batch(t, config.spec()));
    schedule = Schedule(std::move(b));
    schedule.validate(config.spec());
    initial = initial_file.empty() ? nullptr : read_initial_state(initial_file, config.nc());
  }
  // The gradient's checkpoint budget: --max-memory when given, else GradientOptions' default
  // (not the available memory: the gradient checkpoints more sparsely instead of filling it).
  std::size_t gradient_budget() const {
    return max_memory_text.empty() ? GradientOptions{}.memory_budget : max_memory;
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
    json j = run_config(command, config, schedule);
    if (!initial_file.empty()) j["initial"] = initial_file;
    return j;
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

// The state of a `qbopt state --out` file ({"rho": {"re", "im"}}), as the run's start.
std::shared_ptr<const State> read_initial_state(const std::string& path, int nc) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("--initial '" + path + "' cannot be read");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw std::invalid_argument("--initial '" + path + "' is not valid JSON");
  }
  if (!j.is_object() || !j.contains("rho") || !j["rho"].contains("re") || !j["rho"].contains("im"))
    throw std::invalid_argument("--initial '" + path +
                                "' has no \"rho\": {\"re\", \"im\"} (write it with qbopt state --out)");
  try {
    const auto re = j["rho"]["re"].get<std::vector<std::vector<double>>>();
    const auto im = j["rho"]["im"].get<std::vector<std::vector<double>>>();
    const int M = static_cast<int>(re.size());
    if (M < 1 || static_cast<int>(im.size()) != M)
      throw std::invalid_argument("rho.re and rho.im differ in size");
    Eigen::MatrixXcd rho(M, M);
    for (int m = 0; m < M; ++m) {
      if (static_cast<int>(re[m].size()) != M || static_cast<int>(im[m].size()) != M)
        throw std::invalid_argument("rho is not square");
      for (int n = 0; n < M; ++n) rho(m, n) = {re[m][n], im[m][n]};
    }
    return std::make_shared<const State>(State::from_density_matrix(rho, nc));
  } catch (const json::exception&) {
    throw std::invalid_argument("--initial '" + path + "': rho must hold arrays of numbers");
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("--initial '" + path + "': " + e.what());
  }
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

void check_samples(int samples) {
  if (samples < 2)
    throw std::invalid_argument("--samples must be >= 2, got " + std::to_string(samples));
}

// The collision counts of a list flag (--at, --states-at), sorted, without repeats, each
// checked against the schedule's n collisions; throws naming the flag and the value.
std::vector<long> collision_list(const std::string& text, const std::string& flag, long n) {
  return collision_indices(integer_list(text, flag), n, flag);
}

// simulate's sample points: --samples points spread by --sampling, or exactly --at.
struct SamplingFlags {
  int samples = SimulateOptions{}.samples;
  std::string sampling = to_string(SimulateOptions{}.spacing);
  std::string at_text;
  CLI::Option *samples_option = nullptr, *sampling_option = nullptr, *at_option = nullptr;
  std::vector<long> at;  // after finish(): sorted, unique, in [0, n]

  void add_to(CLI::App& app) {
    samples_option =
        app.add_option("--samples", samples, "number of sample points (>= 2), spread by --sampling");
    sampling_option = app.add_option(
        "--sampling", sampling,
        "spacing of the --samples points: log (k from 1 to n, log-spaced) or linear (k from 0, "
        "the initial state, to n, evenly spaced); k = collisions done");
    at_option = app.add_option("--at", at_text,
                               "sample exactly at these collision counts k (collisions, 0 = the "
                               "initial state .. n; sorted, repeats dropped) instead of "
                               "--samples/--sampling; default: none")
                    ->type_name("K1,K2,...");
  }
  // Checks the flags against the schedule's n collisions; throws std::invalid_argument naming
  // the flag and its value.
  void finish(long n) {
    at.clear();
    if (at_option->count() > 0) {
      if (samples_option->count() > 0 || sampling_option->count() > 0)
        throw std::invalid_argument("--at '" + at_text +
                                    "' gives the sample points: drop --samples and --sampling");
      at = collision_list(at_text, "--at", n);
      return;
    }
    check_samples(samples);
    spacing_from_name(sampling, "--sampling");
  }
  // Upper bound on the number of samples of a run of n collisions.
  long count(long n) const {
    return at_option->count() > 0 ? static_cast<long>(at.size()) : std::min<long>(samples, n + 1);
  }
  void to(SimulateOptions& o) const {
    o.samples = samples;
    o.spacing = spacing_from_name(sampling, "--sampling");
    o.at = at;
  }
  // The config records what reproduces the sample points: "at", or "samples" and "sampling".
  void to(json& cfg) const {
    if (!at.empty()) {
      cfg["at"] = at;
    } else {
      cfg["samples"] = samples;
      cfg["sampling"] = sampling;
    }
  }
};

// The simulate command's result (its --out JSON document), after c.finish() and sf.finish().
json simulate_json(const Common& c, const SamplingFlags& sf, const RunContext& ctx) {
  const long n = c.schedule.collisions();
  c.check(simulate_memory(c.nc, n, sf.count(n), c.config.spec().scratch_states), "simulate");
  const auto model = c.config.make();
  SimulateOptions opt;
  sf.to(opt);
  opt.progress = ctx.quiet ? [](long, long) { return !interrupted(); } : progress_reporter("simulate");
  const auto t0 = std::chrono::steady_clock::now();
  Trajectory tr = c.initial ? simulate(*model, c.schedule, *c.initial, opt)
                           : simulate(*model, c.schedule, opt);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  json cfg = c.config_json("simulate");
  sf.to(cfg);
  json out = trajectory_json(tr, c.schedule.collisions());
  out["config"] = cfg;
  out["seconds"] = secs;
  return out;
}

int run_simulate(Common& c, SamplingFlags& sf) {
  c.finish();
  sf.finish(c.schedule.collisions());
  const std::string ext = extension(c.out);
  std::unique_ptr<AtomicFile> file;
  if (!c.out.empty()) {
    if (ext != ".json" && ext != ".csv")
      throw std::invalid_argument("--out '" + c.out + "' must end in .json or .csv");
    file = std::make_unique<AtomicFile>(c.out);  // fails now, before the run, if unwritable
  }
  json out = simulate_json(c, sf, {});
  const json& t = out["trajectory"];
  const std::size_t rows = t["k"].size();
  const bool partial = out.contains("interrupted");

  std::printf("%10s %12s %12s %12s %12s\n", "k", "energy", "ergotropy", "purity", "leakage");
  for (std::size_t i = 0; i < rows; ++i)
    std::printf("%10ld %12.6f %12.6f %12.6f %12.3e\n", t["k"][i].get<long>(),
                t["energy"][i].get<double>(), t["ergotropy"][i].get<double>(),
                t["purity"][i].get<double>(), t["leakage"][i].get<double>());
  std::printf("%ld collisions at N = %d in %.3f s%s\n", out["final"]["k"].get<long>(), c.nc,
              out["seconds"].get<double>(), partial ? " (interrupted: partial result)" : "");

  if (file) {
    auto& o = file->stream();
    if (ext == ".csv") {
      o << "k,energy,ergotropy,purity,leakage\n";
      for (std::size_t i = 0; i < rows; ++i)
        o << t["k"][i].get<long>() << ',' << t["energy"][i].get<double>() << ','
          << t["ergotropy"][i].get<double>() << ',' << t["purity"][i].get<double>() << ','
          << t["leakage"][i].get<double>() << '\n';
    } else {
      o << out.dump(1) << '\n';
    }
    file->commit();
  }
  if (partial) return kInterrupted;
  return check_leakage(out["final"]["leakage"].get<double>(), c);
}

// Options of the loss and optimize commands.
struct LossOpts {
  double lambda = LossSettings{}.lambda;
  double eta = LossSettings{}.eta;
  std::string loss = kDefaultLoss;
  void add_to(CLI::App& app) {
    app.add_option("--lambda", lambda,
                   "weight of the stability penalty of Eq. (11) (dimensionless, >= 0)");
    app.add_option("--eta", eta,
                   "fraction of the last collisions in the penalty window, (0, 1]");
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

void print_spectral(const json& p) {
  const double re = p["eigenvalue"][0], im = p["eigenvalue"][1];
  std::printf("spectral: |lambda_1| = %.15f  decay rate %.6g  lifetime %s collisions\n",
              std::hypot(re, im), p["decay_rate"].get<double>(), p["lifetime"].dump().c_str());
}

std::unique_ptr<AtomicFile> open_json_out(const std::string& out) {
  if (out.empty()) return nullptr;
  if (extension(out) != ".json")
    throw std::invalid_argument("--out '" + out + "' must end in .json");
  return std::make_unique<AtomicFile>(out);
}

// The loss command's result (its --out JSON document), after c.finish().
json loss_json(const Common& c, const LossOpts& lo, bool with_gradient, const RunContext& ctx) {
  const Loss loss = make_loss(lo.loss, lo.settings());
  const auto model = c.config.make();
  GradientOptions opt;
  opt.gradient = with_gradient;
  opt.parameters = with_gradient;
  if (ctx.threads == 1) opt.pipeline = false;
  opt.should_stop = stop_hook();
  // The gradient checkpoints as sparsely as it must to fit its budget; if even the
  // sparsest plan does not fit --max-memory, refuse with that plan.
  opt.memory_budget = c.gradient_budget();
  opt.initial = c.initial;
  const GradientPlan plan =
      plan_gradient(c.nc, c.schedule.collisions(), opt, c.config.spec().scratch_states);
  c.check({plan.bytes, plan.describe()}, "loss");
  LossEvaluator ev(opt);
  SpectralPenaltyValue sp;
  const LossEvaluation le = evaluate(ev, *model, c.schedule, loss, &sp);
  json cfg = c.config_json("loss");
  lo.to(cfg);
  json out = loss_result_json(le, c.config.spec(), with_gradient,
                              loss.spectral ? &sp : nullptr);
  out["config"] = cfg;
  return out;
}

int run_loss(Common& c, const LossOpts& lo, bool with_gradient) {
  c.finish();
  make_loss(lo.loss, lo.settings());  // bad settings fail before the file is made
  auto file = open_json_out(c.out);
  const json out = loss_json(c, lo, with_gradient, {});
  std::printf("loss %.10f  ergotropy %.6f  penalty %.6g\n", out["loss"].get<double>(),
              out["ergotropy"].get<double>(), out["penalty"].get<double>());
  if (out.contains("spectral")) print_spectral(out["spectral"]);
  if (with_gradient) {
    const ModelSpec& spec = c.config.spec();
    const json& gr = out["gradient"];
    for (std::size_t b = 0; b < gr.size(); ++b) {
      std::printf("batch %zu:", b + 1);
      int pos = 0;
      for (int i = 0; i < static_cast<int>(spec.controls.size()); ++i)
        if (c.schedule.batches()[b].qubit.carries(i))
          std::printf("  dL/d%s %.10g", spec.controls[i].name.c_str(), gr[b][pos++].get<double>());
      std::printf("\n");
    }
    for (const auto& p : spec.parameters)  // in the model's order
      if (!p.is_choice())
        std::printf("dL/d%s %.10g\n", p.name.c_str(), out["model_gradient"][p.name].get<double>());
  }
  if (file) {
    file->stream() << out.dump(1) << '\n';
    file->commit();
  }
  return check_leakage(out["leakage"].get<double>(), c);
}

struct OptOpts {
  int starts = OptimizeSettings{}.starts;
  std::uint64_t seed = OptimizeSettings{}.seed;
  int max_iterations = OptimizeSettings{}.max_iterations;
  double epsilon = OptimizeSettings{}.epsilon;
  std::string free_g;  // "", "global" or "batch"
  CLI::Option* free_g_option = nullptr;
  // --g-range as typed (parsed by g_range()); its default is OptimizeSettings' range of g.
  std::string g_range_text = [] {
    const auto [lo, hi] = OptimizeSettings{}.ranges.at("g");
    std::ostringstream s;
    s << lo << ',' << hi;
    return s.str();
  }();
  bool progress = false;
  bool path = false;  // write the best start's iterates ("path")
  int threads = OptimizeSettings{}.threads;  // cores for the starts: 0 = all
  void add_to(CLI::App& app) {
    app.add_option("--starts", starts, "number of starting points (the given one, then random)");
    app.add_option("--seed", seed, "seed of the random starting points, 0 .. 2^64-1");
    app.add_option("--max-iterations", max_iterations, "L-BFGS-B iterations per start");
    app.add_option("--epsilon", epsilon, "projected-gradient norm at convergence (dimensionless)");
    free_g_option = app.add_option("--free-g", free_g,
                                   "optimize the coupling too: the model's g (no value, or "
                                   "'global'), or each free batch's own g ('batch')")
                        ->expected(0, 1);
    app.add_option("--g-range", g_range_text, "search range of a free g: min,max (rad)")
        ->type_name("MIN,MAX");
    app.add_option("--threads", threads,
                   "cores on which the starts run in parallel (0 = all; 1 = one core, no "
                   "pipelined gradient)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--progress", progress,
                 "print a line per iteration even when stderr is not a terminal");
    app.add_flag("--path", path,
                 "also write \"path\": the free slots' values at each iteration of the best "
                 "start (the optimizer's path over a loss landscape)");
  }
  // The two numbers of --g-range; throws naming the flag and its value.
  std::vector<double> g_range() const {
    std::vector<double> r = number_list(g_range_text, "--g-range");
    if (r.size() != 2)
      throw std::invalid_argument("--g-range '" + g_range_text + "' must be two numbers min,max");
    OptimizeSettings check;  // the library's check of a range, naming the flag
    check.ranges["g"] = {r[0], r[1]};
    try {
      check.validate();
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("--g-range '" + g_range_text + "': " + e.what());
    }
    return r;
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

OptimizeSettings optimize_settings(const OptOpts& oo) {
  OptimizeSettings st;
  st.starts = oo.starts;
  st.seed = oo.seed;
  st.max_iterations = oo.max_iterations;
  st.epsilon = oo.epsilon;
  st.threads = oo.threads;
  const std::string mode = oo.free_g_mode();
  if (mode == "global") st.free_parameters.push_back("g");
  if (mode == "batch") st.free_controls.push_back("g");
  const std::vector<double> range = oo.g_range();
  st.ranges["g"] = {range[0], range[1]};
  st.should_stop = stop_hook();
  st.record_path = oo.path;
  st.validate();
  return st;
}

// The optimize command's result (its --out JSON document), after c.finish().
json optimize_json(const Common& c, const LossOpts& lo, const OptOpts& oo, const RunContext& ctx) {
  const Loss loss = make_loss(lo.loss, lo.settings());
  OptimizeSettings st = optimize_settings(oo);
  if (ctx.threads > 0) st.threads = ctx.threads;
  st.memory_budget = c.gradient_budget();
  c.check(optimize_memory(c.nc, c.schedule.collisions(), st, c.config.spec().scratch_states),
          "optimize");
  st.initial = c.initial;
  const std::string mode = oo.free_g_mode();
  const bool show = !ctx.quiet && (oo.progress || stderr_is_terminal());
  IterationCallback cb = [show](int start, int it, double loss) {
    if (show) std::fprintf(stderr, "%s\n", iteration_line(start, it, loss).c_str());
    return !interrupted();
  };
  OptimizeResult r = optimize(c.config, c.schedule, loss, st, cb);

  json cfg = c.config_json("optimize");
  lo.to(cfg);
  cfg["starts"] = oo.starts;
  cfg["seed"] = oo.seed;
  cfg["max_iterations"] = oo.max_iterations;
  cfg["epsilon"] = oo.epsilon;
  cfg["free_g"] = mode;
  if (mode != "none") cfg["g_range"] = oo.g_range();
  if (oo.path) cfg["path"] = true;
  const ModelConfig best_model = optimum(r, c.config);
  json out = optimize_result_json(r, c.config, oo.path);
  out["config"] = cfg;
  if (loss.spectral && r.status != OptimizeStatus::interrupted && !interrupted()) {
    // The optimum's slow mode (one more spectrum: the optimizer keeps only the loss).
    const SpectralPenaltyValue sp =
        (*loss.spectral)(*best_model.make(), r.schedule.batches().back().qubit, false);
    out["spectral"] = spectral_json(sp);
  }
  return out;
}

int run_optimize(Common& c, const LossOpts& lo, const OptOpts& oo) {
  c.finish();
  make_loss(lo.loss, lo.settings());  // bad settings fail before the file is made
  optimize_settings(oo);
  auto file = open_json_out(c.out);
  const json out = optimize_json(c, lo, oo, {});
  const int leak_rc = check_leakage(out["leakage"].get<double>(), c);
  const ModelSpec& spec = c.config.spec();
  const json& params = out["params"];
  for (std::size_t b = 0; b < params.size(); ++b) {
    const json& x = params[b];
    std::printf("batch %zu: c = %.4f  q = %.4f", b + 1, x["c"].get<double>(), x["q"].get<double>());
    for (std::size_t i = 2; i < spec.controls.size(); ++i)
      if (x.contains(spec.controls[i].name))
        std::printf("  %s = %.4f", spec.controls[i].name.c_str(),
                    x[spec.controls[i].name].get<double>());
    std::printf("  count = %ld%s\n", x["count"].get<long>(), x["fixed"].get<bool>() ? " (fixed)" : "");
  }
  if (oo.free_g_mode() == "global") std::printf("g = %.6f\n", out["g"].get<double>());
  if (out.contains("spectral")) print_spectral(out["spectral"]);
  std::printf(
      "loss %.10f  ergotropy %.6f  penalty %.6g  (%d iterations, %d evaluations, %.2f s, %s)\n",
      out["loss"].get<double>(), out["ergotropy"].get<double>(), out["penalty"].get<double>(),
      out["iterations"].get<int>(), out["evaluations"].get<int>(), out["seconds"].get<double>(),
      out["status"].get<std::string>().c_str());
  if (file) {
    file->stream() << out.dump(1) << '\n';
    file->commit();
  }
  if (out["status"] == "interrupted") return kInterrupted;
  return leak_rc;
}

// state's options besides the common ones.
struct StateFlags {
  std::string wigner_text;     // --wigner xmin,xmax,points
  std::string states_at_text;  // --states-at k1,k2,...
  CLI::Option *wigner_option = nullptr, *states_at_option = nullptr;

  void add_to(CLI::App& app) {
    wigner_option = app.add_option("--wigner", wigner_text,
                   "Wigner grid xmin,xmax,points (x and p alike, dimensionless quadratures; "
                   "2 <= points <= 4001), of the final state and of each --states-at state")
        ->type_name("XMIN,XMAX,POINTS");
    states_at_option =
        app.add_option("--states-at", states_at_text,
                       "also write the state after each of these collision counts k (collisions, "
                       "0 = the initial state .. n; with --initial, new collisions), all from one "
                       "run; each costs about 90 N^2 bytes (see --max-memory); default: none")
            ->type_name("K1,K2,...");
  }
  // The Wigner grid's points (empty without --wigner); throws naming --wigner and its value.
  std::vector<double> wigner_xs() const {
    if (wigner_option->count() == 0) return {};
    const std::vector<double> grid = number_list(wigner_text, "--wigner");
    if (grid.size() != 3 || !std::isfinite(grid[0]) || !std::isfinite(grid[1]) ||
        grid[0] >= grid[1] || grid[2] < 2 ||
        grid[2] != std::floor(grid[2]) || grid[2] > 4001)
      throw std::invalid_argument("--wigner '" + wigner_text +
                                  "' must be xmin,xmax,points with xmin < xmax and 2 <= points "
                                  "<= 4001");
    return linspace(grid[0], grid[1], static_cast<int>(grid[2]));
  }
  std::vector<long> states_at(long n) const {
    if (states_at_option->count() == 0) return {};
    return collision_list(states_at_text, "--states-at", n);
  }
};

int run_state(Common& c, const StateFlags& sf) {
  c.finish();
  const long n = c.schedule.collisions();
  const std::vector<double> xs = sf.wigner_xs();
  const std::vector<long> keep = sf.states_at(n);
  auto file = open_json_out(c.out);
  // The run, the final state and the kept ones as JSON, and a Wigner grid for each.
  const long written = static_cast<long>(keep.size()) + 1;
  MemoryEstimate need = simulate_memory(c.nc, n, 0, c.config.spec().scratch_states);
  const MemoryEstimate st = states_memory(c.nc, written);
  need = {need.bytes + st.bytes, need.what + ", " + st.what};
  if (!xs.empty()) {
    const MemoryEstimate w = wigner_memory(static_cast<long>(xs.size()), static_cast<long>(xs.size()));
    need = {need.bytes + w.bytes * static_cast<std::size_t>(written),
            need.what + ", and " + std::to_string(written) + " x a " + w.what};
  }
  c.check(need, "state");
  const auto model = c.config.make();
  SimulateOptions so;
  so.samples = 2;
  so.states_at = keep;
  so.progress = progress_reporter("state");
  const Trajectory t =
      c.initial ? simulate(*model, c.schedule, *c.initial, so) : simulate(*model, c.schedule, so);
  const State& s = t.final_state;
  const long done = static_cast<long>(t.energy.size()) - 1;
  json out = state_json(s, done);
  out["config"] = c.config_json("state");
  const bool partial = done < n;
  if (partial) out["interrupted"] = true;
  auto print = [](const State& x, long k, const char* note) {
    std::printf("state after %ld collisions: E %.6f  W %.6f  P %.6f  leakage %.3e%s\n", k,
                energy(x), ergotropy(x), purity(x), leakage(x), note);
  };
  if (!keep.empty()) {
    out["config"]["states_at"] = keep;
    out["states"] = json::array();
    for (const Snapshot& x : t.states) {
      out["states"].push_back(state_json(x.state, x.k));
      print(x.state, x.k, "");
    }
  }
  print(s, done, partial ? " (interrupted: partial state)" : "");
  bool wigner_stopped = false;
  if (!xs.empty() && !partial) {
    // As given (xmin, xmax, points), to be read back.
    out["config"]["wigner"] = number_list(sf.wigner_text, "--wigner");
    const json grid = {{"x", xs}, {"p", xs}};
    try {
      // The final state's first, then each kept state's: an interruption keeps those done.
      out["wigner"] = grid;
      out["wigner"]["w"] = rows_json(wigner(s.density_matrix(), xs, xs, stop_hook()));
      for (std::size_t i = 0; i < t.states.size(); ++i) {
        json& e = out["states"][i];
        e["wigner"] = grid;
        e["wigner"]["w"] = rows_json(wigner(t.states[i].state.density_matrix(), xs, xs, stop_hook()));
      }
    } catch (const Interrupted&) {
      // The states are complete: write them, without the unfinished Wigner function, marked
      // interrupted.
      wigner_stopped = true;
      out["interrupted"] = true;
      if (!out["wigner"].contains("w")) out.erase("wigner");
      if (out.contains("states"))
        for (json& e : out["states"])
          if (e.contains("wigner") && !e["wigner"].contains("w")) e.erase("wigner");
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

// The positional config file every computing command takes.
void add_config_option(CLI::App& sub, std::string& path) {
  sub.add_option("config", path,
                 "TOML (or JSON) file with any of these options (flags override it)");
}

// The commands a sweep task can run, with their options declared on CLI11 subcommands of
// `app`: the command line and sweep tasks go through the same options, checks and code.
struct TaskCommands {
  Common sim_c;
  SamplingFlags sampling;
  std::string sim_config;
  CLI::App* sim;

  Common loss_c;
  LossOpts loss_o;
  bool with_gradient = false;
  std::string loss_config;
  CLI::App* loss;

  Common opt_c;
  LossOpts opt_l;
  OptOpts opt_o;
  std::string opt_config;
  CLI::App* opt;

  ModelFlags spec_m;
  SpectrumOptions spec_o;
  std::string spec_qubit;
  std::string spec_config;
  CLI::App* spec;

  explicit TaskCommands(CLI::App& app) {
    sim = app.add_subcommand("simulate", "run a charging schedule and record E, W, P, leakage");
    sim_c.add_to(*sim, "ending in .json (full result) or .csv (the samples)");
    sampling.add_to(*sim);
    add_config_option(*sim, sim_config);

    loss = app.add_subcommand(
        "loss", "evaluate a figure of merit (Eq. (11) by default) and its gradient");
    loss_c.add_to(*loss, "ending in .json");
    loss_o.add_to(*loss);
    loss->add_flag("--gradient", with_gradient, "also write dL/d(c, q) of every batch");
    add_config_option(*loss, loss_config);

    opt = app.add_subcommand(
        "optimize", "minimize the loss over the free (c, q) of the batches with L-BFGS-B");
    opt_c.add_to(*opt, "ending in .json");
    opt_l.add_to(*opt);
    opt_o.add_to(*opt);
    add_config_option(*opt, opt_config);

    spec = app.add_subcommand(
        "spectrum", "leading eigenvalues of the one-step map: lifetime and steady states");
    spec_m.add_model_flags(*spec);
    spec->add_option("--qubit", spec_qubit, "the charging qubit: c,q or c=..,q=..[,g=..]");
    spec->add_option("--count", spec_o.count, "number K of eigenvalues (largest modulus)");
    spec->add_option("--out", spec_o.out, "output file, ending in .json");
    add_config_option(*spec, spec_config);
  }
  TaskCommands(const TaskCommands&) = delete;  // the options point into this object

  CLI::App* find(const std::string& command) const {
    if (command == "simulate") return sim;
    if (command == "loss") return loss;
    if (command == "optimize") return opt;
    if (command == "spectrum") return spec;
    throw std::invalid_argument("command '" + command +
                                "' cannot be swept (known: simulate, loss, optimize, spectrum)");
  }
  // The spectrum's model and qubit from its flags; throws std::invalid_argument.
  void finish_spectrum() {
    if (spec_qubit.empty()) throw std::invalid_argument("--qubit c,q is required");
    spec_m.finish_model();
    spec_o.model = spec_m.config;
    // One qubit = a one-collision batch: the same parser and checks as --batch.
    const bool keyword = spec_qubit.find('=') != std::string::npos;
    spec_o.qubit =
        parse_batch(spec_qubit + (keyword ? ",count=1" : ",1"), spec_m.config.spec()).qubit;
    check_spectrum(spec_o);
  }
  // Everything the command checks before it starts computing.
  void check(const std::string& command) {
    if (command == "simulate") {
      sim_c.finish();
      sampling.finish(sim_c.schedule.collisions());
    } else if (command == "loss") {
      loss_c.finish();
      make_loss(loss_o.loss, loss_o.settings());
    } else if (command == "spectrum") {
      finish_spectrum();
    } else {
      opt_c.finish();
      make_loss(opt_l.loss, opt_l.settings());
      optimize_settings(opt_o);
    }
  }
  json compute(const std::string& command, const RunContext& ctx) {
    if (command == "simulate") return simulate_json(sim_c, sampling, ctx);
    if (command == "loss") return loss_json(loss_c, loss_o, with_gradient, ctx);
    if (command == "spectrum") return spectrum_document(spec_o, compute_spectrum(spec_o));
    return optimize_json(opt_c, opt_l, opt_o, ctx);
  }
};

// A task's command, after its options went onto a fresh set of subcommands.
std::string load_task(const json& task, TaskCommands& tc) {
  if (!task.is_object() || !task.contains("command") || !task["command"].is_string())
    throw std::invalid_argument("a task needs a \"command\" (simulate, loss, optimize or spectrum)");
  const std::string command = task["command"];
  json options = task;
  options.erase("command");
  // The sweep owns the output and the cores.
  for (const char* key : {"out", "threads"})
    if (options.contains(key))
      throw std::invalid_argument(std::string("key '") + key + "' is set by the sweep, not a task");
  apply_json(*tc.find(command), options, "task");
  return command;
}

void check_task(const json& task) {
  CLI::App app;
  TaskCommands tc(app);
  const std::string command = load_task(task, tc);
  tc.check(command);
}

json run_task(const json& task, const RunContext& ctx) {
  CLI::App app;
  TaskCommands tc(app);
  const std::string command = load_task(task, tc);
  tc.check(command);
  return tc.compute(command, ctx);
}

// The one printer of error lines: the message sanitized (one line, values cut).
int report_error(const std::string& what, int code) {
  std::fprintf(stderr, "qbopt: error: %s\n", sanitize(what).c_str());
  return code;
}

int run_main(int argc, char** argv) {
  CLI::App app{"qbopt: simulate and optimize the charging of a micromaser quantum battery"};
  app.set_version_flag("--version", std::string("qbopt ") + qbopt::version);
  app.require_subcommand(1);
  // --help shows every default (inherited by the subcommands' options).
  app.option_defaults()->always_capture_default();

  TaskCommands tc(app);
  CLI::App *sim = tc.sim, *loss = tc.loss, *opt = tc.opt, *spec = tc.spec;

  Common st_c;
  StateFlags st_f;
  std::string st_config;
  auto* st = app.add_subcommand(
      "state", "final state of a schedule (and intermediate ones): populations, rho, Wigner function");
  st_c.add_to(*st, "ending in .json");
  st_f.add_to(*st);
  add_config_option(*st, st_config);

  SweepOptions sweep_o;
  auto* sweep = app.add_subcommand(
      "sweep", "run simulate/loss/optimize/spectrum over many configurations in parallel (threads, MPI)");
  sweep->add_option("config", sweep_o.file, "sweep file (TOML): a configuration, command, [sweep]")
      ->required();
  sweep->add_option("--out", sweep_o.out, "results, one JSON line per task (resumed if present)");
  sweep->add_option("--threads", sweep_o.threads,
                    "tasks at a time on each process (default: the cores, shared among the MPI "
                    "ranks on a machine)")
      ->check(CLI::NonNegativeNumber);
  sweep->add_flag("--restart", sweep_o.restart,
                  "discard the lines of --out when they come from a different sweep");
  sweep->add_flag("--list", sweep_o.list, "print the expanded tasks as JSON lines and stop");

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
    if (*sim && !tc.sim_config.empty()) apply_config(*sim, tc.sim_config);
    if (*loss && !tc.loss_config.empty()) apply_config(*loss, tc.loss_config);
    if (*opt && !tc.opt_config.empty()) apply_config(*opt, tc.opt_config);
    if (*st && !st_config.empty()) apply_config(*st, st_config);
    if (*spec && !tc.spec_config.empty()) apply_config(*spec, tc.spec_config);
    if (*sim) return run_simulate(tc.sim_c, tc.sampling);
    if (*loss) return run_loss(tc.loss_c, tc.loss_o, tc.with_gradient);
    if (*opt) return run_optimize(tc.opt_c, tc.opt_l, tc.opt_o);
    if (*st) return run_state(st_c, st_f);
    if (*rep) return run_reproduce(rep_o);
    if (*sweep) {
      if (sweep_o.out.empty() && !sweep_o.list)
        throw std::invalid_argument("sweep needs --out FILE.jsonl");
      return run_sweep(sweep_o);
    }
    if (*models) return run_models(models_json);
    if (*spec) {
      tc.finish_spectrum();
      return run_spectrum(tc.spec_o);
    }
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

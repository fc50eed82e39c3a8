// qbopt command-line front end: parses flags, calls the library, writes outputs.
#include <qbopt/qbopt.hpp>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numbers>
#include <stdexcept>

#include "io.hpp"

using json = nlohmann::json;

namespace qbopt::cli {

// Exit codes: 0 success, 2 bad input, 3 --strict and the truncation leaked, 1 other failure.
constexpr int kBadInput = 2;
constexpr int kLeaky = 3;
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
    app.add_option("--batch", batch_text, "batch c,q,count[,fixed] (repeatable, in order)")->take_all();
    app.add_option("--out", out, "output file");
    app.add_flag("--strict", strict, "exit 3 when the final truncation leakage exceeds 1e-6");
  }
  // Validates and builds the schedule; throws std::invalid_argument naming the value.
  void finish() {
    if (!std::isfinite(g)) throw std::invalid_argument("--g must be finite, got " + std::to_string(g));
    if (nc < 2) throw std::invalid_argument("--nc must be >= 2, got " + std::to_string(nc));
    if (batch_text.empty()) throw std::invalid_argument("at least one --batch c,q,count is required");
    std::vector<Batch> b;
    for (const auto& t : batch_text) b.push_back(parse_batch(t));
    schedule = Schedule(std::move(b));
    schedule.validate();
  }
  json config(const std::string& command) const {
    json batches = json::array();
    for (const auto& b : schedule.batches())
      batches.push_back({{"c", b.qubit.c}, {"q", b.qubit.q}, {"count", b.count}, {"fixed", b.fixed}});
    return {{"command", command}, {"qbopt_version", qbopt::version}, {"g", g}, {"nc", nc},
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
    std::fprintf(stderr, "qbopt: warning: final leakage %.3g exceeds 1e-6; increase --nc (now %d)\n",
                 leak, c.nc);
    if (c.strict) return kLeaky;
  }
  return 0;
}

int run_simulate(Common& c, int samples) {
  c.finish();
  if (samples < 2) throw std::invalid_argument("--samples must be >= 2, got " + std::to_string(samples));
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
    std::printf("%10ld %12.6f %12.6f %12.6f %12.3e\n", x.k, x.energy, x.ergotropy, x.purity, x.leakage);
  std::printf("%ld collisions at N = %d in %.3f s%s\n", done, c.nc, secs,
              done < c.schedule.collisions() ? " (interrupted: partial result)" : "");

  if (file) {
    auto& o = file->stream();
    if (ext == ".csv") {
      o << "k,energy,ergotropy,purity,leakage\n";
      for (const auto& x : tr.samples)
        o << x.k << ',' << x.energy << ',' << x.ergotropy << ',' << x.purity << ',' << x.leakage << '\n';
    } else {
      json t = {{"k", json::array()}, {"energy", json::array()}, {"ergotropy", json::array()},
                {"purity", json::array()}, {"leakage", json::array()}};
      for (const auto& x : tr.samples) {
        t["k"].push_back(x.k);
        t["energy"].push_back(x.energy);
        t["ergotropy"].push_back(x.ergotropy);
        t["purity"].push_back(x.purity);
        t["leakage"].push_back(x.leakage);
      }
      json cfg = c.config("simulate");
      cfg["samples"] = samples;
      json out = {{"config", cfg},
                  {"trajectory", t},
                  {"final", {{"k", done}, {"energy", E}, {"ergotropy", W}, {"purity", P},
                             {"leakage", L}, {"populations", populations(s)}}}};
      if (done < c.schedule.collisions()) out["interrupted"] = true;
      o << out.dump(1) << '\n';
    }
    file->commit();
  }
  return check_leakage(L, c);
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
    if (*sim) return run_simulate(sim_c, samples);
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

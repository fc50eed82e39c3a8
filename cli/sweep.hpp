#pragma once
// `qbopt sweep`: one command over many configurations, in parallel (threads, MPI ranks),
// written as JSON lines as the tasks finish, and resumable after an interruption.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace qbopt::cli {

struct SweepOptions {
  std::string file;      // the sweep's TOML file
  std::string out;       // results, one JSON line per task (appended, resumable)
  int threads = 0;       // concurrent tasks per process: 0 = the cores (shared among local ranks)
  bool restart = false;  // discard the results of a different sweep instead of failing
  bool list = false;     // print the expanded tasks and stop
  // Instead of `file`: the sweep as the JSON text of an object with the TOML file's structure
  // (qbopt.sweep's dict); its [sweep] axes vary in the order they are written in that text.
  std::optional<std::string> config_json;
  // The library's caller (Python): no summary line and no progress on stdout/stderr, errors
  // only in SweepSummary::error, and `progress(done, pending)` after each line written (from
  // any worker thread).
  bool quiet = false;
  std::function<void(long, long)> progress;
};

// What a run did, for a caller that does not read stdout.
struct SweepSummary {
  int code = 0;            // run_sweep's exit code
  std::string error;       // the error line (code 1 or 2), without "qbopt: error: "
  std::size_t tasks = 0;   // in the sweep
  std::size_t skipped = 0; // already in the results file
  long written = 0;        // lines written by this run
  int failures = 0;        // tasks whose line has "error"
  double seconds = 0;
};

// The sweep file's tasks in their deterministic order: each one {"command", options...}.
// Throws std::invalid_argument naming the file, the task and the offending key or value; every
// task's model, schedule and settings are validated.
std::vector<nlohmann::json> expand_sweep(const std::string& path);
// The same for a sweep given as JSON text (SweepOptions::config_json); `origin` names it.
std::vector<nlohmann::json> expand_sweep_json(const std::string& text, const std::string& origin);

// A stable hash of a task's configuration (its canonical JSON), to recognize its result line.
std::string task_hash(const nlohmann::json& task);

// Runs the sweep; returns the exit code: 0, 1 when a task failed (its line has "error"),
// 2 for a bad sweep file or a results file of another sweep, 130 when interrupted (SIGINT,
// SIGTERM, request_interrupt). `summary`, when given, receives the details.
int run_sweep(const SweepOptions& options, SweepSummary* summary = nullptr);

}  // namespace qbopt::cli

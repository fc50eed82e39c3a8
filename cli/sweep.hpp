#pragma once
// `qbopt sweep`: one command over many configurations, in parallel (threads, MPI ranks),
// written as JSON lines as the tasks finish, and resumable after an interruption.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace qbopt::cli {

struct SweepOptions {
  std::string file;      // the sweep's TOML file
  std::string out;       // results, one JSON line per task (appended, resumable)
  int threads = 0;       // concurrent tasks per process: 0 = the cores (shared among local ranks)
  bool restart = false;  // discard the results of a different sweep instead of failing
  bool list = false;     // print the expanded tasks and stop
};

// The sweep file's tasks in their deterministic order: each one {"command", options...}.
// Throws std::invalid_argument naming the file, the task and the offending key or value; every
// task's model, schedule and settings are validated.
std::vector<nlohmann::json> expand_sweep(const std::string& path);

// A stable hash of a task's configuration (its canonical JSON), to recognize its result line.
std::string task_hash(const nlohmann::json& task);

// Runs the sweep; returns the exit code: 0, 1 when a task failed (its line has "error"),
// 2 for a bad sweep file or a results file of another sweep, 130 when interrupted.
int run_sweep(const SweepOptions& options);

}  // namespace qbopt::cli

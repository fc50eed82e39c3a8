#pragma once
// One run of a command described by a JSON object: the unit of work of a sweep.
#include <nlohmann/json.hpp>

namespace qbopt::cli {

// How a command runs: alone (progress on a terminal, all cores) or as one of several
// concurrent sweep tasks (quiet, on its share of the cores so that tasks do not oversubscribe).
struct RunContext {
  bool quiet = false;
  int threads = 0;  // cores the computation may use: 0 = all, 1 = strictly serial
};

// A task is {"command": "simulate" | "loss" | "optimize", then the command's options under the
// keys of its TOML file: "nc", "batch", "model" = {"name", parameters...}, "lambda", ...}.
// "qbopt_version" is ignored (it documents where a result came from).

// Builds and validates the task's model, schedule and settings without running it; throws
// std::invalid_argument naming the offending key or value.
void check_task(const nlohmann::json& task);
// Runs the task: the JSON document the command writes with --out.
nlohmann::json run_task(const nlohmann::json& task, const RunContext& ctx);

}  // namespace qbopt::cli

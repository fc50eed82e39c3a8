#pragma once
// TOML configuration files for the CLI: every key is a flag name without the dashes.
#include <CLI/CLI.hpp>
#include <string>

namespace qbopt::cli {

// Reads `path` (TOML) and gives each key to the subcommand's option of the same name
// ("max_iterations" or "max-iterations" -> --max-iterations), unless that option was set on
// the command line. `batch` is an array of "c,q,count[,fixed]" strings or of tables
// {c, q, count, fixed}. Throws std::invalid_argument on a parse error or an unknown key.
void apply_config(CLI::App& sub, const std::string& path);

}  // namespace qbopt::cli

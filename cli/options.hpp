#pragma once
// Checks shared by every option of the CLI: numbers parsed strictly, unknown flags named.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace qbopt::cli {

// Gives every numeric option of `app` and its subcommands a validator that rejects what
// CLI11 would otherwise convert leniently: "" (CLI11 reads it as 0), trailing text, values
// out of the type's range (CLI11 clamps 2^64 to 2^64-1) and decimal overflow ("1e-400" is
// "out of the range of double", as in --param and --batch). Call after adding the options.
void check_numeric_options(CLI::App& app);

// The entries of a comma-separated list option, e.g. --wigner -3,3,101 (a TOML array arrives
// joined with commas), each checked as the numeric options are. Throws std::invalid_argument
// "FLAG 'TEXT': ..." naming the list and its bad entry (an empty list or entry included).
std::vector<double> number_list(const std::string& text, const std::string& flag);
std::vector<long> integer_list(const std::string& text, const std::string& flag);

// "--bach" among the arguments of a subcommand that has --batch: " (did you mean --batch?)",
// else "". Looks at the options of the subcommand named in `args`.
std::string did_you_mean(CLI::App& app, const std::vector<std::string>& args);

}  // namespace qbopt::cli

#pragma once
// TOML configuration files for the CLI: every key is a flag name without the dashes.
#include <toml++/toml.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace qbopt::cli {

// Reads `path` (TOML) and gives each key to the subcommand's option of the same name
// ("max_iterations" or "max-iterations" -> --max-iterations), unless that option was set on
// the command line. `batch` is an array of "c,q,count[,fixed]" strings or of tables
// {c, q, count, fixed}. Throws std::invalid_argument on a parse error or an unknown key.
// A path ending in .json holds a JSON object with the same keys (a sweep line's "config"):
// its "command", if any, must name `sub`, and "qbopt_version" is ignored.
void apply_config(CLI::App& sub, const std::string& path);

// Parses the TOML file `path`; errors (one line) start with `origin`, e.g. "config 'a.toml'".
// Non-ASCII text outside strings and comments (invalid TOML) is refused before the parser sees
// it: Debian's toml++ 3.3.0 reaches undefined behaviour on some of it.
toml::table parse_toml_file(const std::string& path, const std::string& origin);

// The same for options already in memory; `origin` names them in error messages.
void apply_table(CLI::App& sub, const toml::table& options, const std::string& origin);
void apply_json(CLI::App& sub, const nlohmann::json& options, const std::string& origin);

// Conversions between the two spellings of a configuration (integers stay integers).
nlohmann::json to_json(const toml::table& t);
toml::table to_toml(const nlohmann::json& object);

}  // namespace qbopt::cli

#pragma once
// `qbopt reproduce`: the seed paper end to end (tables, long runs, states, noise, figures).
#include <cstdint>
#include <string>

namespace qbopt::cli {

struct ReproduceOptions {
  std::string out_dir;
  bool quick = false;      // shortened everything, for CI (< 1 minute)
  std::uint64_t seed = 1;  // noise ensembles
  double sigma = 0.02;     // noise on each qubit's c and q
  int noise_trajectories = 16;
  long collisions = 100000;  // length of the long runs (Figs. 4-7)
  bool figures = true;       // run the Python figure module at the end
};

// Writes DIR/results.json (after every stage, atomically), DIR/report.md and the PNG figures.
// Returns the process exit code.
int run_reproduce(const ReproduceOptions& options);

}  // namespace qbopt::cli

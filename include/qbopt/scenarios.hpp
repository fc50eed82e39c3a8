#pragma once
// The paper's optimizations (Sec. 3.1 and 3.2 and the improved strategy): their settings,
// starting points and the optima the paper reports. The one place these numbers live: used by
// `qbopt reproduce`, the Python package (qbopt.scenarios()), the tests, and checked against the
// examples/paper-*.toml files. Every scenario uses the paper's coupling kPaperCoupling.
#include <string>
#include <string_view>
#include <vector>

#include <qbopt/schedule.hpp>

namespace qbopt {

struct PaperScenario {
  std::string id;            // "3.1-lambda1", ..., "improved"
  std::string section;       // "3.1" or "3.2"
  double lambda, eta;        // of the loss, Eq. (11)
  int nc;                    // Fock levels
  std::vector<Batch> start;  // starting point of the optimization; fixed batches stay
  std::vector<Qubit> paper;  // the paper's optimum, one (c, q) per batch
  std::string figure;        // the paper's figure of its long run ("4" or "6")
  std::string state_figure;  // the paper's Wigner figure panel ("5a", ...) or ""
  std::string example;       // its TOML file in examples/ (paper-3.1-lambda1.toml, ...)
};

// The eight scenarios in the paper's order: Sec. 3.1 lambda = 1, 10, 100, 1000; Sec. 3.2
// lambda = 1, 10, 100; the improved strategy.
const std::vector<PaperScenario>& paper_scenarios();

// The scenario `id`; throws std::invalid_argument naming it when there is none.
const PaperScenario& paper_scenario(std::string_view id);

}  // namespace qbopt

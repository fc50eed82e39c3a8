#include <qbopt/scenarios.hpp>
#include <stdexcept>

namespace qbopt {

const std::vector<PaperScenario>& paper_scenarios() {
  auto b = [](double c, double q, long n, bool fixed = false) { return Batch{{c, q}, n, fixed}; };
  // Sec. 3.1: one stream of 1000 qubits, N = 120, eta = last 20 %.
  const std::vector<Batch> one{b(0.5, 0.2, 1000)};
  // Sec. 3.2: two batches of 500, N = 150, eta = last 10 %.
  const std::vector<Batch> two{b(0.2, 0.1, 500), b(0.4, 0.17, 500)};
  static const std::vector<PaperScenario> all{
      {"3.1-lambda1", "3.1", 1, 0.2, 120, one, {{0.310, 0.145}}, "4", "", "paper-3.1-lambda1.toml"},
      {"3.1-lambda10", "3.1", 10, 0.2, 120, one, {{0.390, 0.168}}, "4", "5a",
       "paper-3.1-lambda10.toml"},
      {"3.1-lambda100", "3.1", 100, 0.2, 120, one, {{0.470, 0.183}}, "4", "",
       "paper-3.1-lambda100.toml"},
      {"3.1-lambda1000", "3.1", 1000, 0.2, 120, one, {{0.553, 0.190}}, "4", "5b",
       "paper-3.1-lambda1000.toml"},
      {"3.2-lambda1", "3.2", 1, 0.1, 150, two, {{0.150, 0.079}, {0.361, 0.150}}, "6", "",
       "paper-3.2-lambda1.toml"},
      {"3.2-lambda10", "3.2", 10, 0.1, 150, two, {{0.229, 0.123}, {0.414, 0.165}}, "6", "",
       "paper-3.2-lambda10.toml"},
      {"3.2-lambda100", "3.2", 100, 0.1, 150, two, {{0.270, 0.152}, {0.486, 0.179}}, "6", "7a",
       "paper-3.2-lambda100.toml"},
      // Batch 1 fixed at the incoherent protocol (0, 0) for 500 qubits, batch 2 (1000) free.
      {"improved", "3.2", 10, 0.1, 150, {b(0, 0, 500, true), b(0.45, 0.2, 1000)},
       {{0.0, 0.0}, {0.449, 0.208}}, "6", "7b", "paper-improved.toml"},
  };
  return all;
}

const PaperScenario& paper_scenario(std::string_view id) {
  for (const auto& s : paper_scenarios())
    if (s.id == id) return s;
  throw std::invalid_argument("no paper scenario '" + std::string(id) + "'");
}

}  // namespace qbopt

// Uses the installed library: one incoherent collision at g = pi/2 takes |0> to |1> exactly.
#include <qbopt/qbopt.hpp>

#include <cmath>
#include <cstdio>
#include <numbers>

int main() {
  qbopt::Micromaser model(std::numbers::pi / 2, 4);
  const auto t = qbopt::simulate(model, qbopt::Schedule({{{0.0, 0.0}, 1, false}}), {});
  const double E = qbopt::energy(t.final_state);
  std::printf("E = %.17g (qbopt %s)\n", E, qbopt::version);
  return std::abs(E - 1.0) < 1e-15 ? 0 : 1;
}

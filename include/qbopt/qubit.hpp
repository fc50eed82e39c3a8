#pragma once
// The charger qubit of Eq. (2): rho_q = [[q, kappa], [kappa, 1-q]], kappa = c sqrt(q(1-q)).
#include <cmath>

namespace qbopt {

struct Qubit {
  double c = 0.0;  // coherence, in [0, 1]
  double q = 0.0;  // ground-state population, in [0, 1]

  // Off-diagonal element of Eq. (2).
  double kappa() const { return c * std::sqrt(q * (1.0 - q)); }

  // Throws std::invalid_argument naming c or q when outside [0, 1] or not finite.
  void validate() const;
};

}  // namespace qbopt

#pragma once
// The charger qubit of Eq. (2): rho_q = [[q, kappa], [kappa, 1-q]], kappa = c sqrt(q(1-q)),
// plus the model-specific controls a qubit (or a batch of them) may carry.
#include <array>
#include <cmath>
#include <cstdint>

namespace qbopt {

// Per-qubit controls: c and q of Eq. (2) are controls 0 and 1 of every model (the figures of
// merit use their means); controls 2.. are the model's own (the micromaser's per-batch
// coupling g), named by the model's control specs (docs/models.md).
inline constexpr int kMaxControls = 4;

struct Qubit {
  double c = 0.0;  // coherence, in [0, 1]
  double q = 0.0;  // GROUND-state population, in [0, 1] (q = 0: fully excited)
  std::array<double, kMaxControls - 2> extra{};  // controls 2.. when carried (see `own`)
  // Bit i set: this qubit carries its own control i (i >= 2). Otherwise the model uses its
  // global parameter of the same name (a batch without its own g uses the model's g).
  std::uint8_t own = 0;

  // Off-diagonal element of Eq. (2).
  double kappa() const { return c * std::sqrt(q * (1.0 - q)); }
  bool carries(int i) const { return i < 2 || ((own >> i) & 1u); }
  double control(int i) const { return i == 0 ? c : i == 1 ? q : extra[i - 2]; }
  // Sets control i and, for i >= 2, marks it as carried.
  void set_control(int i, double v) {
    if (i == 0)
      c = v;
    else if (i == 1)
      q = v;
    else {
      extra[i - 2] = v;
      own = static_cast<std::uint8_t>(own | (1u << i));
    }
  }

  // Throws std::invalid_argument naming c or q when outside [0, 1] or not finite.
  void validate() const;
};

}  // namespace qbopt

#pragma once
// Figures of merit of a charging run: the loss of Eq. (11) and others, selectable by name.
#include <memory>
#include <string>
#include <vector>

namespace qbopt {

// Hyperparameters shared by the figures of merit.
struct LossSettings {
  double lambda = 1.0;  // weight of the stability penalty, >= 0
  double eta = 0.2;     // fraction of the last collisions in the penalty window, in (0, 1]

  void validate() const;  // throws std::invalid_argument naming the field
  // h = round(eta n): the penalty sums k = n-h+1 .. n (at least one collision).
  long window(long n) const;
};

// What a figure of merit sees of one charging run of n collisions.
struct ChargingRecord {
  const std::vector<double>& energy;  // E_0 .. E_n
  double ergotropy;                   // W_n
  double mean_c, mean_q;              // count-weighted means over the n qubits
};

// A figure of merit's value and its partial derivatives.
struct MeritValue {
  double value = 0;
  double ergotropy = 0;          // W_n, for reporting
  double penalty = 0;            // lambda * sum_{k in eta} |E_k - E_{k-1}|
  double d_ergotropy = 0;        // dL / dW_n
  std::vector<double> d_energy;  // dL / dE_k, k = 0..n (empty when the loss ignores them)
  double d_mean_c = 0, d_mean_q = 0;
};

class FigureOfMerit {
 public:
  virtual ~FigureOfMerit() = default;
  virtual std::string name() const = 0;
  virtual MeritValue evaluate(const ChargingRecord& run) const = 0;
};

// Names: "eq11" (the paper's loss, default), "ergotropy" (-W_n), "energy" (-E_n),
// "power" (-W_n / n, the average charging power). Every one adds the stability penalty
// lambda * sum_{k in eta} |E_k - E_{k-1}| (set lambda = 0 to drop it).
std::unique_ptr<FigureOfMerit> make_figure_of_merit(const std::string& name,
                                                    const LossSettings& settings);
std::vector<std::string> figure_of_merit_names();

}  // namespace qbopt

#pragma once
// A charging protocol: batches of identical qubits (Fig. 2b), or one qubit per collision.
#include <qbopt/parameter.hpp>
#include <qbopt/qubit.hpp>
#include <string>
#include <vector>

namespace qbopt {

struct Batch {
  Qubit qubit;
  long count = 1;      // number of identical qubits, >= 1
  bool fixed = false;  // excluded from optimization
};

class Schedule {
 public:
  // Upper bound on the collisions of a schedule: trajectories keep E_k for every k (800 MB).
  static constexpr long kMaxCollisions = 100'000'000;

  Schedule() = default;
  explicit Schedule(std::vector<Batch> batches);
  // One qubit per collision (per-collision control, noise ensembles).
  static Schedule per_collision(const std::vector<Qubit>& qubits);

  const std::vector<Batch>& batches() const { return batches_; }
  std::vector<Batch>& batches() { return batches_; }
  long collisions() const;  // n = sum of counts
  // Count-weighted means over all n qubits (Eq. (11) with non-identical qubits).
  double mean_c() const;
  double mean_q() const;
  // Throws std::invalid_argument naming the batch and the bad value.
  void validate() const;
  // Also checks the controls the batches carry against the model's control specs.
  void validate(const ModelSpec& spec) const;

 private:
  std::vector<Batch> batches_;
};

// Parses the positional form "c,q,count[,fixed|free]" or the keyword form
// "c=0.4,q=0.17,count=500[,g=0.8][,fixed]" (any control of the model by name);
// throws std::invalid_argument quoting the text and naming the bad field.
Batch parse_batch(const std::string& text, const ModelSpec& spec);

}  // namespace qbopt

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

// Which batch a collision index falls in. Stepping k forwards or backwards costs O(1)
// amortized (the cursor walks from where it was), so one-qubit-per-collision schedules
// (noise ensembles, 10^6 batches) are traversed in linear, not quadratic, time.
class ScheduleCursor {
 public:
  explicit ScheduleCursor(const Schedule& s) : batches_(&s.batches()) {
    end_ = batches_->empty() ? 0 : (*batches_)[0].count;
  }
  // Moves to the batch of collision k (0-based, 0 <= k < n); returns its index.
  std::size_t seek(long k) {
    while (k >= end_ && b_ + 1 < batches_->size()) {
      start_ = end_;
      end_ += (*batches_)[++b_].count;
    }
    while (k < start_ && b_ > 0) {
      end_ = start_;
      start_ -= (*batches_)[--b_].count;
    }
    return b_;
  }
  const Batch& batch() const { return (*batches_)[b_]; }
  long batch_start() const { return start_; }  // collisions before the current batch
  long batch_end() const { return end_; }      // ... and up to its end

 private:
  const std::vector<Batch>* batches_;
  std::size_t b_ = 0;
  long start_ = 0, end_ = 0;
};

// Parses the positional form "c,q,count[,fixed|free]" or the keyword form
// "c=0.4,q=0.17,count=500[,g=0.8][,fixed]" (any control of the model by name);
// throws std::invalid_argument quoting the text and naming the bad field.
Batch parse_batch(const std::string& text, const ModelSpec& spec);

}  // namespace qbopt

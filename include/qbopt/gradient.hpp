#pragma once
// A figure of merit of a schedule and its exact gradient by reverse mode (adjoint method).
#include <cstddef>
#include <memory>
#include <string>
#include <qbopt/interrupt.hpp>
#include <qbopt/loss.hpp>
#include <qbopt/model.hpp>
#include <qbopt/observables.hpp>
#include <qbopt/schedule.hpp>
#include <vector>

namespace qbopt {

struct GradientOptions {
  bool gradient = true;     // false: value only
  bool parameters = false;  // also dL/d(global parameters of the model): g, kappa_tau, ...
  // The state the run starts from (continuation); null: |0><0|. E_0 is its energy, so the
  // penalty window and the gradient concern the new collisions only.
  std::shared_ptr<const State> initial;
  // Checkpointing: the forward pass keeps one state every `checkpoint_every` collisions and
  // the backward pass recomputes each segment from its checkpoint. 0 = automatic: segments of
  // checkpoint_segment_bytes() (from the cache sizes; storing every state is slower, being
  // bound by memory bandwidth), and
  // sqrt(n/2) collisions long when the checkpoints and the two segment buffers would exceed
  // `memory_budget`; still over: one segment buffer and sqrt(n) collisions per segment; still
  // over: multi-level (binomial) checkpointing in as many packed slots as the budget holds
  // (see plan_gradient), so the gradient never refuses for lack of checkpoint memory.
  long checkpoint_every = 0;
  // > 0: multi-level checkpointing with exactly this many packed slots (tests, experiments);
  // overrides checkpoint_every and the budget's choice.
  long checkpoint_slots = 0;
  // Bytes for everything the gradient holds: the four states it cannot do without (the
  // forward pair r_k, r_k+1 and the adjoint pair Lambda_k, Lambda_k+1), E_k, and the
  // checkpoints. When the four states alone exceed it, the checkpoints get the whole budget
  // on top of them (the plan is then flagged over_budget).
  std::size_t memory_budget = std::size_t(256) << 20;
  // With two cores free (outside any parallel region, and not limited to one thread): two
  // threads take the checkpoint segments in turn, each recomputing its segment while the
  // other runs the adjoint through the one after it (LossEvaluator). Measured on a 2-vCPU
  // Zen 5 VM, 1000 collisions at N = 150: 11.5-12.2 ms against 15.6-17.0 ms on one core
  // (bench_gradient). Callers turn it off when the cores run other work (parallel starts,
  // sweep tasks, --threads 1).
  bool pipeline = true;
  // Polled every poll_interval(N) collisions in the forward and backward passes; true makes
  // the evaluation throw Interrupted.
  StopHook should_stop;
};

// How an evaluation stores its states, and the memory it needs.
struct GradientPlan {
  long stride = 1;          // collisions per checkpoint segment (1 = every state stored)
  bool pipeline = false;    // two segment buffers, two threads taking segments in turn
  // Multi-level (binomial, "revolve") checkpointing in `slots` packed slots of slot_bytes
  // (0 slots: every state recomputed from r_0); stride is then unused. Otherwise one level
  // of checkpoints every `stride` collisions.
  bool multilevel = false;
  long slots = 0;
  std::size_t slot_bytes = 0;  // one packed slot: the lower triangle of N levels
  std::size_t states = 0;      // full states held at once: checkpoints, segments, work, adjoint
  std::size_t scratch_states = 0;  // the model's scratch states, on all threads that run it
  std::size_t ergotropy_bytes = 0;  // the ergotropy's dense workspace (ErgotropyWorkspace)
  // All of it plus E_k, the batch index of every collision and the ergotropy's workspace.
  std::size_t bytes = 0;
  bool over_budget = false;    // even the sparsest plan exceeds memory_budget
  std::size_t state_bytes = 0;
  // Applications of the collision map in the backward pass (recomputation), in total.
  long long recomputed = 0;
  double recompute_factor = 0;  // recomputed / n
  // "68 states of 191 MiB (a checkpoint every 32 collisions, one segment buffer), ..."
  std::string describe() const;
};
// The storage plan of evaluating n collisions at N levels with `options`, for a model that
// keeps `scratch_states` full states per thread (ModelSpec::scratch_states).
GradientPlan plan_gradient(int N, long n, const GradientOptions& options,
                           int scratch_states = 0);

struct LossEvaluation {
  MeritValue merit;  // value, ergotropy, penalty
  double final_energy = 0;
  double final_leakage = 0;                // 1 - Tr r_n
  // dL/d(controls) per batch (fixed ones included): [dL/dc, dL/dq], then dL/d(each further
  // control the batch carries), e.g. [dL/dc, dL/dq, dL/dg] for a batch with its own g.
  std::vector<std::vector<double>> batches;
  // dL/d(global parameters) in the model's spec order, when GradientOptions::parameters. A
  // global that is the fallback of an optional control (g) moves only the batches without
  // their own value of it.
  std::vector<double> parameters;
  bool checkpointed = false;  // segments were recomputed
  // Measured: applications of the collision map in the backward pass, and the most
  // multi-level checkpoint slots held at once (0 for the one-level plans).
  long long recomputed = 0;
  long slots_held = 0;
  int adjoint_threads = 1;  // threads that shared the backward pass (GradientOptions::pipeline)
};

// L(schedule) and dL/dparameters: forward through the collisions, then the adjoint
// Lambda_k = Phi_k^T(Lambda_k+1) + dL/dE_k diag(m) backwards from Lambda_n = dL/dr_n,
// accumulating <Lambda_k+1, dPhi_k/dtheta (r_k)> for each batch.
// Keeps its state storage between calls, so repeated evaluations (an optimizer) allocate once.
class LossEvaluator {
 public:
  explicit LossEvaluator(GradientOptions options = {}) : options_(options) {}
  LossEvaluation operator()(const CollisionModel& model, const Schedule& schedule,
                            const FigureOfMerit& merit);
  const GradientOptions& options() const { return options_; }

 private:
  GradientOptions options_;
  std::vector<State> states_;        // stored states r_k (all, or checkpoints)
  std::vector<State> segment_;       // recomputed states of the current segment
  std::vector<State> next_segment_;  // the previous segment, recomputed concurrently
  std::vector<State> work_;          // the forward pass's pair r_k, r_k+1
  std::vector<State> adjoint_;       // Lambda_k+1 and Lambda_k
  ErgotropyWorkspace ergotropy_;     // the final state's eigensolver
  std::vector<int> batch_of_;        // batch index of each collision
};

// Fewest applications of the collision map that reverse l collisions from a stored state with
// s free checkpoint slots, when reversing one collision needs only the state before it:
// r l - C(s+r+1, r-1) with r the least such that C(s+r+1, r) >= l (l(l-1)/2 at s = 0).
// Griewank & Walther, ACM TOMS 26 (2000) 19, Eq. (3), shifted by one slot for the pullback
// (which does not rerun the step).
long long reversal_cost(long l, long s);

// Bytes of states per automatic checkpoint segment, from this machine's cache sizes: four
// L2s, within [1 MiB, 16 MiB] (4 MiB when L2 is unknown).
std::size_t checkpoint_segment_bytes();

// One-shot convenience form of LossEvaluator.
LossEvaluation evaluate_loss(const CollisionModel& model, const Schedule& schedule,
                             const FigureOfMerit& merit, const GradientOptions& options = {});

}  // namespace qbopt

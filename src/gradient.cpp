#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cmath>
#include <fstream>
#include <string>
#include <qbopt/gradient.hpp>
#include <qbopt/memory.hpp>
#include <qbopt/observables.hpp>
#include <stdexcept>
#include <exception>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace qbopt {

namespace {

// Lambda = scale G from a dense symmetric matrix (lower triangle and first super-diagonal).
void load_adjoint(const Eigen::MatrixXd& G, double scale, State& lam) {
  const int N = lam.dim();
  for (int n = 0; n < N; ++n)
    for (int m = n; m < N; ++m) lam.at(m, n) = scale * G(m, n);
  lam.set_top(N - 1);
  lam.set_diagonal(false);
  lam.mirror_superdiagonal();
}

// Lambda += d * diag(m) on levels 0..top (the dL/dE_k term).
void add_energy_cotangent(double d, int top, State& lam) {
  if (d == 0) return;
  for (int m = 1; m <= top; ++m) lam.at(m, m) += d * m;
}

// Allocating (and zeroing) hundreds of MB takes a while, so it polls the stop hook too.
void ensure_states(std::vector<State>& v, std::size_t count, int N, const StopHook& should_stop) {
  if (!v.empty() && v.front().dim() != N) v.clear();
  if (v.size() >= count) return;
  poll(should_stop);
  // The missing ones in one populated mapping (State::zeros(N, count)): no page faults later.
  std::vector<State> more = State::zeros(N, count - v.size());
  v.reserve(count);
  for (State& s : more) v.push_back(std::move(s));
}

// Zeroes the levels top+1 .. s.top() of s (everything above s.top() is zero already, the
// State invariant), in O(s.top()^2) rather than the O(N^2) of State::clear().
void truncate(State& s, int top) {
  const int old = s.top();
  if (old <= top) return;
  for (int n = 0; n <= old; ++n) {
    for (int m = std::max(n, top + 1); m <= old; ++m) s.at(m, n) = 0.0;
    if (n > top && n > 0) s.at(n - 1, n) = 0.0;  // the mirrored super-diagonal
  }
  s.set_top(top);
}

// A checkpoint in a multi-level slot: the lower triangle of levels 0..top, column by column.
struct PackedState {
  std::vector<double> v;
  int top = 0;
  bool diagonal = true;
};

std::size_t packed_size(int top) {
  return static_cast<std::size_t>(top + 1) * static_cast<std::size_t>(top + 2) / 2;
}

void pack(const State& r, PackedState& p) {
  p.top = r.top();
  p.diagonal = r.diagonal();
  p.v.resize(packed_size(p.top));  // never beyond packed_size(N - 1): the plan's slot_bytes
  double* out = p.v.data();
  for (int n = 0; n <= p.top; ++n) {
    const double* col = r.data() + (n + 1) + (n + 1) * r.ld();
    out = std::copy(col, col + (p.top - n + 1), out);
  }
}

void unpack(const PackedState& p, State& r) {
  truncate(r, p.top);
  const double* in = p.v.data();
  for (int n = 0; n <= p.top; ++n) {
    const int len = p.top - n + 1;
    std::copy(in, in + len, &r.at(n, n));
    in += len;
  }
  r.set_top(p.top);
  r.set_diagonal(p.diagonal);
  r.mirror_superdiagonal();
}

// r = s on levels 0..s.top() (r may hold a later state: only its content is cleared).
void copy_levels(const State& s, State& r) {
  truncate(r, s.top());
  for (int n = 0; n <= s.top(); ++n) {
    const double* col = s.data() + (n + 1) + (n + 1) * s.ld();
    std::copy(col, col + (s.top() - n + 1), &r.at(n, n));
  }
  r.set_top(s.top());
  r.set_diagonal(s.diagonal());
  r.mirror_superdiagonal();
}

// beta(s, r) = C(s + r, s), saturating at 2^62.
long long binomial(long s, long r) {
  if (r < 0 || s < 0) return 0;
  constexpr long long cap = 1LL << 62;
  long long b = 1;
  const long k = std::min(s, r);
  for (long i = 1; i <= k; ++i) {
    // b * (s + r - k + i) / i, exact at every step (a binomial coefficient).
    const long long num = static_cast<long long>(std::max(s, r)) + i;
    if (b > cap / num) return cap;
    b = b * num / i;
  }
  return b;
}

// Where the multi-level reversal of l collisions with s free slots stores its next
// checkpoint: j in [1, l-1] minimizing j + T(l-j, s-1) + T(j, s), a convex function of j
// (a sum of convex piecewise-linear costs), found by ternary search.
long optimal_split(long l, long s) {
  auto f = [&](long j) { return j + reversal_cost(l - j, s - 1) + reversal_cost(j, s); };
  long lo = 1, hi = l - 1;
  while (hi - lo > 2) {
    const long m1 = lo + (hi - lo) / 3, m2 = hi - (hi - lo) / 3;
    if (f(m1) <= f(m2))
      hi = m2;
    else
      lo = m1;
  }
  long best = lo;
  for (long j = lo + 1; j <= hi; ++j)
    if (f(j) < f(best)) best = j;
  return best;
}

// The checkpoints the forward pass of a multi-level plan stores: each the split of the
// reversal of what remains after the previous one.
std::vector<long> checkpoint_chain(long n, long slots) {
  std::vector<long> chain;
  long p = 0;
  for (long s = slots; s > 0 && n - p > 1; --s) {
    p += optimal_split(n - p, s);
    chain.push_back(p);
  }
  return chain;
}

// Size of cache `level` in bytes from sysconf, else from sysfs ("32768K"); 0 when unknown.
std::size_t cache_bytes(int level) {
  long v = -1;
#if defined(_SC_LEVEL2_CACHE_SIZE) && defined(_SC_LEVEL3_CACHE_SIZE)
  v = sysconf(level == 2 ? _SC_LEVEL2_CACHE_SIZE : _SC_LEVEL3_CACHE_SIZE);
#endif
  if (v > 0) return static_cast<std::size_t>(v);
  for (int index = 0; index < 8; ++index) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    std::ifstream lv(dir + "/level"), sz(dir + "/size");
    int l = 0;
    std::string text;
    if (!(lv >> l) || l != level || !(sz >> text) || text.empty()) continue;
    std::size_t bytes = std::stoul(text);
    if (text.back() == 'K') bytes <<= 10;
    if (text.back() == 'M') bytes <<= 20;
    return bytes;
  }
  return 0;
}

}  // namespace

std::size_t checkpoint_segment_bytes() {
  // A segment is recomputed and at once read back, in reverse, by the adjoint on the same
  // core (with two cores, each core its own segments), so it should stay in that core's
  // caches: four L2s (its L2 and its share of L3). At N = 150 on a 1 MiB L2 this gives 22
  // states; 16-32 measured fastest, 8 7% slower, 128 3x slower (bench/bench_gradient.cpp:
  // BM_Gradient_OneBatch_Every, _Serial_Every). L3 is not used: VMs often report the whole
  // package's (hundreds of MiB). 4 MiB when L2 is unknown.
  static const std::size_t bytes = [] {
    const std::size_t l2 = cache_bytes(2);
    return l2 ? std::clamp(4 * l2, std::size_t(1) << 20, std::size_t(16) << 20)
              : std::size_t(4) << 20;
  }();
  return bytes;
}

LossEvaluation LossEvaluator::operator()(const CollisionModel& model, const Schedule& schedule,
                                         const FigureOfMerit& merit) {
  schedule.validate(model.spec());
  const int N = model.dim();
  const long n = schedule.collisions();
  const auto& batches = schedule.batches();
  const bool grad = options_.gradient;

  batch_of_.resize(static_cast<std::size_t>(n));
  {
    long k = 0;
    for (std::size_t b = 0; b < batches.size(); ++b)
      for (long j = 0; j < batches[b].count; ++j) batch_of_[k++] = static_cast<int>(b);
  }
  auto qubit = [&](long k) -> const Qubit& { return batches[batch_of_[k]].qubit; };
  const ModelSpec& spec = model.spec();
  const int n_controls = static_cast<int>(spec.controls.size());
  const int n_params = static_cast<int>(spec.parameters.size());
  // What each batch's pullback differentiates: c, q, every control it carries, and with
  // options_.parameters the optional controls it takes from a global (routed there below).
  std::vector<PullbackRequest> request(batches.size());
  std::vector<int> fallback(n_controls, -1);  // global parameter index of an optional control
  for (int i = 2; i < n_controls; ++i)
    if (spec.controls[i].optional) fallback[i] = spec.parameter_index(spec.controls[i].name);
  for (std::size_t b = 0; b < batches.size(); ++b) {
    request[b].parameters = options_.parameters;
    for (int i = 2; i < n_controls; ++i)
      if (batches[b].qubit.carries(i) || (options_.parameters && fallback[i] >= 0))
        request[b].controls |= 1u << i;
  }

  const GradientPlan plan = plan_gradient(N, n, options_, model.spec().scratch_states);
  const bool multilevel = grad && plan.multilevel;
  const long stride = multilevel ? n : plan.stride;
  const bool store_all = grad && !multilevel && stride == 1;
  const long every = poll_interval(N);
  const StopHook& should_stop = options_.should_stop;

  std::vector<double> E;
  E.reserve(static_cast<std::size_t>(n) + 1);
  LossEvaluation out;
  out.checkpointed = grad && !store_all;

  // Forward pass. `cur` is r_k; in store-all mode it lives in states_[k] directly.
  if (options_.initial && options_.initial->dim() != N)
    throw std::invalid_argument("initial state has " + std::to_string(options_.initial->dim()) +
                                " levels, the model " + std::to_string(N));
  // r_0 into `to` (no copy of it is kept: the multi-level reversal reloads it from here).
  auto load_initial = [&](State& to) {
    if (options_.initial) {
      copy_levels(*options_.initial, to);
    } else {
      truncate(to, 0);
      to.at(0, 0) = 1.0;
      to.set_diagonal(true);
    }
  };
  // The forward pair (and, multi-level, the pair the recomputation runs in).
  // The evaluator keeps them between calls, as it keeps the checkpoints: new ones would be
  // mapped, and their pages populated, at every call.
  State idle;  // store-all mode has no work pair
  if (!store_all) ensure_states(work_, 2, N, should_stop);
  State& work_a = store_all ? idle : work_[0];
  State& work_b = store_all ? idle : work_[1];
  // Multi-level checkpoints: packed slots, those free, and the most held at once.
  std::vector<PackedState> slots(multilevel ? static_cast<std::size_t>(plan.slots) : 0);
  std::vector<int> free_slots;
  for (long i = plan.slots - 1; multilevel && i >= 0; --i) free_slots.push_back(static_cast<int>(i));
  long held = 0;
  auto take_slot = [&] {
    const int i = free_slots.back();
    free_slots.pop_back();
    out.slots_held = std::max(out.slots_held, ++held);
    return i;
  };
  const std::vector<long> chain = multilevel ? checkpoint_chain(n, plan.slots) : std::vector<long>{};
  std::vector<int> chain_slot;

  const State* final_state = nullptr;
  if (store_all) {
    ensure_states(states_, static_cast<std::size_t>(n) + 1, N, should_stop);
    load_initial(states_[0]);
    E.push_back(energy(states_[0]));
    for (long k = 0; k < n; ++k) {
      if (k % every == 0) poll(should_stop);
      model.apply(qubit(k), states_[k], states_[k + 1]);
      E.push_back(energy(states_[k + 1]));
    }
    final_state = &states_[n];
  } else {
    // One level: r_k for k a multiple of the stride is written straight into its checkpoint
    // (no copies), the others into the work pair.
    const bool one_level = grad && !multilevel;
    if (one_level)
      ensure_states(states_, static_cast<std::size_t>((n + stride - 1) / stride), N, should_stop);
    State* cur = one_level ? &states_[0] : &work_a;
    load_initial(*cur);
    E.push_back(energy(*cur));
    std::size_t next = 0;  // next checkpoint of the multi-level chain
    for (long k = 0; k < n; ++k) {
      if (k % every == 0) poll(should_stop);
      if (next < chain.size() && chain[next] == k) {
        chain_slot.push_back(take_slot());
        pack(*cur, slots[chain_slot.back()]);
        ++next;
      }
      State* to = cur == &work_a ? &work_b : &work_a;
      if (one_level && (k + 1) % stride == 0 && k + 1 < n) to = &states_[(k + 1) / stride];
      model.apply(qubit(k), *cur, *to);
      cur = to;
      E.push_back(energy(*cur));
    }
    final_state = cur;
  }

  // The figure of merit at the end of the run.
  const double W = grad ? ergotropy_with_gradient(*final_state, ergotropy_)
                        : ergotropy(*final_state, ergotropy_);
  out.final_energy = E.back();
  out.final_leakage = leakage(*final_state);
  out.merit = merit.evaluate({E, W, schedule.mean_c(), schedule.mean_q()});
  if (!grad) return out;

  // Backward pass: Lambda_n = dL/dW dW/dr + dL/dE_n diag(m), in the evaluator's adjoint
  // pair (four N-level states besides the checkpoints: this pair and the work pair).
  const MeritValue& mv = out.merit;
  ensure_states(adjoint_, 2, N, should_stop);
  State& lam = adjoint_[0];
  State& lam_next = adjoint_[1];
  load_adjoint(ergotropy_.gradient(), mv.d_ergotropy, lam);
  const auto dE = [&](long k) { return mv.d_energy.empty() ? 0.0 : mv.d_energy[k]; };
  add_energy_cotangent(dE(n), N - 1, lam);

  std::vector<std::array<double, kMaxControls>> acc(batches.size());
  std::vector<double> acc_params(static_cast<std::size_t>(n_params), 0.0);
  // The stop hook inside the OpenMP sections below: an exception may not leave them, so
  // they set this flag and return, and the pass throws after the region.
  std::atomic<bool> stop{false};
  auto stopping = [&](long k) {
    if (k % every == 0 && should_stop && should_stop()) stop.store(true, std::memory_order_relaxed);
    return stop.load(std::memory_order_relaxed);
  };
  std::atomic<long long> recomputed{0};
  // r_k of the segment starting at k0: its checkpoint, or buf[k - k0 - 1].
  auto state_at = [&](long k0, long k, const std::vector<State>& buf) -> const State& {
    return k == k0 ? states_[k0 / stride] : buf[k - k0 - 1];
  };
  // Recomputes r_k0+1 .. r_k1-1 from the checkpoint r_k0 into buf.
  auto recompute = [&](long k0, std::vector<State>& buf) {
    const long k1 = std::min(n, k0 + stride);
    for (long k = k0 + 1; k < k1; ++k) {
      if (stopping(k)) return;
      model.apply(qubit(k - 1), state_at(k0, k - 1, buf), buf[k - k0 - 1]);
    }
    recomputed += k1 - k0 - 1;
  };
  // Lambda_k from Lambda_k+1 through collision k, which acted on r.
  auto pull_one = [&](long k, const State& r) {
    const int b = batch_of_[k];
    model.pullback(qubit(k), r, lam, lam_next, request[b], acc[b].data(), acc_params.data());
    std::swap(lam, lam_next);
    add_energy_cotangent(dE(k), r.top(), lam);
  };
  // Runs the adjoint backwards through collisions k1-1 .. k0 of the segment at k0.
  auto pull = [&](long k0, const std::vector<State>& buf) {
    const long k1 = std::min(n, k0 + stride);
    for (long k = k1 - 1; k >= k0; --k) {
      if (stopping(k)) return;
      pull_one(k, state_at(k0, k, buf));
    }
  };
  const long last = ((n - 1) / stride) * stride;
  if (multilevel) {
    // r_k into one of the work pair, from the checkpoint `base` (null: r_0) at k0.
    long since_poll = 0;
    auto advance = [&](const PackedState* base, long k0, long k) -> const State& {
      if (base)
        unpack(*base, work_a);
      else
        load_initial(work_a);
      truncate(work_b, 0);
      for (long i = k0; i < k; ++i) {
        if (++since_poll % every == 0) poll(should_stop);
        model.apply(qubit(i), work_a, work_b);
        std::swap(work_a, work_b);
      }
      recomputed += k - k0;
      return work_a;
    };
    // Lambda_k0 from Lambda_k1, r_k0 being in `base`, with `free` slots to spare; on the
    // chain the forward pass has stored the checkpoints already.
    std::size_t chain_at = 0;
    auto reverse = [&](auto& self, long k0, long k1, const PackedState* base, long free,
                       bool on_chain) -> void {
      const long l = k1 - k0;
      if (l == 1 || free == 0) {
        for (long k = k1 - 1; k >= k0; --k) {
          if (++since_poll % every == 0) poll(should_stop);
          pull_one(k, advance(base, k0, k));
        }
        return;
      }
      int slot = 0;
      long j = 0;
      if (on_chain) {
        j = chain[chain_at] - k0;
        slot = chain_slot[chain_at++];
      } else {
        j = optimal_split(l, free);
        const State& r = advance(base, k0, k0 + j);
        slot = take_slot();
        pack(r, slots[slot]);
      }
      self(self, k0 + j, k1, &slots[slot], free - 1, on_chain);
      free_slots.push_back(slot);
      --held;
      self(self, k0, k0 + j, base, free, false);
    };
    reverse(reverse, 0, n, nullptr, plan.slots, true);
  } else if (store_all) {
    const std::vector<State> none;
    for (long k0 = last; k0 >= 0 && !stop; k0 -= stride) pull(k0, none);
  } else if (!plan.pipeline) {
    // One segment buffer: recompute, then pull through it (the low-memory plan).
    next_segment_.clear();
    ensure_states(segment_, static_cast<std::size_t>(stride - 1), N, should_stop);
    for (long k0 = last; k0 >= 0 && !stop; k0 -= stride) {
      recompute(k0, segment_);
      if (!stop) pull(k0, segment_);
    }
  } else {
    // Two threads take the segments in turn from the end. Each recomputes its segment into
    // its own buffer while the other runs the adjoint through the segment after it, then
    // runs the adjoint through its own: the recomputed states stay in the cache of the core
    // that made them, and only Lambda passes between the cores, once per segment (handing
    // every recomputed state to the other core, as a producer/consumer pipeline would, cost
    // more than the collision itself on a 2-vCPU VM: 12 us per state). In wall time the
    // gradient costs about forward + adjoint. The adjoint visits the collisions in the same
    // order as on one thread, so the result is bit-identical. (A Lambda pair per thread, so
    // that a thread never writes into buffers the other core holds, measured 5% slower.)
    // Two threads when two cores are free: not inside another parallel region (multi-start,
    // sweep tasks), nor with a worker's share of one core.
    bool two = false;
#ifdef _OPENMP
    two = !omp_in_parallel() && omp_get_max_threads() >= 2;
#endif
    ensure_states(segment_, static_cast<std::size_t>(stride - 1), N, should_stop);
    if (two)
      ensure_states(next_segment_, static_cast<std::size_t>(stride - 1), N, should_stop);
    const long segments = last / stride + 1;
    std::atomic<long> turn{segments - 1};  // the segment whose adjoint may run now
    // An exception may not leave the region (a model's first scratch allocation on the
    // second thread, a stop hook that throws): the first is kept, the other thread stops at
    // its next poll, and it is rethrown after the region.
    std::exception_ptr error;
    auto run_segments = [&](int t, int nt) {
      std::vector<State>& buf = t == 0 ? segment_ : next_segment_;
      for (long j = segments - 1 - t; j >= 0; j -= nt) {
        try {
          if (!stop) recompute(j * stride, buf);
          for (int spin = 0; turn.load(std::memory_order_acquire) != j && !stop.load();)
            if (spin < 1000)
              ++spin;
            else
              std::this_thread::yield();
          if (!stop) pull(j * stride, buf);
        } catch (...) {
#pragma omp critical(qbopt_adjoint_error)
          if (!error) error = std::current_exception();
          stop.store(true);
        }
        turn.store(j - 1, std::memory_order_release);
      }
    };
    if (two) {
#pragma omp parallel num_threads(2)
      {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();  // 1 if the runtime gives fewer threads
#endif
        if (t == 0) out.adjoint_threads = nt;
        run_segments(t, nt);
      }
    } else {
      run_segments(0, 1);
    }
    if (error) std::rethrow_exception(error);
  }
  if (stop) throw Interrupted();
  out.recomputed = recomputed;

  // Through the count-weighted means of Eq. (11).
  out.batches.resize(batches.size());
  for (std::size_t b = 0; b < batches.size(); ++b) {
    const Qubit& qb = batches[b].qubit;
    const double w = static_cast<double>(batches[b].count) / static_cast<double>(n);
    std::vector<double>& row = out.batches[b];
    row = {acc[b][0] + mv.d_mean_c * w, acc[b][1] + mv.d_mean_q * w};
    for (int i = 2; i < n_controls; ++i) {
      if (qb.carries(i))
        row.push_back(acc[b][i]);
      else if (options_.parameters && fallback[i] >= 0)
        acc_params[fallback[i]] += acc[b][i];
    }
  }
  if (options_.parameters) out.parameters = acc_params;
  return out;
}

long long reversal_cost(long l, long s) {
  if (l <= 1) return 0;
  if (s <= 0) return static_cast<long long>(l) * (l - 1) / 2;
  long r = 0;
  while (binomial(s + 1, r) < l) ++r;
  return static_cast<long long>(r) * l - binomial(s + 2, r - 1);
}

GradientPlan plan_gradient(int N, long n, const GradientOptions& o, int scratch_states) {
  scratch_states = std::max(0, scratch_states);
  const std::size_t sb = State::bytes(N);
  // E_k for every k, the batch index of every collision, and the ergotropy's workspace.
  const std::size_t per_run = (sizeof(double) + sizeof(int)) * static_cast<std::size_t>(n + 1) +
                              ErgotropyWorkspace::bytes(N);
  // The model's scratch states on each of the `threads` that run it.
  auto add_scratch = [&](GradientPlan& p, int threads) {
    p.ergotropy_bytes = ErgotropyWorkspace::bytes(N);
    p.scratch_states = static_cast<std::size_t>(scratch_states) * threads;
    p.bytes += p.scratch_states * sb;
  };
  auto make = [&](long stride, bool pipeline) {
    GradientPlan p;
    p.state_bytes = sb;
    p.stride = std::max(1L, std::min(stride, n));
    p.pipeline = pipeline && p.stride > 1;
    if (!o.gradient)
      p.states = 2;  // r_k and its successor
    else if (p.stride == 1)
      p.states = static_cast<std::size_t>(n) + 1 + 2;  // every r_k, and Lambda, Lambda_next
    else
      // checkpoints, one or two segments (besides their checkpoint), forward work pair,
      // Lambda pair
      p.states = static_cast<std::size_t>((n + p.stride - 1) / p.stride) +
                 (p.pipeline ? 2 : 1) * static_cast<std::size_t>(p.stride - 1) + 4;
    p.recomputed = p.stride > 1 ? n - (n + p.stride - 1) / p.stride : 0;
    p.recompute_factor = static_cast<double>(p.recomputed) / static_cast<double>(n);
    p.bytes = p.states * sb + per_run;
    add_scratch(p, p.pipeline ? 2 : 1);
    return p;
  };
  // Multi-level (one thread): the work pair, the adjoint pair, the model's scratch and `slots`
  // packed checkpoints.
  const std::size_t slot_bytes = sizeof(double) * packed_size(N - 1) + sizeof(PackedState);
  const std::size_t fixed = 4 * sb + per_run;
  auto multilevel = [&](long slots) {
    GradientPlan p;
    p.state_bytes = sb;
    p.multilevel = true;
    p.slot_bytes = slot_bytes;
    p.stride = n;
    // More slots than collisions - 1 are never used; with none, every r_k is recomputed from
    // r_0 (n^2/2 collisions).
    p.slots = std::max(0L, std::min(slots, n - 1));
    p.states = 4;
    p.bytes = fixed + static_cast<std::size_t>(p.slots) * slot_bytes;
    add_scratch(p, 1);
    const std::vector<long> chain = checkpoint_chain(n, p.slots);
    p.recomputed = reversal_cost(n, p.slots) - (chain.empty() ? 0 : chain.back());
    p.recompute_factor = static_cast<double>(p.recomputed) / static_cast<double>(n);
    return p;
  };
  if (!o.gradient) return make(n, false);
  if (o.checkpoint_slots > 0) {
    GradientPlan p = multilevel(o.checkpoint_slots);
    p.over_budget = p.bytes > o.memory_budget;
    return p;
  }
  if (o.checkpoint_every > 0) {
    GradientPlan p = make(o.checkpoint_every, o.pipeline);
    p.over_budget = p.bytes > o.memory_budget;
    return p;
  }
  // Segments sized from the caches (checkpoint_segment_bytes); storing every state is
  // slower, bound by memory bandwidth (37 ms for 1000 collisions at N = 150, against 16-18 ms).
  const long fast =
      std::clamp(static_cast<long>(checkpoint_segment_bytes() / sb), 2L, 128L);
  GradientPlan p = make(fast, o.pipeline);
  if (p.bytes <= o.memory_budget) return p;
  // n/s checkpoints + 2s segment states is smallest at s = sqrt(n/2) (~2 sqrt(2n) states).
  p = make(std::max(2L, static_cast<long>(std::ceil(std::sqrt(double(n) / 2)))), o.pipeline);
  if (p.bytes <= o.memory_budget) return p;
  // One segment buffer: n/s + s is smallest at s = sqrt(n) (~2 sqrt(n) states).
  p = make(std::max(2L, static_cast<long>(std::ceil(std::sqrt(double(n))))), false);
  if (p.bytes <= o.memory_budget) return p;
  // Multi-level: as many packed slots as the budget holds besides the four states and the
  // model's scratch it cannot do without; when those alone exceed it, the slots get the
  // budget on top of them.
  const std::size_t needed = multilevel(0).bytes;
  const std::size_t room = o.memory_budget > needed ? o.memory_budget - needed : o.memory_budget;
  p = multilevel(static_cast<long>(room / slot_bytes));
  p.over_budget = p.bytes > o.memory_budget;
  return p;
}

std::string GradientPlan::describe() const {
  std::string s;
  if (multilevel) {
    char f[32];
    std::snprintf(f, sizeof f, "%.3g", recompute_factor);
    s = std::to_string(states) + " states of " + format_bytes(state_bytes) + " and " +
        std::to_string(slots) + " checkpoint slots of " + format_bytes(slot_bytes) +
        " (multi-level, " + f + " recomputed collisions per collision)";
  } else {
    s = std::to_string(states) + " states of " + format_bytes(state_bytes);
    if (stride > 1)
      s += " (a checkpoint every " + std::to_string(stride) + " collisions" +
           (pipeline ? ", two segment buffers" : ", one segment buffer") + ")";
  }
  if (scratch_states > 0) s += ", " + std::to_string(scratch_states) + " model scratch states";
  s += ", the ergotropy's workspace of " + format_bytes(ergotropy_bytes);
  if (over_budget) s += ", the fewest this gradient can do with";
  return s;
}

LossEvaluation evaluate_loss(const CollisionModel& model, const Schedule& schedule,
                             const FigureOfMerit& merit, const GradientOptions& options) {
  LossEvaluator ev(options);
  return ev(model, schedule, merit);
}

}  // namespace qbopt

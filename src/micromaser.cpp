#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <qbopt/micromaser.hpp>
#include <qbopt/models.hpp>
#include <stdexcept>
#include <string>

#include "detail/flush_denormals.hpp"
#include "detail/simd.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace qbopt {

namespace {

// The eight stencil weights of column n in the forward map (docs/physics.md section 3):
// r'_mn = C_m (w0 r_mn + w1 r_m,n-1) + C_m+1 (w2 r_mn + w3 r_m,n+1)
//       + S_m (w4 r_m-1,n-1 + w5 r_m-1,n) + S_m+1 (w6 r_m+1,n+1 + w7 r_m+1,n)
struct Weights {
  double w[8];
};

Weights forward_weights(const double* C, const double* S, int n, double q, double kappa) {
  return {{q * C[n], kappa * S[n], (1 - q) * C[n + 1], -kappa * S[n + 1], (1 - q) * S[n],
           kappa * C[n], q * S[n + 1], -kappa * C[n + 1]}};
}

// Column n, rows m = n .. n+len-1 of the forward stencil with vectors (Cv, Sv) in m and
// weights w; X points at element (0, 0) of a State buffer with leading dimension ld.
// out[i] (+)= value at row n+i.
template <bool Accumulate>
inline void forward_column(const double* __restrict Cv, const double* __restrict Sv,
                           const Weights& W, const double* __restrict X, int ld, int n, int len,
                           double* __restrict out) {
  const double* x0 = X + n + n * ld;  // (m, n) with m = n + i
  const double* xl = x0 - ld;         // (m, n-1)
  const double* xr = x0 + ld;         // (m, n+1)
  const double* cm = Cv + n;
  const double* sm = Sv + n;
  const double* w = W.w;
#pragma GCC ivdep
  for (int i = 0; i < len; ++i) {
    double v = cm[i] * (w[0] * x0[i] + w[1] * xl[i]) + cm[i + 1] * (w[2] * x0[i] + w[3] * xr[i]) +
               sm[i] * (w[4] * xl[i - 1] + w[5] * x0[i - 1]) +
               sm[i + 1] * (w[6] * xr[i + 1] + w[7] * x0[i + 1]);
    if constexpr (Accumulate)
      out[i] += v;
    else
      out[i] = v;
  }
}

// Rows from m0 on up to the first whose element starts an aligned vector, a 64-byte line with
// AVX-512 and half of one with AVX2 (row m: m + 1 a multiple of kLanes in every State column
// and in the C, S tables; State::leading_dimension).
inline int aligned_start(int m0) {
  return (detail::kLanes - (m0 + 1) % detail::kLanes) % detail::kLanes;
}

// The vectors of kLanes rows that cover rows 0 .. len-1 (len >= kLanes) of a column pair:
// a, b, c, d point at row 0 of the columns n-1 .. n+2 (State layout), cm, sm at the
// coefficients of row 0. For each vector it calls body(i, mask, ci, ci1, si, si1, a0, am, b0,
// bm, bp, c0, cm_, cp, d0, dp): rows i .. i+kLanes-1 of the coefficients at rows i, i+1 and of
// the columns at rows i (a0, b0, c0, d0), i-1 (am, bm, cm_) and i+1 (bp, cp, dp); mask is 1 on
// the rows no earlier vector covered and 0 on the others (outputs written twice get the same
// values; sums must count a row once). One unaligned vector first, then vectors from the first
// row that starts a vector-aligned address in every column and in C, S (aligned_start); while
// a next vector exists and a shift is cheap, the rows i-1, i+1 come from the neighbouring
// vectors in registers (row_before/row_after) instead of loads straddling two lines; the last
// rows as one more vector ending on row len-1. Each load is kept in a register (detail::pin).
//
// With two vectors per 64-byte line (AVX2), a load of rows i+1 .. i+4 stays within one line
// when row i starts a line, and a load of rows i-1 .. i+2 when row i is mid-line: the vectors
// go in pairs, the first taking rows i+1 from loads and rows i-1 from shifts, the second the
// other way round, four cross-lane shifts per vector instead of eight. An AVX2 shift is two
// instructions, and the cross-lane one runs on an FMA pipe on Zen 2/3 and on the one shuffle
// port of Intel cores. llvm-mca on the compiled loops: forward 23.4 -> 21.1 cycles per
// vector on Zen 3, 16.1 -> 13.7 on Skylake; pullback 33.2 -> 30.1 and 23.2 -> 19.6. Measured
// on Zen 5 (x86-64-v3 build, which has shuffles to spare): pullback 5-10% faster, the forward
// 3% slower.
template <class Body>
inline void column_pair_vectors(const double* a, const double* b, const double* c,
                                const double* d, const double* cm, const double* sm, int m0,
                                int len, Body&& body) {
  using detail::broadcast;
  using detail::load;
  using detail::pin;
  using detail::Vec;
  constexpr int L = detail::kLanes;
  auto rows = [&](int i, Vec mask) {
    body(i, mask, pin(load(cm + i)), pin(load(cm + i + 1)), pin(load(sm + i)),
         pin(load(sm + i + 1)), pin(load(a + i)), pin(load(a + i - 1)), pin(load(b + i)),
         pin(load(b + i - 1)), pin(load(b + i + 1)), pin(load(c + i)), pin(load(c + i - 1)),
         pin(load(c + i + 1)), pin(load(d + i)), pin(load(d + i + 1)));
  };
  const Vec all = broadcast(1.0);
  int i = aligned_start(m0);
  if (i > 0) {
    Vec head{};
    for (int j = 0; j < L; ++j) head[j] = j < i ? 1.0 : 0.0;
    rows(0, head);
  }
  if constexpr (detail::kCheapShift) {
    if (i + 2 * L <= len) {
      using detail::row_after;
      using detail::row_before;
      // Carried: the vectors before row i (only their last row is used) and at row i.
      Vec ap = broadcast(a[i - 1]), bp = broadcast(b[i - 1]), cp = broadcast(c[i - 1]);
      Vec b0 = load(b + i), c0 = load(c + i), d0 = load(d + i), ci = load(cm + i),
          si = load(sm + i);
      // One vector at row i, rows i-1 and i+1 both from shifts.
      auto shifted = [&] {
        const Vec a0 = pin(load(a + i));
        const Vec b1 = pin(load(b + i + L)), c1 = pin(load(c + i + L)),
                  d1 = pin(load(d + i + L)), ci_n = pin(load(cm + i + L)),
                  si_n = pin(load(sm + i + L));
        body(i, all, ci, row_after(ci, ci_n), si, row_after(si, si_n), a0, row_before(ap, a0), b0,
             row_before(bp, b0), row_after(b0, b1), c0, row_before(cp, c0), row_after(c0, c1), d0,
             row_after(d0, d1));
        ap = a0, bp = b0, cp = c0, b0 = b1, c0 = c1, d0 = d1, ci = ci_n, si = si_n;
        i += L;
      };
      if constexpr (2 * L == detail::kLineDoubles) {
        if ((m0 + i + 1) % detail::kLineDoubles != 0) shifted();  // on to a line start
        for (; i + 3 * L <= len; i += 2 * L) {
          // Row i starts a line: rows i+1 from loads within it, rows i-1 from shifts.
          const Vec a0 = pin(load(a + i));
          body(i, all, ci, pin(load(cm + i + 1)), si, pin(load(sm + i + 1)), a0,
               row_before(ap, a0), b0, row_before(bp, b0), pin(load(b + i + 1)), c0,
               row_before(cp, c0), pin(load(c + i + 1)), d0, pin(load(d + i + 1)));
          // Row j = i+L is mid-line: rows j-1 from loads, rows j+1 from shifts.
          const int j = i + L;
          const Vec a1 = pin(load(a + j)), b1 = pin(load(b + j)), c1 = pin(load(c + j)),
                    d1 = pin(load(d + j)), cj = pin(load(cm + j)), sj = pin(load(sm + j));
          const Vec b2 = pin(load(b + j + L)), c2 = pin(load(c + j + L)),
                    d2 = pin(load(d + j + L)), cj2 = pin(load(cm + j + L)),
                    sj2 = pin(load(sm + j + L));
          body(j, all, cj, row_after(cj, cj2), sj, row_after(sj, sj2), a1, pin(load(a + j - 1)),
               b1, pin(load(b + j - 1)), row_after(b1, b2), c1, pin(load(c + j - 1)),
               row_after(c1, c2), d1, row_after(d1, d2));
          ap = a1, bp = b1, cp = c1, b0 = b2, c0 = c2, d0 = d2, ci = cj2, si = sj2;
        }
      }
      while (i + 2 * L <= len) shifted();
    }
  }
  for (; i + L <= len; i += L) rows(i, all);
  if (i < len) {
    Vec tail{};  // rows len-L .. i-1 are done already
    for (int j = 0; j < L; ++j) tail[j] = j >= L - (len - i) ? 1.0 : 0.0;
    rows(len - L, tail);
  }
}

// Columns n and n+1 together, rows m = n+1 .. n+len: the two share their coefficient and
// column loads (14 loads for two outputs instead of 22): explicit vectors of kLanes rows
// (column_pair_vectors), or one row at a time for columns shorter than a vector.
inline void forward_column_pair(const double* __restrict C, const double* __restrict S,
                                const Weights& W, const Weights& V, const double* __restrict X,
                                int ld, int n, int len, double* __restrict out_n,
                                double* __restrict out_n1) {
  using detail::broadcast;
  using detail::load;
  using detail::pin;
  using detail::Vec;
  const int m0 = n + 1;
  const double* a = X + m0 + (n - 1) * ld;  // column n-1 at row m0
  const double* b = X + m0 + n * ld;        // column n
  const double* c = X + m0 + (n + 1) * ld;  // column n+1
  const double* d = X + m0 + (n + 2) * ld;  // column n+2
  const double* cm = C + m0;
  const double* sm = S + m0;
  const double* w = W.w;
  const double* v = V.w;
  const Vec w0 = broadcast(w[0]), w1 = broadcast(w[1]), w2 = broadcast(w[2]),
            w3 = broadcast(w[3]), w4 = broadcast(w[4]), w5 = broadcast(w[5]),
            w6 = broadcast(w[6]), w7 = broadcast(w[7]);
  // Column n+1's v1 = kappa S_n+1 and v5 = kappa C_n+1 are -w3 and -w7 (forward_weights):
  // fourteen weights in registers, not sixteen (exact: a negation).
  const Vec v0 = broadcast(v[0]), v2 = broadcast(v[2]), v3 = broadcast(v[3]),
            v4 = broadcast(v[4]), v6 = broadcast(v[6]), v7 = broadcast(v[7]);
  if (len >= detail::kLanes) {
    column_pair_vectors(a, b, c, d, cm, sm, m0, len,
                        [&](int i, Vec, Vec ci, Vec ci1, Vec si, Vec si1, Vec a0, Vec am, Vec b0,
                            Vec bm, Vec bp, Vec c0, Vec cmn, Vec cp, Vec d0, Vec dp) {
                          detail::store(out_n + i, ci * (w0 * b0 + w1 * a0) +
                                                       ci1 * (w2 * b0 + w3 * c0) +
                                                       si * (w4 * am + w5 * bm) +
                                                       si1 * (w6 * cp + w7 * bp));
                          detail::store(out_n1 + i, ci * (v0 * c0 - w3 * b0) +
                                                        ci1 * (v2 * c0 + v3 * d0) +
                                                        si * (v4 * bm - w7 * cmn) +
                                                        si1 * (v6 * dp + v7 * cp));
                        });
    return;
  }
  for (int i = 0; i < len; ++i) {
    const double b0 = b[i], bm = b[i - 1], bp = b[i + 1];
    const double c0 = c[i], cmn = c[i - 1], cp = c[i + 1];
    const double ci = cm[i], ci1 = cm[i + 1], si = sm[i], si1 = sm[i + 1];
    out_n[i] = ci * (w[0] * b0 + w[1] * a[i]) + ci1 * (w[2] * b0 + w[3] * c0) +
               si * (w[4] * a[i - 1] + w[5] * bm) + si1 * (w[6] * cp + w[7] * bp);
    out_n1[i] = ci * (v[0] * c0 + v[1] * b0) + ci1 * (v[2] * c0 + v[3] * d[i]) +
                si * (v[4] * bm + v[5] * cmn) + si1 * (v[6] * d[i + 1] + v[7] * cp);
  }
}

// Columns [n0, n1) of the forward map (n0 even), rows n .. T of column n: pairs (n, n+1)
// sharing their loads, the diagonal element of each pair's first column on its own, and a
// last unpaired column n = T (only its diagonal element) when T is even.
//
// Arithmetic per element of the lower triangle: 12 multiply/FMA (8 weight products, 4 by the
// row vectors C_m, C_m+1, S_m, S_m+1); 7 loads (14 per pair of columns) and 1 store. With two
// FMA pipes and two vector loads per cycle (AMD Zen 2-5, Intel since Skylake-X), W doubles
// per vector, the bound is 12 / (2 W) cycles per element: 0.75 with AVX-512 (W = 8), 1.5 with
// AVX2 (W = 4); the loads alone need 7 / (2 W), less. bench/bench_collision.cpp reports both.
void forward_columns(const double* C, const double* S, double q, double kappa, const double* X,
                     int ld, int T, int n0, int n1, double* Y) {
  int n = n0;
  for (; n + 1 < n1; n += 2) {
    const Weights w = forward_weights(C, S, n, q, kappa);
    const Weights v = forward_weights(C, S, n + 1, q, kappa);
    forward_column<false>(C, S, w, X, ld, n, 1, Y + n + n * ld);  // diagonal element (n, n)
    forward_column_pair(C, S, w, v, X, ld, n, T - n, Y + (n + 1) + n * ld,
                        Y + (n + 1) + (n + 1) * ld);
  }
  if (n < n1)  // n == T
    forward_column<false>(C, S, forward_weights(C, S, n, q, kappa), X, ld, n, 1, Y + n + n * ld);
}

// The column weights of the transposed map on columns n, n+1: C_n, C_n+1, C_n+2, S_n, S_n+1,
// S_n+2 (scalars, or broadcast in vectors).
template <class T>
struct Coefficients {
  T Cn, Cn1, Cn2, Sn, Sn1, Sn2;
};
template <class T>
struct TransposedPair {
  T tB, tD, tK, uB, uD, uK;  // B^T L, (A - B)^T L, K^T L on column n (t) and n+1 (u)
};

// The terms of Phi^T(L) at one row (or kLanes rows) of columns n, n+1, from the coefficients
// at rows m, m+1 and the columns n-1 .. n+2 of L at rows m (a0 .. d0), m-1 (am, bm, cm_) and
// m+1 (bp, cp, dp): the twelve row products shared by both columns, then the three terms of
// each (formulas below).
template <class T>
inline TransposedPair<T> transposed_pair(const Coefficients<T>& k, T ci, T ci1, T si, T si1, T a0,
                                         T am, T b0, T bm, T bp, T c0, T cm_, T cp, T d0, T dp) {
  const T pcb = ci * b0, pcc = ci * c0, pcd = ci * d0;
  const T pc1a = ci1 * a0, pc1b = ci1 * b0, pc1c = ci1 * c0;
  const T psa = si * am, psb = si * bm, psc = si * cm_;
  const T ps1b = si1 * bp, ps1c = si1 * cp, ps1d = si1 * dp;
  TransposedPair<T> t;
  t.tB = k.Cn1 * pc1b + k.Sn1 * ps1c;
  t.tD = k.Cn * pcb + (k.Sn * psa - t.tB);  // two FMAs
  t.tK = k.Sn1 * pcc - k.Sn * pc1a + k.Cn * ps1b - k.Cn1 * psb;
  t.uB = k.Cn2 * pc1c + k.Sn2 * ps1d;
  t.uD = k.Cn1 * pcc + (k.Sn1 * psb - t.uB);
  t.uK = k.Sn2 * pcd - k.Sn1 * pc1b + k.Cn1 * ps1c - k.Cn2 * psc;
  return t;
}

// The transposed map on columns n and n+1, rows m = n+1 .. n+len (docs/physics.md section 4):
//   Phi^T(L) = q A^T L + (1-q) B^T L + kappa K^T L, for m >= n
//   A^T L = C_m C_n L_mn + S_m S_n L_m-1,n-1      B^T L = C_m+1 C_n+1 L_mn + S_m+1 S_n+1 L_m+1,n+1
//   K^T L = C_m S_n+1 L_m,n+1 - C_m+1 S_n L_m,n-1 + C_n S_m+1 L_m+1,n - C_n+1 S_m L_m-1,n
// into out_n, out_n1, and the sums over these rows of ((A - B)^T L) r and (K^T L) r into D, K
// (the q and c derivatives of <L, Phi(r)>): the vectors' terms into accD, accK, summed once per
// pullback, not per pair. The two columns share their loads and six of the
// twelve row-vector products; B^T L is formed once and reused (Phi^T L = B + q (A - B) +
// kappa K): 18 multiply/FMA per element against the forward map's 12. The last rows are one
// more vector ending on row len-1 whose rows already done are masked out of the sums.
inline void pullback_column_pair(const double* __restrict C, const double* __restrict S, double q,
                                 double kappa, const double* __restrict X,
                                 const double* __restrict R, int ld, int n, int len,
                                 double* __restrict out_n, double* __restrict out_n1, double& D,
                                 double& K, detail::Vec& accD, detail::Vec& accK) {
  using detail::broadcast;
  using detail::load;
  using detail::pin;
  using detail::Vec;
  const int m0 = n + 1;
  const double* a = X + m0 + (n - 1) * ld;  // L columns n-1 .. n+2 at row m0
  const double* b = X + m0 + n * ld;
  const double* c = X + m0 + (n + 1) * ld;
  const double* d = X + m0 + (n + 2) * ld;
  const double* r0 = R + m0 + n * ld;  // r columns n, n+1
  const double* r1 = R + m0 + (n + 1) * ld;
  const double* cm = C + m0;
  const double* sm = S + m0;
  const double Cn = C[n], Cn1 = C[n + 1], Cn2 = C[n + 2];
  const double Sn = S[n], Sn1 = S[n + 1], Sn2 = S[n + 2];
  if (len < detail::kLanes) {
    const Coefficients<double> k{Cn, Cn1, Cn2, Sn, Sn1, Sn2};
    for (int i = 0; i < len; ++i) {
      const auto t = transposed_pair(k, cm[i], cm[i + 1], sm[i], sm[i + 1], a[i], a[i - 1], b[i],
                                     b[i - 1], b[i + 1], c[i], c[i - 1], c[i + 1], d[i], d[i + 1]);
      out_n[i] = t.tB + q * t.tD + kappa * t.tK;
      out_n1[i] = t.uB + q * t.uD + kappa * t.uK;
      D += t.tD * r0[i] + t.uD * r1[i];
      K += t.tK * r0[i] + t.uK * r1[i];
    }
    return;
  }
  const Coefficients<Vec> k{broadcast(Cn),  broadcast(Cn1), broadcast(Cn2),
                            broadcast(Sn),  broadcast(Sn1), broadcast(Sn2)};
  const Vec vq = broadcast(q), vk = broadcast(kappa);
  // Rows i .. i+kLanes-1 (column_pair_vectors); mask keeps rows two vectors cover out of the
  // sums once.
  column_pair_vectors(a, b, c, d, cm, sm, m0, len,
                      [&](int i, Vec mask, Vec ci, Vec ci1, Vec si, Vec si1, Vec a0, Vec am,
                          Vec b0, Vec bm, Vec bp, Vec c0, Vec cm_, Vec cp, Vec d0, Vec dp) {
                        const auto t = transposed_pair(k, ci, ci1, si, si1, a0, am, b0, bm, bp,
                                                       c0, cm_, cp, d0, dp);
                        detail::store(out_n + i, t.tB + vq * t.tD + vk * t.tK);
                        detail::store(out_n1 + i, t.uB + vq * t.uD + vk * t.uK);
                        const Vec w0 = load(r0 + i) * mask, w1 = load(r1 + i) * mask;
                        accD = t.uD * w1 + (t.tD * w0 + accD);  // two FMAs, no add
                        accK = t.uK * w1 + (t.tK * w0 + accK);
                      });
}

// First column of part t of nt of the columns 0..T, cut so that the parts hold equal numbers
// of lower-triangle elements (column n holds T+1-n) and start on even columns (whole pairs).
int column_split(int T, int t, int nt) {
  if (t <= 0) return 0;
  if (t >= nt) return T + 1;
  const double total = 0.5 * (T + 1.0) * (T + 2.0);
  const double target = total * t / nt;
  double done = 0;
  int n = 0;
  while (n <= T && done + (T + 1 - n) <= target) done += T + 1 - n++;
  return std::min(T + 1, n + (n & 1));
}

// Threads that may share one collision on levels 0..T: several only for a large triangle,
// outside any parallel region (multi-start optimization, the gradient pipeline and sweep tasks
// run their own threads; a sweep worker's omp_get_max_threads() is its share of the cores,
// which keeps MPI ranks from oversubscribing), and with at least kMinElementsPerThread each.
// Below 2 kMinElementsPerThread (N ~ 400) the fork/join alone costs more than half the
// collision; above it whether the split pays is measured (run_collision).
constexpr long kMinElementsPerThread = 40000;

int collision_threads(int T) {
#ifdef _OPENMP
  if (omp_in_parallel()) return 1;
  const long elements = static_cast<long>(T + 1) * (T + 2) / 2;
  if (elements < 2 * kMinElementsPerThread) return 1;
  return static_cast<int>(std::min<long>(omp_get_max_threads(), elements / kMinElementsPerThread));
#else
  (void)T;
  return 1;
#endif
}

// Runs one collision of `elements` stored elements serially or split over `threads`,
// whichever is faster here. Decided per size class (power of two of the element count) and
// team size by timing both ways at the first such collision (best of two each; the split must
// be 20% faster), and decided again whenever a split collision takes longer than 1.5 times the
// serial time measured: a machine shared with other jobs makes the split far slower (measured
// on 2 busy vCPUs: 5-20x at N = 400-1500, a barrier waits for a descheduled thread), hence
// measurements rather than a fixed size. QBOPT_COLLISION_SPLIT=on / off skips them.
template <class Serial, class Split>
void run_collision(long elements, int threads, Serial&& serial, Split&& split) {
  if (threads <= 1) return serial();
  if (const char* env = std::getenv("QBOPT_COLLISION_SPLIT")) {
    if (std::strcmp(env, "on") == 0) return split();
    if (std::strcmp(env, "off") == 0) return serial();
  }
  // Per class and team size: 0 unknown, 1 serial, 2 split; the serial time measured.
  static std::atomic<int> decision[64][4];
  static std::atomic<double> serial_seconds[64][4];
  const int size_class = std::min(63, static_cast<int>(std::log2(static_cast<double>(elements))));
  const int team = std::min(threads, 5) - 2;
  std::atomic<int>& d = decision[size_class][team];
  using clock = std::chrono::steady_clock;
  auto seconds = [](auto&& run) {
    const auto t0 = clock::now();
    run();
    return std::chrono::duration<double>(clock::now() - t0).count();
  };
  switch (d.load(std::memory_order_relaxed)) {
    case 1:
      return serial();
    case 2:
      if (seconds(split) > 1.5 * serial_seconds[size_class][team].load(std::memory_order_relaxed))
        d.store(0, std::memory_order_relaxed);  // slower than expected: measure again next time
      return;
    default: {
      const double t_serial = std::min(seconds(serial), seconds(serial));
      const double t_split = std::min(seconds(split), seconds(split));
      serial_seconds[size_class][team].store(t_serial, std::memory_order_relaxed);
      d.store(t_split < 0.8 * t_serial ? 2 : 1, std::memory_order_relaxed);
      return;  // the output holds the collision (every run writes the same values)
    }
  }
}

// Frobenius product over a full symmetric matrix from one lower column segment starting on
// the diagonal: off-diagonal elements count twice.
// Two vector accumulators: a single running sum waits on each add (4 cycles per element).
inline double column_dot(const double* a, const double* b, int len) {
  using detail::load;
  using detail::Vec;
  constexpr int L = detail::kLanes;
  Vec s0{}, s1{};
  int i = 0;
  for (; i + 2 * L <= len; i += 2 * L) {
    s0 += load(a + i) * load(b + i);
    s1 += load(a + i + L) * load(b + i + L);
  }
  for (; i + L <= len; i += L) s0 += load(a + i) * load(b + i);
  s0 += s1;
  double s = 0;
  for (int j = 0; j < L; ++j) s += s0[j];
  for (; i < len; ++i) s += a[i] * b[i];
  return 2 * s - a[0] * b[0];
}

}  // namespace

void Micromaser::Tables::fill(double coupling, int N) {
  g = coupling;
  // Padded by one at the front so that index n = -1 exists (S_-1 is never used with a
  // non-zero neighbour; it is 0) and up to n = N+1. A refill at the same N (a batch with its
  // own g, tables_for) keeps the buffers: index 0 is never written.
  if (C.size() != static_cast<std::size_t>(N + 3)) {
    C = ZeroedBuffer(N + 3);
    S = ZeroedBuffer(N + 3);
    dC = ZeroedBuffer(N + 3);
    dS = ZeroedBuffer(N + 3);
  }
  double *c = C.data() + 1, *s = S.data() + 1, *dc = dC.data() + 1, *ds = dS.data() + 1;
  for (int n = 0; n <= N + 1; ++n) {
    const double root = std::sqrt(static_cast<double>(n));
    c[n] = std::cos(g * root);
    s[n] = std::sin(g * root);
    dc[n] = -root * s[n];
    ds[n] = root * c[n];
  }
}

Micromaser::Micromaser(double g, int N) : N_(N) {
  if (!std::isfinite(g)) throw std::invalid_argument("g must be finite, got " + format_number(g));
  if (N < 2 || N > kMaxLevels)
    throw std::invalid_argument("N must be in [2, 5000], got " + std::to_string(N));
  tables_.fill(g, N);
}

const Micromaser::Tables& Micromaser::tables_for(const Qubit& qubit) const {
  if (!qubit.carries(kControlG) || qubit.extra[kControlG - 2] == tables_.g) return tables_;
  // A batch with its own g: O(N) trigonometry, cached per thread for consecutive collisions
  // of the same batch (apply and pullback may run on two threads at once).
  thread_local Tables cache;
  const double g = qubit.extra[kControlG - 2];
  if (cache.g != g || cache.C.size() != static_cast<std::size_t>(N_ + 3)) cache.fill(g, N_);
  return cache;
}

const std::vector<ParameterSpec>& Micromaser::control_specs() {
  static const std::vector<ParameterSpec> specs = {
      {"c", 0.5, 0.0, 1.0, "coherence of the charger qubit, Eq. (2)"},
      {"q", 0.2, 0.0, 1.0, "ground-state population of the charger qubit, Eq. (2)"},
      {"g", kPaperCoupling, -100.0, 100.0,
       "the batch's own coupling (g tau, rad); without it the model's g", {}, true},
  };
  return specs;
}

const ModelSpec& Micromaser::model_spec() {
  static const ModelSpec spec = {
      "micromaser",
      "lossless cavity charged by Jaynes-Cummings collisions (the seed paper)",
      control_specs(),
      {{"g", kPaperCoupling, -100.0, 100.0,
        "coupling g tau (rad) of every qubit without its own g; default pi/sqrt(15.6)"}},
  };
  return spec;
}

ModelEntry micromaser_entry() {
  return {Micromaser::model_spec(), [](int N, const std::vector<double>& v) {
            return std::unique_ptr<CollisionModel>(std::make_unique<Micromaser>(v[0], N));
          }};
}

void Micromaser::apply(const Qubit& qubit, const State& in, State& out) const {
  if (in.dim() != N_ || out.dim() != N_)
    throw std::invalid_argument("state dimension does not match the model's N");
  detail::FlushDenormals ftz;
  const int T = std::min(in.top() + 1, N_ - 1);
  const double q = qubit.q, kappa = qubit.kappa();
  const bool diag = in.diagonal() && kappa == 0.0;
  // Entries beyond what this call writes must be zero in `out`.
  if (out.top() > T || (diag && !out.diagonal())) out.clear();
  const Tables& tab = tables_for(qubit);
  const double* C = tab.C.data() + 1;  // C[n] = C_n, valid for n = -1 .. N+1
  const double* S = tab.S.data() + 1;
  const int ld = in.ld();
  const double* X = in.data() + 1 + ld;  // element (0, 0)
  double* Y = out.data() + 1 + ld;
  if (diag) {
    // c = 0 on a diagonal state: the map keeps it diagonal, O(N).
    for (int m = 0; m <= T; ++m) {
      const double xm = X[m + m * ld];
      const double xd = m > 0 ? X[(m - 1) * (ld + 1)] : 0.0;
      const double xu = X[(m + 1) * (ld + 1)];
      Y[m * (ld + 1)] = (q * C[m] * C[m] + (1 - q) * C[m + 1] * C[m + 1]) * xm +
                        (1 - q) * S[m] * S[m] * xd + q * S[m + 1] * S[m + 1] * xu;
    }
  } else {
    auto serial = [&] { forward_columns(C, S, q, kappa, X, ld, T, 0, T + 1, Y); };
    // One collision split over the team: contiguous column ranges of equal work, each
    // computed exactly as on one thread (same pairs), so the result is bit-identical.
    const int threads = collision_threads(T);
    auto split = [&] {
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
      {
        detail::FlushDenormals ftz_worker;  // MXCSR is per thread
        const int t = omp_get_thread_num(), nt = omp_get_num_threads();
        forward_columns(C, S, q, kappa, X, ld, T, column_split(T, t, nt),
                        column_split(T, t + 1, nt), Y);
      }
#endif
    };
    run_collision(static_cast<long>(T + 1) * (T + 2) / 2, threads, serial, split);
  }
  out.set_top(T);
  out.set_diagonal(diag);
  out.mirror_superdiagonal();
}

void Micromaser::apply_transpose(const Qubit& qubit, const State& lambda, State& out,
                                 int top) const {
  State r = State::zeros(N_);
  r.set_top(top);
  r.set_diagonal(false);
  double d[kMaxControls] = {};
  pullback(qubit, r, lambda, out, PullbackRequest{0, false}, d, nullptr);
}

void Micromaser::pullback(const Qubit& qubit, const State& r, const State& lambda_in,
                          State& lambda_out, const PullbackRequest& request, double* d_controls,
                          double* /*d_params: g, the only global, is the fallback of control g*/)
    const {
  if (r.dim() != N_ || lambda_in.dim() != N_ || lambda_out.dim() != N_)
    throw std::invalid_argument("state dimension does not match the model's N");
  detail::FlushDenormals ftz;
  const int T = r.top();
  // A diagonal r only pairs with the diagonal of the adjoint, but the c-derivative and the
  // next step need its first off-diagonal too: keep bands 0 and 1.
  const int band = r.diagonal() ? 1 : N_;
  const double q = qubit.q, kappa = qubit.kappa();
  const Tables& tab = tables_for(qubit);
  const double* C = tab.C.data() + 1;
  const double* S = tab.S.data() + 1;
  const int ld = r.ld();
  const double* X = lambda_in.data() + 1 + ld;
  const double* R = r.data() + 1 + ld;
  double* Y = lambda_out.data() + 1 + ld;
  double dA = 0, dB = 0, dK = 0;
  // Phi^T(L) = q A^T L + (1-q) B^T L + kappa K^T L, elementwise for m >= n:
  //   A^T L = C_m C_n L_mn + S_m S_n L_m-1,n-1
  //   B^T L = C_m+1 C_n+1 L_mn + S_m+1 S_n+1 L_m+1,n+1
  //   K^T L = C_m S_n+1 L_m,n+1 - C_m+1 S_n L_m,n-1 + C_n S_m+1 L_m+1,n - C_n+1 S_m L_m-1,n
  // and <L, A r> = <A^T L, r> etc. give the parameter derivatives in the same pass.
  // Column n, rows n .. n+len-1 (the first on the diagonal).
  // A^T L, B^T L and K^T L at element (n+i, n) (the formulas above).
  struct Terms {
    double A, B, K;
  };
  auto terms = [&](int n, int i) -> Terms {
    const double* x0 = X + n + n * ld;
    const double* xl = x0 - ld;
    const double* xr = x0 + ld;
    const double* cm = C + n;
    const double* sm = S + n;
    const double Cn = C[n], Cn1 = C[n + 1], Sn = S[n], Sn1 = S[n + 1];
    return {cm[i] * Cn * x0[i] + sm[i] * Sn * xl[i - 1],
            cm[i + 1] * Cn1 * x0[i] + sm[i + 1] * Sn1 * xr[i + 1],
            cm[i] * Sn1 * xr[i] - cm[i + 1] * Sn * xl[i] + Cn * sm[i + 1] * x0[i + 1] -
                Cn1 * sm[i] * x0[i - 1]};
  };
  auto single = [&](int n, int len) {
    const double* rr = R + n + n * ld;
    double* y = Y + n + n * ld;
    double a = 0, b = 0, k = 0;
#pragma omp simd reduction(+ : a, b, k)
    for (int i = 0; i < len; ++i) {
      const Terms t = terms(n, i);
      y[i] = q * t.A + (1 - q) * t.B + kappa * t.K;
      a += t.A * rr[i];
      b += t.B * rr[i];
      k += t.K * rr[i];
    }
    // Symmetric matrices: off-diagonal elements count twice, the diagonal one once.
    const Terms t0 = terms(n, 0);
    dA += 2 * a - t0.A * rr[0];
    dB += 2 * b - t0.B * rr[0];
    dK += 2 * k - t0.K * rr[0];
  };
  // The diagonal element (n, n): single(n, 1) without its loop and reductions (they cost 13%
  // of a pullback at N = 150 when run once per column pair).
  auto diagonal = [&](int n) {
    const Terms t = terms(n, 0);
    Y[n + n * ld] = q * t.A + (1 - q) * t.B + kappa * t.K;
    const double r = R[n + n * ld];
    dA += t.A * r;
    dB += t.B * r;
    dK += t.K * r;
  };
  // Columns n and n+1 together on rows n+1 .. T (pullback_column_pair), then the diagonal
  // element of column n+1, which counts once in the symmetric products.
  detail::Vec accD{}, accK{};  // the pairs' vector sums (into dA, dK at the end)
  auto pair = [&](int n) {
    const int m0 = n + 1;
    double D = 0, K = 0;
    pullback_column_pair(C, S, q, kappa, X, R, ld, n, T - n, Y + m0 + n * ld,
                         Y + m0 + (n + 1) * ld, D, K, accD, accK);
    const Terms u = terms(n + 1, 0);
    const double r11 = R[m0 + (n + 1) * ld];
    dA += 2 * D - (u.A - u.B) * r11;  // dA accumulates <(A - B)^T L, r> here (dB stays 0)
    dK += 2 * K - u.K * r11;
  };
  if (band < N_) {
    for (int n = 0; n <= T; ++n) single(n, std::min(T, n + band) - n + 1);
  } else {
    int n = 0;
    for (; n + 1 <= T; n += 2) {
      diagonal(n);
      pair(n);
    }
    if (n == T) diagonal(n);
  }
  for (int j = 0; j < detail::kLanes; ++j) {
    dA += 2 * accD[j];
    dK += 2 * accK[j];
  }
  lambda_out.set_top(T);
  lambda_out.set_diagonal(false);
  lambda_out.mirror_superdiagonal();

  const double s = std::sqrt(q * (1 - q));
  // d kappa / dq = c (1-2q) / (2 sqrt(q(1-q))) diverges at q in {0, 1} when c > 0; it is
  // evaluated 1e-10 inside the interval so the optimizer sees a large finite slope, not NaN.
  const double qc = std::clamp(q, 1e-10, 1 - 1e-10);
  const double dkappa_dq = qubit.c * (1 - 2 * qc) / (2 * std::sqrt(qc * (1 - qc)));
  d_controls[0] += s * dK;
  d_controls[1] += dA - dB + dkappa_dq * dK;
  if (request.controls & (1u << kControlG)) {
    // d/dg of Phi(r) by the product rule: the stencil with (dC, dS) in m, plus the stencil
    // with the g-derivatives of the column weights.
    const double* dC = tab.dC.data() + 1;
    const double* dS = tab.dS.data() + 1;
    const int rband = r.diagonal() ? 1 : N_;
    std::vector<double> scratch(N_ + 2);  // local: pullback may run beside apply on another thread
    double* tmp = scratch.data();
    double dg = 0;
    const int T1 = std::min(T + 1, N_ - 1);  // Phi(r) reaches one level above r
    for (int n = 0; n <= T1; ++n) {
      const int len = std::min(T1, n + rband) - n + 1;
      const Weights w = forward_weights(C, S, n, q, kappa);
      const Weights dw = {{q * dC[n], kappa * dS[n], (1 - q) * dC[n + 1], -kappa * dS[n + 1],
                           (1 - q) * dS[n], kappa * dC[n], q * dS[n + 1], -kappa * dC[n + 1]}};
      forward_column<false>(dC, dS, w, R, ld, n, len, tmp);
      forward_column<true>(C, S, dw, R, ld, n, len, tmp);
      dg += column_dot(tmp, X + n + n * ld, len);
    }
    d_controls[kControlG] += dg;
  }
}

}  // namespace qbopt

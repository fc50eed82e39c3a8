#include <algorithm>
#include <cmath>
#include <qbopt/damping.hpp>
#include <qbopt/parameter.hpp>
#include <stdexcept>
#include <string>

#include "detail/flush_denormals.hpp"

namespace qbopt {

// Layout reminder (state.hpp): element (m, n) of a State at X[m + n ld] with X = data() + 1 + ld,
// zero border around it. Element j of diagonal d is (j + d, j): column j, row j + d. So the
// tridiagonal recurrences along each diagonal (j -> j +- 1) become recurrences from column to
// column, and every column is a contiguous vector over all diagonals at once.

namespace {

// Poisson-tail bound on the truncated Taylor series of exp(tau L), relative to ||r||_1 (the
// shifted operator is bounded by its shift `a` in the 1-norm): below double rounding.
constexpr double kTaylorTolerance = 1e-16;
// Largest shift per sub-step: exp(tau L) = exp(tau L / s)^s with a/s <= 2 keeps the series
// short (about 17 terms) and the rounding of sign-mixed diagonals (amplified up to e^(a/s))
// near 10 ulp.
constexpr double kMaxShift = 2.0;

// Smallest K with e^-a sum_{k > K} a^k / k! < tol (the tail summed from the far end, so it is
// not lost to the rounding of 1 - sum).
int taylor_terms(double a, double tol) {
  constexpr int kMax = 200;
  std::vector<double> pmf(kMax + 1);
  pmf[0] = std::exp(-a);
  for (int k = 1; k <= kMax; ++k) pmf[k] = pmf[k - 1] * a / k;
  double tail = 0;
  for (int K = kMax; K >= 1; --K) {
    tail += pmf[K];
    if (tail >= tol) return K;
  }
  return 1;
}

// One stencil of a tridiagonal operator on every diagonal:
//   (S x)_mn = scale [(dm_m + dm_n + shift) x_mn + up s_m+1 s_n+1 x_m+1,n+1 + low s_m s_n x_m-1,n-1]
// with s_k = sqrt(k). tau L is up = kappa_tau (n_th + 1), low = kappa_tau n_th,
// dm_m = -kappa_tau ((2 n_th + 1) m + n_th) / 2; its transpose swaps up and low.
struct Stencil {
  const double* s;   // s[k] = sqrt(k), valid for k = -1 .. N+1
  const double* dm;  // dm[m], m = 0 .. N-1
  double up, low, shift, scale;
};

// Levels and diagonals a map works on: rows/columns 0..hi, diagonals 0..band-1.
struct Region {
  int hi, band;
  int rows_end(int n) const { return std::min(hi, n + band - 1); }
};

// out (=, or += when Accumulate) S x on the region.
template <bool Accumulate>
void apply_stencil(const Stencil& st, const State& x, State& out, const Region& reg) {
  const int ld = x.ld();
  const double* X = x.data() + 1 + ld;
  double* Y = out.data() + 1 + ld;
  const double* s = st.s;
  const double* dm = st.dm;
  for (int n = 0; n <= reg.hi; ++n) {
    const int m1 = reg.rows_end(n);
    const double* x0 = X + n * ld;
    const double* xr = X + (n + 1) * ld + 1;  // (m+1, n+1) at index m
    const double* xl = X + (n - 1) * ld - 1;  // (m-1, n-1) at index m
    double* y = Y + n * ld;
    const double dn = dm[n] + st.shift, up = st.up * s[n + 1], low = st.low * s[n],
                 sc = st.scale;
#pragma omp simd
    for (int m = n; m <= m1; ++m) {
      const double v = sc * ((dm[m] + dn) * x0[m] + up * s[m + 1] * xr[m] + low * s[m] * xl[m]);
      if constexpr (Accumulate)
        y[m] += v;
      else
        y[m] = v;
    }
  }
}

// One Taylor term: t1 = S t0 (S carries the 1/k) and acc += t1, in one pass over the columns.
void taylor_term(const Stencil& st, const State& t0, State& t1, State& acc, const Region& reg) {
  const int ld = t0.ld();
  const double* X = t0.data() + 1 + ld;
  double* Y = t1.data() + 1 + ld;
  double* A = acc.data() + 1 + ld;
  const double* __restrict s = st.s;
  const double* __restrict dm = st.dm;
  for (int n = 0; n <= reg.hi; ++n) {
    const int m1 = reg.rows_end(n);
    const double* __restrict x0 = X + n * ld;
    const double* __restrict xr = X + (n + 1) * ld + 1;
    const double* __restrict xl = X + (n - 1) * ld - 1;
    double* __restrict y = Y + n * ld;
    double* __restrict a = A + n * ld;
    const double dn = dm[n] + st.shift, up = st.up * s[n + 1] * st.scale,
                 low = st.low * s[n] * st.scale, sc = st.scale;
#pragma omp simd
    for (int m = n; m <= m1; ++m) {
      const double v = sc * (dm[m] + dn) * x0[m] + up * s[m + 1] * xr[m] + low * s[m] * xl[m];
      y[m] = v;
      a[m] += v;
    }
  }
}

// Frobenius product over the region (off-diagonal elements twice).
double region_inner(const State& a, const State& b, const Region& reg) {
  const int ld = a.ld();
  const double* A = a.data() + 1 + ld;
  const double* B = b.data() + 1 + ld;
  double diag = 0, off = 0;
  for (int n = 0; n <= reg.hi; ++n) {
    const int m1 = reg.rows_end(n);
    diag += A[n + n * ld] * B[n + n * ld];
#pragma omp simd reduction(+ : off)
    for (int m = n + 1; m <= m1; ++m) off += A[m + n * ld] * B[m + n * ld];
  }
  return diag + 2 * off;
}

// Prepares `out` to receive a map's values on the region: what lies outside must be zero.
void prepare(State& out, const Region& reg) {
  if (out.top() > reg.hi || (reg.band == 1 && !out.diagonal())) out.clear();
}

// Scratch states keep their top and diagonal flag up to date, so prepare() stays valid.
void mark(State& x, const Region& reg) {
  x.set_top(reg.hi);
  if (reg.band > 1) x.set_diagonal(false);
}

void finish(State& out, const Region& reg) {
  out.set_top(reg.hi);
  out.set_diagonal(reg.band == 1);
  out.mirror_superdiagonal();
}

void copy_region(const State& in, State& out, const Region& reg) {
  const int ld = in.ld();
  const double* X = in.data() + 1 + ld;
  double* Y = out.data() + 1 + ld;
  for (int n = 0; n <= reg.hi; ++n) {
    const int m1 = reg.rows_end(n);
    for (int m = n; m <= m1; ++m) Y[m + n * ld] = X[m + n * ld];
  }
}

void scale_region(State& x, double f, const Region& reg) {
  const int ld = x.ld();
  double* X = x.data() + 1 + ld;
  for (int n = 0; n <= reg.hi; ++n) {
    const int m1 = reg.rows_end(n);
#pragma omp simd
    for (int m = n; m <= m1; ++m) X[m + n * ld] *= f;
  }
}

// Per-thread scratch states (apply and pullback may run on two threads at once).
constexpr int kScratchSlots = 4;
static_assert(CavityDamping::kScratchStates == kScratchSlots + 3,
              "derivatives() holds three more states (u1, vacc, uacc)");
State& scratch(int slot, int N) {
  thread_local State s[kScratchSlots];
  if (s[slot].dim() != N) s[slot] = State::zeros(N);
  return s[slot];
}

// out = [e^-shift sum_{k <= terms} S^k / k!]^substeps in, with S = `st` (shift included,
// scale ignored), on the region.
void taylor_exponential(Stencil st, const State& in, State& out, const Region& reg, int substeps,
                        int terms) {
  State& t0 = scratch(0, in.dim());
  State& t1 = scratch(1, in.dim());
  const State* src = &in;
  for (int sub = 0; sub < substeps; ++sub) {
    prepare(t0, reg);
    prepare(t1, reg);
    mark(t0, reg);
    mark(t1, reg);
    copy_region(*src, t0, reg);
    if (src != &out) copy_region(*src, out, reg);
    for (int k = 1; k <= terms; ++k) {
      st.scale = 1.0 / k;
      taylor_term(st, t0, t1, out, reg);
      std::swap(t0, t1);
    }
    scale_region(out, std::exp(-st.shift), reg);
    src = &out;
  }
}

}  // namespace

CavityDamping::CavityDamping(int N, double kappa_tau, double n_th, Arrivals arrivals)
    : N_(N), kappa_tau_(kappa_tau), n_th_(n_th), arrivals_(arrivals) {
  if (N < 2) throw std::invalid_argument("N must be >= 2, got " + std::to_string(N));
  if (!(std::isfinite(kappa_tau) && kappa_tau >= 0))
    throw std::invalid_argument("kappa_tau must be a finite number >= 0, got " +
                                format_number(kappa_tau));
  if (!(std::isfinite(n_th) && n_th >= 0))
    throw std::invalid_argument("n_th must be a finite number >= 0, got " + format_number(n_th));
  sqrt_.assign(N + 3, 0.0);
  for (int k = 0; k <= N + 1; ++k) sqrt_[k + 1] = std::sqrt(static_cast<double>(k));
  alpha_.resize(N);
  for (int m = 0; m < N; ++m) alpha_[m] = -((2 * n_th + 1) * m + n_th) / 2;  // per unit kappa_tau
  if (identity()) return;
  const double* s = sqrt_.data() + 1;
  if (arrivals == Arrivals::regular) {
    // Shift a = the largest |diagonal| of tau L, so that tau L + a is non-negative on the
    // population diagonal and bounded by a in the 1-norm (uniformization).
    const double a = -kappa_tau * 2 * alpha_[N - 1];
    substeps_ = std::max(1, static_cast<int>(std::ceil(a / kMaxShift)));
    shift_ = a / substeps_;
    terms_ = taylor_terms(shift_, kTaylorTolerance);
    alpha_step_ = alpha_;
    for (double& x : alpha_step_) x *= kappa_tau / substeps_;
    return;
  }
  // Poisson: LU of 1 - tau L on every diagonal, d = m - n, j = n (no pivoting: the matrix is
  // column diagonally dominant, an M-matrix). p_j = a_j - l_j u_j-1 / p_j-1, stored as
  // forward_ = l_j / p_j-1 and pivot_ = 1 / p_j at element (m, n) of the State layout.
  forward_ = Eigen::MatrixXd::Zero(State::leading_dimension(N), N + 2);
  pivot_ = Eigen::MatrixXd::Zero(State::leading_dimension(N), N + 2);
  const double up = kappa_tau * (n_th + 1), low = kappa_tau * n_th;
  for (int d = 0; d < N; ++d) {
    double p_prev = 1, u_prev = 0;
    for (int j = 0; j + d < N; ++j) {
      const int m = j + d, n = j;
      const double a = 1 - kappa_tau * (alpha_[m] + alpha_[n]);
      const double l = j > 0 ? low * s[m] * s[n] : 0.0;
      const double p = a - (j > 0 ? l * u_prev / p_prev : 0.0);
      forward_(m + 1, n + 1) = j > 0 ? l / p_prev : 0.0;
      pivot_(m + 1, n + 1) = 1 / p;
      p_prev = p;
      u_prev = up * s[m + 1] * s[n + 1];
    }
  }
}

void CavityDamping::apply(const State& in, State& out) const {
  if (in.dim() != N_ || out.dim() != N_)
    throw std::invalid_argument("state dimension does not match the model's N");
  detail::FlushDenormals ftz;
  // Thermal photons reach every level; pure loss only moves probability down.
  const Region reg{n_th_ > 0 ? N_ - 1 : in.top(), in.diagonal() ? 1 : N_};
  prepare(out, reg);
  const double* s = sqrt_.data() + 1;
  const int ld = in.ld();
  if (identity()) {
    copy_region(in, out, reg);
  } else if (arrivals_ == Arrivals::poisson) {
    const double* X = in.data() + 1 + ld;
    double* Y = out.data() + 1 + ld;
    const double* F = forward_.data() + 1 + ld;
    const double* P = pivot_.data() + 1 + ld;
    const double up = kappa_tau_ * (n_th_ + 1);
    // Forward substitution z_mn = x_mn + F_mn z_m-1,n-1, column by column.
    for (int n = 0; n <= reg.hi; ++n) {
      const int m1 = reg.rows_end(n), c = n * ld;
#pragma omp simd
      for (int m = n; m <= m1; ++m) Y[m + c] = X[m + c] + F[m + c] * Y[m - 1 + c - ld];
    }
    // Back substitution y_mn = (z_mn + u_mn y_m+1,n+1) / p_mn, u_mn = up s_m+1 s_n+1.
    for (int n = reg.hi; n >= 0; --n) {
      const int m1 = reg.rows_end(n), c = n * ld;
      const double un = up * s[n + 1];
#pragma omp simd
      for (int m = n; m <= m1; ++m)
        Y[m + c] = P[m + c] * (Y[m + c] + un * s[m + 1] * Y[m + 1 + c + ld]);
    }
  } else {
    // exp(tau L) = [e^-a sum_k (tau L / s + a)^k / k!]^s.
    const double kt = kappa_tau_ / substeps_;
    taylor_exponential({s, alpha_step_.data(), kt * (n_th_ + 1), kt * n_th_, shift_, 1.0}, in, out,
                       reg, substeps_, terms_);
  }
  finish(out, reg);
}

void CavityDamping::apply_transpose(const State& lambda, State& out, int hi) const {
  if (lambda.dim() != N_ || out.dim() != N_)
    throw std::invalid_argument("state dimension does not match the model's N");
  detail::FlushDenormals ftz;
  // The transpose moves down with thermal photons only: with n_th = 0 levels 0..hi of the
  // result need levels 0..hi of lambda alone.
  const Region reg{n_th_ > 0 ? N_ - 1 : hi, N_};
  prepare(out, reg);
  const double* s = sqrt_.data() + 1;
  const int ld = lambda.ld();
  if (identity()) {
    copy_region(lambda, out, reg);
  } else if (arrivals_ == Arrivals::poisson) {
    const double* X = lambda.data() + 1 + ld;
    double* Y = out.data() + 1 + ld;
    const double* F = forward_.data() + 1 + ld;
    const double* P = pivot_.data() + 1 + ld;
    const double up = kappa_tau_ * (n_th_ + 1);
    // (LU)^T = U^T L^T: w_mn = (x_mn + u_m-1,n-1 w_m-1,n-1) / p_mn, u_m-1,n-1 = up s_m s_n ...
    for (int n = 0; n <= reg.hi; ++n) {
      const int m1 = reg.rows_end(n), c = n * ld;
      const double un = up * s[n];
#pragma omp simd
      for (int m = n; m <= m1; ++m)
        Y[m + c] = P[m + c] * (X[m + c] + un * s[m] * Y[m - 1 + c - ld]);
    }
    // ... then y_mn = w_mn + F_m+1,n+1 y_m+1,n+1.
    for (int n = reg.hi; n >= 0; --n) {
      const int m1 = reg.rows_end(n), c = n * ld;
#pragma omp simd
      for (int m = n; m <= m1; ++m) Y[m + c] += F[m + 1 + c + ld] * Y[m + 1 + c + ld];
    }
  } else {
    // exp(tau L)^T = exp(tau L^T): the same series with up and low swapped.
    const double kt = kappa_tau_ / substeps_;
    taylor_exponential({s, alpha_step_.data(), kt * n_th_, kt * (n_th_ + 1), shift_, 1.0}, lambda,
                       out, reg, substeps_, terms_);
  }
  finish(out, reg);
}

std::array<double, 2> CavityDamping::derivatives(const State& y, const State& z,
                                                 const State& lambda, const State& mu) const {
  detail::FlushDenormals ftz;
  const double* s = sqrt_.data() + 1;
  const Region full{N_ - 1, N_};
  const Region reg{N_ - 1, z.diagonal() ? 1 : N_};
  // Generators per unit kappa_tau: A = (n_th + 1) D[a] + n_th D[a^dag] (tau L = kappa_tau A)
  // and its n_th-derivative E = D[a] + D[a^dag] (diagonal -(m + n + 1)).
  std::vector<double> e(N_);
  for (int m = 0; m < N_; ++m) e[m] = -(m + 0.5);
  const Stencil gen_A{s, alpha_.data(), n_th_ + 1, n_th_, 0.0, 1.0};
  const Stencil gen_E{s, e.data(), 1.0, 1.0, 0.0, 1.0};
  State& w = scratch(2, N_);
  w.clear();
  mark(w, full);
  std::array<double, 2> d{0.0, 0.0};
  if (arrivals_ == Arrivals::poisson || identity()) {
    // R = (1 - tau L)^-1: dR = R (d tau L) R, so d<lambda, R y> = <R^T lambda, (d tau L) R y>
    // = <mu, (d tau L) z>: d tau L / d kappa_tau = A, d tau L / d n_th = kappa_tau E.
    // (At kappa_tau = 0 both maps are the identity and exp gives the same first order.)
    apply_stencil<false>(gen_A, z, w, reg);
    d[0] = region_inner(mu, w, reg);
    apply_stencil<false>(gen_E, z, w, reg);
    d[1] = kappa_tau_ * region_inner(mu, w, reg);
    return d;
  }
  // exp(kappa_tau A): A commutes with it, so d/d kappa_tau exp = A exp: <lambda, A z>.
  apply_stencil<false>(gen_A, z, w, reg);
  d[0] = region_inner(lambda, w, reg);
  // d/d n_th: the block-triangular identity exp([[B, F], [0, B]]) = [[e^B, D_F e^B], [0, e^B]]
  // run through the same shifted Taylor series and sub-steps, F = (kappa_tau / s) E.
  const double kt = kappa_tau_ / substeps_;
  const std::vector<double>& dm = alpha_step_;
  State& v0 = scratch(0, N_);
  State& v1 = scratch(1, N_);
  State& u0 = scratch(3, N_);
  State u1 = State::zeros(N_), vacc = State::zeros(N_), uacc = State::zeros(N_);
  for (State* x : {&v0, &v1, &u0, &u1, &vacc, &uacc}) {
    x->clear();
    mark(*x, full);
  }
  copy_region(y, vacc, full);
  const int K = terms_ + 2;  // the derivative's series converges one order later
  for (int sub = 0; sub < substeps_; ++sub) {
    v0 = vacc;
    u0 = uacc;
    for (int k = 1; k <= K; ++k) {
      const Stencil st{s, dm.data(), kt * (n_th_ + 1), kt * n_th_, shift_, 1.0 / k};
      const Stencil fe{s, e.data(), 1.0, 1.0, 0.0, kt / k};
      apply_stencil<false>(st, u0, u1, full);
      apply_stencil<true>(fe, v0, u1, full);
      apply_stencil<false>(st, v0, v1, full);
      {  // the accumulators take the new terms
        const int ld = u1.ld();
        double* UA = uacc.data() + 1 + ld;
        double* VA = vacc.data() + 1 + ld;
        const double* U = u1.data() + 1 + ld;
        const double* V = v1.data() + 1 + ld;
        for (int n = 0; n < N_; ++n)
          for (int m = n; m < N_; ++m) {
            UA[m + n * ld] += U[m + n * ld];
            VA[m + n * ld] += V[m + n * ld];
          }
      }
      std::swap(u0, u1);
      std::swap(v0, v1);
    }
    scale_region(uacc, std::exp(-shift_), full);
    scale_region(vacc, std::exp(-shift_), full);
  }
  uacc.set_top(N_ - 1);
  uacc.set_diagonal(false);
  d[1] = region_inner(lambda, uacc, full);
  return d;
}

}  // namespace qbopt

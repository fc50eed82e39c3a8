#include <algorithm>
#include <atomic>
#include <functional>
#include <cmath>
#include <numbers>
#include <qbopt/wigner.hpp>
#include <stdexcept>

namespace qbopt {

std::vector<double> linspace(double a, double b, int n) {
  if (n < 1) throw std::invalid_argument("grid needs at least 1 point, got " + std::to_string(n));
  std::vector<double> v(n);
  for (int i = 0; i < n; ++i) v[i] = n == 1 ? a : a + (b - a) * i / (n - 1);
  return v;
}

namespace {

constexpr int kBlock = 128;     // grid points per tile (working set stays in L1)
constexpr double kBig = 1e150;  // rescale the recurrence above this magnitude
const double kLogBig = std::log(kBig);

// Accumulates W over one tile of points (xs, ps) of length len into out.
// Returns false when `stop` asked to stop (out is then incomplete).
bool wigner_tile(const Eigen::MatrixXcd& rho, int M, const double* xs, const double* ps, int len,
                 double* out, const std::function<bool()>& stop) {
  double B[kBlock], theta[kBlock], phi[kBlock], prev[kBlock], scale[kBlock];
  double sre[kBlock], sim[kBlock], acc[kBlock];
  bool outside[kBlock];
  // A state on levels below M has W ~ e^{-B/2} B^M / M!: beyond B = 8M + 1500 that is below
  // e^{-700}, i.e. exactly 0 in double; such points skip the recurrence (which would overflow).
  const double b_max = 8.0 * M + 1500;
  for (int i = 0; i < len; ++i) {
    // A = (x + i p)/sqrt(2): |2A|^2 = 2(x^2 + p^2) = B.
    B[i] = 2 * (xs[i] * xs[i] + ps[i] * ps[i]);
    outside[i] = !(B[i] <= b_max);
    if (outside[i]) B[i] = 0;
    theta[i] = std::atan2(ps[i], xs[i]);
    acc[i] = 0;
  }
  for (int L = 0; L < M; ++L) {
    // A band costs ~len (M - L) steps: polling every 16 bands keeps a poll within ~1 ms.
    if (L % 16 == 0 && stop()) return false;
    // Start: phi_0^(L) = B^{L/2} e^{-B/2} / sqrt(L!), held as psi * exp(scale) with psi = 1.
    const double lg = 0.5 * std::lgamma(L + 1.0);
    for (int i = 0; i < len; ++i) {
      prev[i] = 0;
      phi[i] = 1;
      scale[i] = (B[i] > 0 ? 0.5 * L * std::log(B[i]) : (L == 0 ? 0.0 : -1e300)) - 0.5 * B[i] - lg;
      sre[i] = sim[i] = 0;
    }
    for (int m = 0; m + L < M; ++m) {
      const std::complex<double> c = rho(m, m + L) * (m % 2 ? -1.0 : 1.0);
      const double cr = c.real(), ci = c.imag();
      // Accumulate term m, then step to m+1 by the normalized Laguerre recurrence
      // phi_m+1 = ((2m+1+L-B) phi_m - sqrt(m(m+L)) phi_m-1) / sqrt((m+1)(m+1+L)).
      const double inv = 1.0 / std::sqrt((m + 1.0) * (m + 1.0 + L));
      const double b = std::sqrt(m * (m + static_cast<double>(L))) * inv;
      const double a0 = (2.0 * m + 1 + L) * inv;
      // Sums are kept in units of exp(scale) (multiplied in at the end of the band).
      if (ci == 0.0 || cr == 0.0) {
        // Battery states: rho_{m,m+L} = i^L r_{m,m+L}, each band purely real or imaginary.
        double* acc_part = ci == 0.0 ? sre : sim;
        const double cc = ci == 0.0 ? cr : ci;
#pragma omp simd
        for (int i = 0; i < len; ++i) {
          const double f = phi[i];
          acc_part[i] += cc * f;
          const double next = (a0 - B[i] * inv) * f - b * prev[i];
          prev[i] = f;
          phi[i] = next;
        }
      } else {
#pragma omp simd
        for (int i = 0; i < len; ++i) {
          const double f = phi[i];
          sre[i] += cr * f;
          sim[i] += ci * f;
          const double next = (a0 - B[i] * inv) * f - b * prev[i];
          prev[i] = f;
          phi[i] = next;
        }
      }
      if (m % 8 == 7)
        for (int i = 0; i < len; ++i)
          if (std::abs(phi[i]) > kBig) {
            phi[i] /= kBig;
            prev[i] /= kBig;
            sre[i] /= kBig;  // earlier terms are negligible next to the new ones if they underflow
            sim[i] /= kBig;
            scale[i] += kLogBig;
          }
    }
    const double w = L == 0 ? 1.0 : 2.0;
    for (int i = 0; i < len; ++i) {
      // Re[(cos + i sin)(L theta) * (sre + i sim)]
      const double cl = std::cos(L * theta[i]), sl = std::sin(L * theta[i]);
      acc[i] += w * std::exp(scale[i]) * (cl * sre[i] - sl * sim[i]);
    }
  }
  for (int i = 0; i < len; ++i) out[i] = outside[i] ? 0.0 : acc[i] / std::numbers::pi;
  return true;
}

}  // namespace

Eigen::MatrixXd wigner(const Eigen::MatrixXcd& rho, const std::vector<double>& x,
                       const std::vector<double>& p, const StopHook& should_stop) {
  if (rho.rows() != rho.cols() || rho.rows() < 1)
    throw std::invalid_argument("density matrix must be square and non-empty");
  for (double v : x)
    if (!std::isfinite(v)) throw std::invalid_argument("wigner grid x has a non-finite value");
  for (double v : p)
    if (!std::isfinite(v)) throw std::invalid_argument("wigner grid p has a non-finite value");
  // Levels above the last non-zero row/column contribute nothing.
  int M = static_cast<int>(rho.rows());
  while (M > 1 && rho.row(M - 1).isZero(0) && rho.col(M - 1).isZero(0)) --M;
  const int nx = static_cast<int>(x.size()), np = static_cast<int>(p.size());
  const long total = static_cast<long>(nx) * np;
  std::vector<double> xs(total), ps(total), w(total);
  for (int j = 0; j < np; ++j)
    for (int i = 0; i < nx; ++i) {
      xs[static_cast<long>(j) * nx + i] = x[i];
      ps[static_cast<long>(j) * nx + i] = p[j];
    }
  const long tiles = (total + kBlock - 1) / kBlock;
  // An exception may not leave the OpenMP loop: the hook sets a flag that every tile reads.
  std::atomic<bool> stopped{false};
  const std::function<bool()> stop = [&] {
    if (!stopped.load(std::memory_order_relaxed) && should_stop && should_stop())
      stopped.store(true, std::memory_order_relaxed);
    return stopped.load(std::memory_order_relaxed);
  };
#pragma omp parallel for schedule(dynamic)
  for (long t = 0; t < tiles; ++t) {
    if (stopped.load(std::memory_order_relaxed)) continue;
    const long start = t * kBlock;
    const int len = static_cast<int>(std::min<long>(kBlock, total - start));
    wigner_tile(rho, M, xs.data() + start, ps.data() + start, len, w.data() + start, stop);
  }
  if (stopped) throw Interrupted();
  Eigen::MatrixXd W(np, nx);
  for (int j = 0; j < np; ++j)
    for (int i = 0; i < nx; ++i) W(j, i) = w[static_cast<long>(j) * nx + i];
  return W;
}

Eigen::MatrixXd wigner(const State& r, const std::vector<double>& x, const std::vector<double>& p,
                       const StopHook& should_stop) {
  return wigner(r.density_matrix(), x, p, should_stop);
}

}  // namespace qbopt

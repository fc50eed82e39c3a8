#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <qbopt/observables.hpp>
#include <qbopt/state.hpp>
#include <stdexcept>
#include <string>

namespace qbopt {

namespace {
void check_levels(int N) {
  if (N < 2) throw std::invalid_argument("N must be >= 2, got " + std::to_string(N));
}
}  // namespace

State::State(int N, ZeroedBuffer buf) : N_(N), top_(0), diagonal_(true), buf_(std::move(buf)) {
  // Offsets 0, 11, 22, ... (mod 64) times 64 bytes: consecutive states far apart in a page.
  static std::atomic<unsigned> created{0};
  offset_ = static_cast<int>(8 * (created.fetch_add(1, std::memory_order_relaxed) * 11 % 64));
}

State::State(int N) : State((check_levels(N), N), ZeroedBuffer(bytes(N) / sizeof(double))) {
  at(0, 0) = 1.0;
}

State State::zeros(int N) {
  State s(N);
  s.at(0, 0) = 0.0;
  return s;
}

std::vector<State> State::zeros(int N, std::size_t count) {
  check_levels(N);
  std::vector<State> out;
  out.reserve(count);
  for (ZeroedBuffer& b : ZeroedBuffer::many(bytes(N) / sizeof(double), count))
    out.push_back(State(N, std::move(b)));
  return out;
}

State State::from_matrix(const Eigen::MatrixXd& r) {
  if (r.rows() != r.cols()) throw std::invalid_argument("state matrix must be square");
  State s = zeros(static_cast<int>(r.rows()));
  s.top_ = s.N_ - 1;
  for (int n = 0; n < s.N_; ++n)
    for (int m = n; m < s.N_; ++m) {
      s.at(m, n) = r(m, n);
      if (m != n && r(m, n) != 0.0) s.diagonal_ = false;
    }
  s.mirror_superdiagonal();
  return s;
}

State State::from_density_matrix(const Eigen::MatrixXcd& rho, int N) {
  const int M = static_cast<int>(rho.rows());
  if (rho.rows() != rho.cols() || M < 1)
    throw std::invalid_argument("initial state: rho must be a non-empty square matrix");
  if (M > N)
    throw std::invalid_argument("initial state has " + std::to_string(M) +
                                " levels, more than nc = " + std::to_string(N));
  if (!rho.allFinite()) throw std::invalid_argument("initial state: rho is not finite");
  // r_mn = i^(m-n) rho_mn: i^j cycles through 1, i, -1, -i.
  static const std::complex<double> phase[4] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
  Eigen::MatrixXd r(N, N);
  r.setZero();
  double scale = 0, imag = 0, asym = 0;
  for (int n = 0; n < M; ++n)
    for (int m = 0; m < M; ++m) {
      const std::complex<double> x = phase[((m - n) % 4 + 4) % 4] * rho(m, n);
      r(m, n) = x.real();
      scale = std::max(scale, std::abs(x));
      imag = std::max(imag, std::abs(x.imag()));
      asym = std::max(asym, std::abs(rho(m, n) - std::conj(rho(n, m))));
    }
  // Rounding of a state written with 17 digits stays far below this.
  const double tol = 1e-9 * std::max(scale, 1e-300);
  if (asym > tol)
    throw std::invalid_argument("initial state: rho is not Hermitian (|rho - rho^dag| = " +
                                std::to_string(asym) + ")");
  if (imag > tol)
    throw std::invalid_argument(
        "initial state: rho is not of the micromaser's phase form (|Im i^(m-n) rho_mn| = " +
        std::to_string(imag) + ")");
  // Tr rho = 1 up to what a run may leak before the truncation warning: a state that leaked
  // more was already flagged, and continuing it would carry the loss into the new run.
  const double tr = r.topLeftCorner(M, M).trace();
  if (std::abs(tr - 1.0) > kLeakageWarning) {
    char text[32];
    std::snprintf(text, sizeof text, "%.10g", tr);
    throw std::invalid_argument(std::string("initial state: Tr rho = ") + text +
                                " is not 1 (within 1e-6): not normalized, or it leaked out of "
                                "its truncation (rerun it with a larger nc)");
  }
  // Positive semidefinite: r + tol I has a Cholesky factor (r and rho have the same spectrum,
  // the phases being a unitary similarity). O(M^3 / 3): 0.3 ms at M = 150.
  Eigen::MatrixXd shifted = r.topLeftCorner(M, M);
  shifted.diagonal().array() += tol;
  if (Eigen::LLT<Eigen::MatrixXd>(shifted).info() != Eigen::Success)
    throw std::invalid_argument(
        "initial state: rho is not positive semidefinite (an eigenvalue below -1e-9 of its "
        "largest entry)");
  return from_matrix(r);
}

Eigen::MatrixXd State::matrix() const {
  Eigen::MatrixXd r(N_, N_);
  for (int n = 0; n < N_; ++n)
    for (int m = 0; m < N_; ++m) r(m, n) = (*this)(m, n);
  return r;
}

Eigen::MatrixXcd State::density_matrix() const {
  // rho_mn = (-i)^(m-n) r_mn; (-i)^j cycles through 1, -i, -1, i.
  static const std::complex<double> phase[4] = {{1, 0}, {0, -1}, {-1, 0}, {0, 1}};
  Eigen::MatrixXcd rho(N_, N_);
  for (int n = 0; n < N_; ++n)
    for (int m = 0; m < N_; ++m) rho(m, n) = phase[((m - n) % 4 + 4) % 4] * (*this)(m, n);
  return rho;
}

void State::mirror_superdiagonal() {
  for (int n = 0; n + 1 <= top_ && n + 1 < N_; ++n) at(n, n + 1) = at(n + 1, n);
}

void State::clear() {
  buf_.set_zero();
  top_ = 0;
  diagonal_ = true;
}

double inner(const State& a, const State& b) {
  if (a.dim() != b.dim()) throw std::invalid_argument("inner: states of different dimension");
  double s = 0;
  for (int n = 0; n < a.dim(); ++n) {
    s += a.at(n, n) * b.at(n, n);
    double off = 0;
    for (int m = n + 1; m < a.dim(); ++m) off += a.at(m, n) * b.at(m, n);
    s += 2 * off;
  }
  return s;
}

}  // namespace qbopt

#include <Spectra/GenEigsSolver.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <qbopt/observables.hpp>
#include <qbopt/spectrum.hpp>
#include <stdexcept>
#include <string>

namespace qbopt {

StepMaps step_maps(const CollisionModel& model, const Qubit& qubit) {
  StepMaps m;
  m.phi = [&model, qubit](const State& in, State& out) { model.apply(qubit, in, out); };
  // pullback() computes Phi^T on the levels of the state it is given: a zero state spread over
  // every level makes it the whole transpose.
  auto full_zero = [](int N) {
    State z = State::zeros(N);
    z.set_top(N - 1);
    z.set_diagonal(false);
    return z;
  };
  m.phi_transpose = [&model, qubit, full_zero](const State& in, State& out) {
    double d[kMaxControls] = {};
    model.pullback(qubit, full_zero(in.dim()), in, out, PullbackRequest{0, false}, d, nullptr);
  };
  m.derivative = [&model, qubit](const State& left, const State& right) {
    unsigned bits = 0;
    for (int i = 0; i < kMaxControls; ++i)
      if (qubit.carries(i) && i < static_cast<int>(model.spec().controls.size())) bits |= 1u << i;
    double d[kMaxControls] = {};
    State scratch = State::zeros(left.dim());
    model.pullback(qubit, right, left, scratch, PullbackRequest{bits, false}, d, nullptr);
    std::vector<double> out;
    for (int i = 0; i < kMaxControls; ++i)
      if (bits & (1u << i)) out.push_back(d[i]);
    return out;
  };
  return m;
}


namespace {

using cd = std::complex<double>;
const double kSqrt2 = std::sqrt(2.0);

// Real symmetric N x N matrices as vectors of length N(N+1)/2: the lower triangle column by
// column, off-diagonal entries times sqrt(2). The basis is orthonormal for the Frobenius
// product of the full matrices, so the Frobenius transpose of the map is the transpose of its
// packed matrix (left eigenvectors come from the transposed map unchanged).
long packed_size(int N) { return static_cast<long>(N) * (N + 1) / 2; }

void pack(const State& s, double* x) {
  const int N = s.dim();
  for (int n = 0; n < N; ++n) {
    *x++ = s.at(n, n);
    for (int m = n + 1; m < N; ++m) *x++ = kSqrt2 * s.at(m, n);
  }
}

// Writes the general (full, non-diagonal) symmetric matrix of x into s.
void unpack(const double* x, State& s) {
  const int N = s.dim();
  const double inv = 1.0 / kSqrt2;
  for (int n = 0; n < N; ++n) {
    s.at(n, n) = *x++;
    for (int m = n + 1; m < N; ++m) s.at(m, n) = inv * *x++;
  }
  s.set_top(N - 1);
  s.set_diagonal(false);
  s.mirror_superdiagonal();
}

template <class Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> unpack_matrix(
    const Eigen::Matrix<Scalar, Eigen::Dynamic, 1>& x, int N) {
  Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> r(N, N);
  long k = 0;
  for (int n = 0; n < N; ++n) {
    r(n, n) = x[k++];
    for (int m = n + 1; m < N; ++m) r(m, n) = r(n, m) = x[k++] / kSqrt2;
  }
  return r;
}

// The packed map x -> P Phi^p(P x), P = I - Q Q^T (Q orthonormal, possibly empty).
// Phi^p (p = SpectrumSettings::power collisions per Arnoldi step) has the same eigenvectors
// and eigenvalues lambda^p: the wanted ones near the unit circle stay there while the bulk is
// squashed towards 0, so Arnoldi needs far fewer steps, and each step's orthogonalization
// (O(n ncv), costlier than one collision) is shared by p collisions.
// With Q spanning an invariant subspace found earlier, P Phi^p P has the remaining eigenvalues
// plus zeros (Schur deflation), so a new Arnoldi run sees what the previous ones missed.
class PackedOperator {
 public:
  using Scalar = double;  // Spectra's operator interface

  PackedOperator(const LinearMap& phi, int N, int power, const Eigen::MatrixXd& Q,
                 const StopHook& should_stop)
      : phi_(phi), n_(packed_size(N)), power_(power), Q_(Q), should_stop_(should_stop),
        in_(State::zeros(N)), out_(State::zeros(N)), buf_(n_) {}

  Eigen::Index rows() const { return n_; }
  Eigen::Index cols() const { return n_; }

  // y = P Phi^p(P x).
  void perform_op(const double* x, double* y) const {
    Eigen::Map<const Eigen::VectorXd> xv(x, n_);
    Eigen::Map<Eigen::VectorXd> yv(y, n_);
    if (Q_.cols() > 0) {
      buf_ = xv - Q_ * (Q_.transpose() * xv);
      apply(buf_.data(), y, power_);
      yv -= Q_ * (Q_.transpose() * yv);
    } else {
      apply(x, y, power_);
    }
  }

  // y = Phi^k(x) without the projections.
  void apply(const double* x, double* y, int k) const {
    unpack(x, in_);
    for (int i = 0; i < k; ++i) {
      poll(should_stop_);  // throws Interrupted out of Spectra: no partial result
      phi_(in_, out_);
      if (out_.dim() != in_.dim()) throw std::invalid_argument("the map changed the dimension");
      // Whatever top/diagonal the map reports, the next step sees a general matrix.
      out_.set_top(out_.dim() - 1);
      out_.set_diagonal(false);
      std::swap(in_, out_);
    }
    pack(in_, y);
    count_ += k;
  }
  void apply_power(const double* x, double* y) const { apply(x, y, power_); }

  long count() const { return count_; }

 private:
  const LinearMap& phi_;
  long n_;
  int power_;
  const Eigen::MatrixXd& Q_;
  const StopHook& should_stop_;
  mutable State in_, out_;
  mutable Eigen::VectorXd buf_;
  mutable long count_ = 0;
};

struct Eigenpairs {
  std::vector<cd> values;
  std::vector<Eigen::VectorXcd> vectors;  // packed, unit 2-norm
  long matvecs = 0;
  bool converged = true;
};

// The `keep` pairs of largest |lambda|, in decreasing modulus (stable for ties).
Eigenpairs by_modulus(Eigenpairs all, std::size_t keep) {
  std::vector<std::size_t> order(all.values.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::abs(all.values[a]) > std::abs(all.values[b]);
  });
  order.resize(std::min(order.size(), keep));
  Eigenpairs kept;
  kept.matvecs = all.matvecs;
  kept.converged = all.converged;
  for (std::size_t i : order) {
    kept.values.push_back(all.values[i]);
    kept.vectors.push_back(std::move(all.vectors[i]));
  }
  return kept;
}

// Unit norm; a real eigenvalue gets a real vector with its largest entry positive, a complex
// one a vector whose largest entry is real positive (a deterministic phase).
void normalize(cd lambda, Eigen::VectorXcd& v) {
  Eigen::Index i;
  v.cwiseAbs().maxCoeff(&i);
  if (std::abs(v[i]) > 0) v *= std::conj(v[i]) / std::abs(v[i]);
  if (lambda.imag() == 0.0) v = v.real().cast<cd>();
  const double norm = v.norm();
  if (norm > 0) v /= norm;
}

// One Arnoldi run of P Phi P for K eigenvalues of largest modulus.
Eigenpairs arnoldi(const LinearMap& phi, int N, const Eigen::MatrixXd& Q,
                   const SpectrumSettings& st) {
  PackedOperator op(phi, N, st.power, Q, st.should_stop);
  const long n = packed_size(N);
  Spectra::GenEigsSolver<PackedOperator> solver(op, st.count, st.krylov_dim_for(n));
  solver.init();  // Spectra's fixed-seed random start: runs are reproducible
  solver.compute(Spectra::SortRule::LargestMagn, st.max_restarts, st.tolerance,
                 Spectra::SortRule::LargestMagn);
  Eigenpairs e;
  e.converged = solver.info() == Spectra::CompInfo::Successful;
  e.matvecs = op.count();
  const Eigen::VectorXcd values = solver.eigenvalues();
  const Eigen::MatrixXcd vectors = solver.eigenvectors();
  for (Eigen::Index j = 0; j < values.size(); ++j) {
    e.values.push_back(values[j]);
    e.vectors.push_back(vectors.col(j));
  }
  return e;
}

// Orthonormal basis of the real and imaginary parts of the vectors (dependent ones dropped).
Eigen::MatrixXd real_basis(const std::vector<Eigen::VectorXcd>& vectors, long n) {
  Eigen::MatrixXd A(n, 2 * vectors.size());
  for (std::size_t j = 0; j < vectors.size(); ++j) {
    A.col(2 * j) = vectors[j].real();
    A.col(2 * j + 1) = vectors[j].imag();
  }
  Eigen::ColPivHouseholderQR<Eigen::MatrixXd> qr(A);
  qr.setThreshold(1e-10);
  const Eigen::Index rank = qr.rank();
  Eigen::MatrixXd Q = qr.householderQ() * Eigen::MatrixXd::Identity(n, rank);
  return Q;
}

// An eigenvector y of P B P (B = Phi^p, y orthogonal to Q, eigenvalue mu) lifted to one of B:
// B y = mu y + Q h with h = Q^T B y, and B Q = Q T, so x = y + Q z is an eigenvector when
// (mu - T) z = h. For a degenerate mu (a copy of an eigenvalue already in Q) mu - T is
// singular but h lies in its range (the eigenvalue is semisimple); the least-squares solution
// of the complete orthogonal decomposition is then exact.
Eigen::VectorXcd lift(const PackedOperator& op, const Eigen::MatrixXd& Q, const Eigen::MatrixXd& T,
                      cd mu, Eigen::VectorXcd y) {
  const long n = op.rows();
  y -= (Q * (Q.transpose() * y.real())).cast<cd>() +
       cd(0, 1) * (Q * (Q.transpose() * y.imag())).cast<cd>();
  Eigen::VectorXd pr(n), pi(n);
  const Eigen::VectorXd yr = y.real(), yi = y.imag();
  op.apply_power(yr.data(), pr.data());
  if (mu.imag() != 0.0)
    op.apply_power(yi.data(), pi.data());
  else
    pi.setZero();
  const Eigen::VectorXcd h =
      (Q.transpose() * pr).cast<cd>() + cd(0, 1) * (Q.transpose() * pi).cast<cd>();
  Eigen::MatrixXcd M = -T.cast<cd>();
  M.diagonal().array() += mu;
  // The threshold must be set before compute(): the decomposition's Z reflectors are built
  // for the rank at compute time, and solve() uses the rank of the current threshold. Set
  // afterwards (Eigen's constructor computes), a rank-deficient M made solve() apply Z
  // coefficients that were never written (uninitialized heap memory: NaN or a wrong steady
  // state depending on what the allocator handed back).
  Eigen::CompleteOrthogonalDecomposition<Eigen::MatrixXcd> cod(M.rows(), M.cols());
  cod.setThreshold(1e-7);
  cod.compute(M);
  const Eigen::VectorXcd z = cod.solve(h);
  return y + Q.cast<cd>() * z;
}

constexpr double kProbeTolerance = 1e-6;

// Eigenpairs of largest modulus, with deflation rounds for the copies of degenerate
// eigenvalues a single Krylov space misses.
Eigenpairs leading_eigenpairs(const LinearMap& phi, int N, const SpectrumSettings& st) {
  const long n = packed_size(N);
  const Eigen::MatrixXd none(n, 0);
  Eigenpairs all = arnoldi(phi, N, none, st);
  for (int round = 0; round < st.deflation_rounds && !all.values.empty(); ++round) {
    const Eigen::MatrixXd Q = real_basis(all.vectors, n);
    if (Q.cols() + st.count + 2 > n) break;  // nothing left to deflate into
    PackedOperator op(phi, N, st.power, Q, st.should_stop);
    Eigen::MatrixXd BQ(n, Q.cols());
    for (Eigen::Index j = 0; j < Q.cols(); ++j) op.apply_power(Q.col(j).data(), BQ.col(j).data());
    const Eigen::MatrixXd T = Q.transpose() * BQ;
    // Only what beats the smallest modulus kept so far is new (the deflated zeros never are).
    const double floor = std::abs(all.values.back()) * (1 + 1e-12);
    // A probe at a looser tolerance first: deciding that nothing beats the floor does not need
    // 1e-10 Ritz residuals, and it is the common outcome. Only when the probe sees a candidate
    // (within 1e-5 of the floor) does the run repeat at the requested tolerance.
    SpectrumSettings probe = st;
    probe.tolerance = std::max(st.tolerance, kProbeTolerance);
    Eigenpairs more = arnoldi(phi, N, Q, probe);
    all.matvecs += more.matvecs;
    const bool candidate =
        all.values.size() < std::size_t(st.count) ||
        std::any_of(more.values.begin(), more.values.end(),
                    [&](cd mu) { return std::abs(mu) >= floor * (1 - 1e-5); });
    if (!candidate && more.converged) {
      all.matvecs += op.count();  // B Q
      break;
    }
    if (probe.tolerance > st.tolerance) {
      more = arnoldi(phi, N, Q, st);
      all.matvecs += more.matvecs;
    }
    all.converged = all.converged && more.converged;
    bool found = false;
    for (std::size_t j = 0; j < more.values.size(); ++j) {
      if (std::abs(more.values[j]) < floor && all.values.size() >= std::size_t(st.count)) continue;
      all.values.push_back(more.values[j]);
      all.vectors.push_back(lift(op, Q, T, more.values[j], more.vectors[j]));
      found = true;
    }
    all.matvecs += op.count();  // B Q and the lifts
    if (!found) break;
    all = by_modulus(std::move(all), static_cast<std::size_t>(st.count));
  }
  // lambda from mu = lambda^p: the Rayleigh quotient v^H Phi v / v^H v of the eigenvector
  // (exact for an exact eigenvector, whichever p-th root it is).
  PackedOperator op(phi, N, 1, none, st.should_stop);
  Eigen::VectorXd xr(n), xi(n), yr(n), yi(n);
  for (std::size_t j = 0; j < all.values.size(); ++j) {
    normalize(all.values[j], all.vectors[j]);
    if (st.power == 1) continue;
    Eigen::VectorXcd& v = all.vectors[j];
    xr = v.real();
    xi = v.imag();
    op.apply(xr.data(), yr.data(), 1);
    if (all.values[j].imag() != 0.0)
      op.apply(xi.data(), yi.data(), 1);
    else
      yi.setZero();
    const Eigen::VectorXcd Pv = yr.cast<cd>() + cd(0, 1) * yi.cast<cd>();
    all.values[j] = v.dot(Pv) / v.squaredNorm();  // dot conjugates v
    if (all.values[j].imag() == 0.0 || v.imag().norm() == 0.0)
      all.values[j] = all.values[j].real();
  }
  all.matvecs += op.count();
  // The modulus order of lambda^p is that of lambda.
  const std::size_t count = all.values.size();  // before `all` is moved from
  return by_modulus(std::move(all), count);
}

SteadyState make_steady(cd lambda, const Eigen::MatrixXd& r) {
  SteadyState s;
  s.eigenvalue = lambda;
  s.state = State::from_matrix(r);
  s.populations = populations(s.state);
  s.energy = energy(s.state);
  s.ergotropy = ergotropy(s.state);
  s.purity = purity(s.state);
  return s;
}

// Trace 1 (which also fixes the sign); a traceless fixed point is left at unit norm.
Eigen::MatrixXd unit_trace(Eigen::MatrixXd r) {
  const double t = r.trace();
  if (std::abs(t) > 1e-12 * r.norm()) r /= t;
  return r;
}

// Disjoint-support split of a d-dimensional steady-state space (d >= 2). The Fock levels are
// linked where some basis matrix has a coherence above 1e-8 of its largest entry; a trapping
// chamber's steady state has coherences inside the chamber (c > 0) and none across, so the
// connected components with weight are the chambers' cores. With d such cores and W(C, i) the
// trace of basis matrix V_i on core C, the combinations V W^{-1} have trace 1 on one core and
// 0 on the others: each is one chamber's steady state divided by its weight on its core,
// exactly, whatever the tails below the threshold. Returns nothing when the cores are not
// exactly d (e.g. c = 0 keeps every steady state diagonal: no coherences to link levels) or
// when a combination is not a fixed point to 1e-6.
std::optional<std::vector<Eigen::MatrixXd>> split_steady_states(const std::vector<Eigen::MatrixXd>& V,
                                                                const LinearMap& phi) {
  const int N = static_cast<int>(V[0].rows());
  const std::size_t d = V.size();
  std::vector<int> parent(N);
  std::iota(parent.begin(), parent.end(), 0);
  auto find = [&](int a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  };
  for (const auto& v : V) {
    const double thr = 1e-8 * v.cwiseAbs().maxCoeff();
    for (int n = 0; n < N; ++n)
      for (int m = n + 1; m < N; ++m)
        if (std::abs(v(m, n)) > thr) {
          const int a = find(m), b = find(n);
          parent[std::max(a, b)] = std::min(a, b);  // the root stays the lowest level
        }
  }
  // Weight of every component: largest |trace| over the basis.
  std::vector<double> weight(N, 0.0);
  for (int root = 0; root < N; ++root) {
    if (find(root) != root) continue;
    for (const auto& v : V) {
      double t = 0;
      for (int m = 0; m < N; ++m)
        if (find(m) == root) t += v(m, m);
      weight[root] = std::max(weight[root], std::abs(t));
    }
  }
  const double heaviest = *std::max_element(weight.begin(), weight.end());
  std::vector<int> cores;  // in increasing level order: roots are the lowest level (union by min)
  for (int m = 0; m < N; ++m)
    if (find(m) == m && weight[m] > 1e-6 * heaviest) cores.push_back(m);
  if (cores.size() != d) return std::nullopt;
  Eigen::MatrixXd W = Eigen::MatrixXd::Zero(d, d);
  for (std::size_t c = 0; c < d; ++c)
    for (std::size_t i = 0; i < d; ++i)
      for (int m = 0; m < N; ++m)
        if (find(m) == cores[c]) W(c, i) += V[i](m, m);
  Eigen::JacobiSVD<Eigen::MatrixXd> svd(W);
  const auto& sv = svd.singularValues();
  if (!(sv(d - 1) > 1e-8 * sv(0))) return std::nullopt;
  const Eigen::MatrixXd coef = W.inverse();  // column c: the combination for core c
  std::vector<Eigen::MatrixXd> out;
  State in = State::zeros(N), image = State::zeros(N);
  for (std::size_t c = 0; c < d; ++c) {
    Eigen::MatrixXd r = Eigen::MatrixXd::Zero(N, N);
    for (std::size_t i = 0; i < d; ++i) r += coef(i, c) * V[i];
    r = unit_trace(r);
    in = State::from_matrix(r);
    in.set_top(N - 1);
    in.set_diagonal(false);
    phi(in, image);
    if ((image.matrix() - r).norm() > 1e-6 * r.norm()) return std::nullopt;
    out.push_back(r);
  }
  return out;
}

}  // namespace

int SpectrumSettings::krylov_dim_for(long n) const {
  if (krylov_dim > 0) return krylov_dim;
  return static_cast<int>(std::min<long>(n, std::max(2 * count + 1, 20)));
}

void SpectrumSettings::validate(long n) const {
  auto bad = [](const std::string& what) { throw std::invalid_argument(what); };
  if (count < 1 || count > n - 2)
    bad("count must be in [1, " + std::to_string(n - 2) + "] (N(N+1)/2 - 2), got " +
        std::to_string(count));
  if (krylov_dim != 0 && (krylov_dim < count + 2 || krylov_dim > n))
    bad("krylov_dim must be 0 or in [count + 2, " + std::to_string(n) + "], got " +
        std::to_string(krylov_dim));
  if (power < 1 || power % 2 == 0)
    bad("power must be an odd integer >= 1, got " + std::to_string(power));
  if (max_restarts < 1) bad("max_restarts must be >= 1, got " + std::to_string(max_restarts));
  if (!(tolerance > 0 && tolerance < 1))
    bad("tolerance must be in (0, 1), got " + std::to_string(tolerance));
  if (deflation_rounds < 0)
    bad("deflation_rounds must be >= 0, got " + std::to_string(deflation_rounds));
  if (!(unit_tolerance > 0 && unit_tolerance < 1))
    bad("unit_tolerance must be in (0, 1), got " + std::to_string(unit_tolerance));
}

Spectrum spectrum(const LinearMap& phi, int N, const SpectrumSettings& settings) {
  if (N < 2) throw std::invalid_argument("N must be >= 2, got " + std::to_string(N));
  settings.validate(packed_size(N));
  const Eigenpairs e = leading_eigenpairs(phi, N, settings);
  Spectrum s;
  s.dim = N;
  s.eigenvalues = e.values;
  s.matvecs = e.matvecs;
  s.converged = e.converged && static_cast<int>(e.values.size()) == settings.count;
  for (const auto& v : e.vectors) s.eigenvectors.push_back(unpack_matrix<cd>(v, N));

  std::vector<std::size_t> unit;
  for (std::size_t j = 0; j < s.eigenvalues.size(); ++j) {
    if (std::abs(s.eigenvalues[j] - 1.0) < settings.unit_tolerance) {
      unit.push_back(j);
    } else if (!s.slowest_mode) {
      s.slowest_mode = j;
      const double a = std::abs(s.eigenvalues[j]);
      if (a > 0) s.lifetime = -1.0 / std::log(a);
    }
  }
  std::vector<Eigen::MatrixXd> basis;
  for (std::size_t j : unit) basis.push_back(s.eigenvectors[j].real());
  if (basis.size() >= 2) {
    if (auto split = split_steady_states(basis, phi)) {
      s.steady_states_split = true;
      State in = State::zeros(N), image = State::zeros(N);
      for (const auto& r : *split) {
        // Rayleigh quotient <r, Phi r>/<r, r>: the eigenvalue of the combination.
        in = State::from_matrix(r);
        in.set_top(N - 1);
        in.set_diagonal(false);
        phi(in, image);
        const double rq = (image.matrix().array() * r.array()).sum() / r.squaredNorm();
        s.steady_states.push_back(make_steady(rq, r));
      }
      return s;
    }
  }
  for (std::size_t k = 0; k < unit.size(); ++k)
    s.steady_states.push_back(make_steady(s.eigenvalues[unit[k]], unit_trace(basis[k])));
  return s;
}

double eigen_residual(const LinearMap& phi, std::complex<double> lambda,
                      const Eigen::MatrixXcd& v) {
  const int N = static_cast<int>(v.rows());
  auto image = [&](const Eigen::MatrixXd& x) {
    State in = State::from_matrix(x), out = State::zeros(N);
    in.set_top(N - 1);
    in.set_diagonal(false);
    phi(in, out);
    return out.matrix();
  };
  const Eigen::MatrixXcd Pv =
      image(v.real()).cast<cd>() + cd(0, 1) * image(v.imag()).cast<cd>();
  return (Pv - lambda * v).norm() / v.norm();
}

std::optional<Eigen::MatrixXcd> simple_eigenvector(const Spectrum& s, std::complex<double> lambda,
                                                   double tol) {
  std::optional<std::size_t> hit;
  for (std::size_t j = 0; j < s.eigenvalues.size(); ++j) {
    if (std::abs(s.eigenvalues[j] - lambda) > tol) continue;
    if (hit) return std::nullopt;  // degenerate within tol
    hit = j;
  }
  if (!hit) return std::nullopt;
  return s.eigenvectors[*hit];
}

std::vector<std::complex<double>> eigenvalue_derivative(const Eigen::MatrixXcd& left,
                                                        const Eigen::MatrixXcd& right,
                                                        const MapDerivative& dphi) {
  const cd overlap = (left.array() * right.array()).sum();
  if (std::abs(overlap) < 1e-14 * left.norm() * right.norm())
    throw std::runtime_error("left and right eigenvectors are orthogonal (defective eigenvalue)");
  const Eigen::MatrixXd lr = left.real(), li = left.imag(), rr = right.real(), ri = right.imag();
  const bool lc = li.norm() > 0, rc = ri.norm() > 0;
  auto call = [&](const Eigen::MatrixXd& l, const Eigen::MatrixXd& r) {
    State L = State::from_matrix(l), R = State::from_matrix(r);
    for (State* s : {&L, &R}) {
      s->set_top(s->dim() - 1);
      s->set_diagonal(false);
    }
    return dphi(L, R);
  };
  // <l, dPhi r> = <lr, dPhi rr> - <li, dPhi ri> + i (<lr, dPhi ri> + <li, dPhi rr>).
  const std::vector<double> a = call(lr, rr);
  std::vector<cd> out(a.begin(), a.end());
  auto add = [&](const std::vector<double>& t, cd w) {
    if (t.size() != out.size()) throw std::runtime_error("MapDerivative changed its length");
    for (std::size_t i = 0; i < t.size(); ++i) out[i] += w * t[i];
  };
  if (lc && rc) add(call(li, ri), -1.0);
  if (rc) add(call(lr, ri), cd(0, 1));
  if (lc) add(call(li, rr), cd(0, 1));
  for (auto& x : out) x /= overlap;
  return out;
}

std::vector<double> decay_rate_derivative(std::complex<double> lambda,
                                          const std::vector<std::complex<double>>& dlambda) {
  std::vector<double> out;
  for (const cd& d : dlambda) out.push_back(-(d / lambda).real());
  return out;
}

EigenvalueSensitivity eigenvalue_sensitivity(const Spectrum& s, std::size_t index,
                                             const LinearMap& phi_transpose,
                                             const MapDerivative& dphi,
                                             const SpectrumSettings& settings) {
  if (index >= s.eigenvalues.size())
    throw std::out_of_range("eigenvalue index " + std::to_string(index) + " out of range");
  settings.validate(packed_size(s.dim));
  const Eigenpairs left = leading_eigenpairs(phi_transpose, s.dim, settings);
  Spectrum ls;
  ls.eigenvalues = left.values;
  for (const auto& v : left.vectors) ls.eigenvectors.push_back(unpack_matrix<cd>(v, s.dim));
  const cd lambda = s.eigenvalues[index];
  const double tol = std::max(1e-8, 100 * settings.tolerance) * std::max(1.0, std::abs(lambda));
  const auto l = simple_eigenvector(ls, lambda, tol);
  if (!l) throw std::runtime_error("the eigenvalue is not simple in the transposed map");
  EigenvalueSensitivity out;
  out.eigenvalue = lambda;
  out.eigenvalue_derivative = eigenvalue_derivative(*l, s.eigenvectors[index], dphi);
  out.decay_rate_derivative = decay_rate_derivative(lambda, out.eigenvalue_derivative);
  out.matvecs = left.matvecs;
  return out;
}

EigenvalueSensitivity decay_sensitivity(const Spectrum& s, const LinearMap& phi_transpose,
                                        const MapDerivative& dphi,
                                        const SpectrumSettings& settings) {
  if (!s.slowest_mode) throw std::runtime_error("the spectrum has no decaying mode");
  return eigenvalue_sensitivity(s, *s.slowest_mode, phi_transpose, dphi, settings);
}

}  // namespace qbopt

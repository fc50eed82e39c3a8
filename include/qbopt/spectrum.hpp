#pragma once
// Spectral stability of a collision channel (issue 8): the leading eigenvalues of the one-step
// map Phi acting on real symmetric N x N matrices, its steady states, the relaxation time and
// the first-order sensitivity of an eigenvalue to the control parameters.
//
// The map is given as callbacks, not as a CollisionModel, so that any model (and any future
// control vector) plugs in through a two-line adaptor:
//   LinearMap phi = [&](const State& in, State& out) { model.apply(qubit, in, out); };
#include <Eigen/Dense>
#include <complex>
#include <functional>
#include <optional>
#include <qbopt/interrupt.hpp>
#include <qbopt/model.hpp>
#include <qbopt/state.hpp>
#include <vector>

namespace qbopt {

// out = Phi(in) (or Phi^T(in) for the transposed map). `in` holds a general symmetric matrix:
// top() = N-1, diagonal() = false, super-diagonal mirrored. `out` has dimension N and must be
// overwritten entirely (levels 0..N-1).
using LinearMap = std::function<void(const State& in, State& out)>;

// d<left, Phi(right)>/dtheta_i for every control parameter theta_i, with <A, B> = sum_mn A_mn B_mn
// the Frobenius product of the full symmetric matrices.
using MapDerivative = std::function<std::vector<double>(const State& left, const State& right)>;

// The maps of one step of a model with a fixed qubit: Phi, its transpose (Frobenius product)
// and d<left, Phi(right)>/d(each control the qubit carries: c, q[, g]). `model` must outlive
// the returned callbacks.
struct StepMaps {
  LinearMap phi, phi_transpose;
  MapDerivative derivative;
};
StepMaps step_maps(const CollisionModel& model, const Qubit& qubit);

struct SpectrumSettings {
  int count = 6;                // K: eigenvalues wanted (largest modulus); 1 <= K <= n - 2
  int krylov_dim = 0;           // ncv; 0 = min(n, max(2K+1, 20)); otherwise K+2 <= ncv <= n
  int max_restarts = 1000;      // implicit restarts of the Arnoldi iteration
  double tolerance = 1e-10;     // Spectra's relative Ritz-residual tolerance
  // p: Arnoldi runs on Phi^p (p collisions per step; same eigenvectors, eigenvalues lambda^p,
  // lambda recovered by the Rayleigh quotient). Odd, so that lambda and -lambda (both occur
  // near trapping) stay apart.
  int power = 5;                // odd, >= 1
  // Extra Arnoldi runs on the map with the eigenvectors found so far deflated: one Krylov
  // space sees a single direction of a degenerate eigenspace (several trapping chambers at
  // fine-tuned g give eigenvalue 1 several times), the deflated run finds the other copies.
  // Each round is one more Arnoldi run for K eigenvalues of the deflated map, first as a probe
  // at tolerance 1e-6 (repeated at `tolerance` only when it finds a candidate); rounds stop
  // once nothing larger than the K-th appears. Costs about 2x the single run at N = 150;
  // 0 trusts the first run (but at g = pi/2, N = 36 it then sees only 2 of the 3 chambers).
  int deflation_rounds = 1;     // >= 0
  double unit_tolerance = 1e-9;  // |lambda - 1| below this: a steady state, not a decay mode
  // Polled before every application of the map; true stops the computation with Interrupted
  // (no partial spectrum is returned). Called on the calling thread only.
  StopHook should_stop;

  // Throws std::invalid_argument naming the first bad field (needs n = N(N+1)/2 for ncv).
  void validate(long n) const;
  // The Krylov dimension actually used for a problem of size n.
  int krylov_dim_for(long n) const;
};

// A fixed point of Phi from an eigenvector of eigenvalue ~1, normalized to Tr r = 1.
struct SteadyState {
  std::complex<double> eigenvalue;
  State state;
  std::vector<double> populations;
  double energy = 0, ergotropy = 0, purity = 0;
};

struct Spectrum {
  int dim = 0;  // N
  // Decreasing modulus (at most K; fewer only when Spectra did not converge).
  std::vector<std::complex<double>> eigenvalues;
  // Right eigenvectors in the r representation (complex symmetric N x N, unit Frobenius norm;
  // real, with a fixed sign, for a real eigenvalue).
  std::vector<Eigen::MatrixXcd> eigenvectors;
  long matvecs = 0;        // applications of the map, all runs included
  bool converged = false;  // every Arnoldi run reached the tolerance
  // -1/ln|lambda_1|, lambda_1 the largest-modulus eigenvalue not within unit_tolerance of 1:
  // collisions for the slowest decay mode to shrink by e. Empty when every eigenvalue found
  // is 1 (or lambda_1 = 0).
  std::optional<double> lifetime;
  std::optional<std::size_t> slowest_mode;  // index of lambda_1 in `eigenvalues`
  // One per eigenvalue within unit_tolerance of 1. A degenerate eigenvalue 1 is split into
  // the steady states of its disjoint level blocks (trapping chambers) when these can be
  // identified (see split_steady_states in spectrum.cpp; each split state's `eigenvalue` is
  // then its Rayleigh quotient); otherwise the eigenvectors are reported as the solver
  // returned them (a basis of the steady-state space, not necessarily density matrices).
  std::vector<SteadyState> steady_states;
  bool steady_states_split = false;  // the chamber split above was applied
};

// Leading eigenvalues and right eigenvectors of Phi on real symmetric N x N matrices,
// Phi r = lambda r, matrix-free (implicitly restarted Arnoldi, Spectra::GenEigsSolver).
Spectrum spectrum(const LinearMap& phi, int N, const SpectrumSettings& settings = {});

// ||Phi(v) - lambda v||_F / ||v||_F for an eigenpair (complex v by linearity).
double eigen_residual(const LinearMap& phi, std::complex<double> lambda, const Eigen::MatrixXcd& v);

// The eigenvector of `s` whose eigenvalue is nearest `lambda`, if that eigenvalue is within
// `tol` of lambda and no other one is (a simple eigenvalue).
std::optional<Eigen::MatrixXcd> simple_eigenvector(const Spectrum& s, std::complex<double> lambda,
                                                   double tol = 1e-8);

// First-order perturbation of a simple eigenvalue:
// d lambda/d theta_i = <l, dPhi/dtheta_i r> / <l, r> with <.,.> bilinear (no conjugation),
// l the left eigenvector (Phi^T l = lambda l), r the right one. Complex l, r go through four
// real callbacks by bilinearity.
std::vector<std::complex<double>> eigenvalue_derivative(const Eigen::MatrixXcd& left,
                                                        const Eigen::MatrixXcd& right,
                                                        const MapDerivative& dphi);

// d(1/lifetime)/dtheta_i = d(-ln|lambda|)/dtheta_i = -Re(dlambda_i / lambda).
std::vector<double> decay_rate_derivative(std::complex<double> lambda,
                                          const std::vector<std::complex<double>>& dlambda);

// Sensitivity of eigenvalue `index` of a computed spectrum: finds the left eigenvector with
// an Arnoldi run on the transposed map (same settings), returns d lambda/d theta and
// d(-ln|lambda|)/d theta. Throws std::runtime_error when the eigenvalue is not simple in the
// transposed run (within max(1e-8, 100 tolerance) |lambda|), std::out_of_range on a bad index.
struct EigenvalueSensitivity {
  std::complex<double> eigenvalue;
  std::vector<std::complex<double>> eigenvalue_derivative;
  std::vector<double> decay_rate_derivative;  // of -ln|lambda| (1/lifetime for lambda_1)
  long matvecs = 0;                           // of the transposed run
};
EigenvalueSensitivity eigenvalue_sensitivity(const Spectrum& s, std::size_t index,
                                             const LinearMap& phi_transpose,
                                             const MapDerivative& dphi,
                                             const SpectrumSettings& settings = {});
// The same for the slowest decay mode lambda_1 (d(1/lifetime)/d theta); throws
// std::runtime_error when the spectrum has none.
EigenvalueSensitivity decay_sensitivity(const Spectrum& s, const LinearMap& phi_transpose,
                                        const MapDerivative& dphi,
                                        const SpectrumSettings& settings = {});

}  // namespace qbopt

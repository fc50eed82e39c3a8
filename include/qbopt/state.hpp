#pragma once
// The battery state in the real symmetric representation of docs/physics.md section 3:
// rho_mn = (-i)^(m-n) r_mn with r real symmetric.
#include <Eigen/Dense>
#include <complex>
#include <cstddef>
#include <qbopt/zeroed_buffer.hpp>
#include <vector>

namespace qbopt {

// A real symmetric N x N matrix on the Fock levels 0..N-1, stored so that the collision
// stencil can read its neighbours without bounds checks: a zero border around the matrix,
// the lower triangle plus the first super-diagonal kept valid. The same type holds states
// r and their adjoints (cotangents) in reverse mode.
class State {
 public:
  State() = default;
  // |0><0| on N levels.
  explicit State(int N);
  // From a dense real symmetric matrix (only its lower triangle is read).
  static State from_matrix(const Eigen::MatrixXd& r);
  // Zero matrix (for adjoints).
  static State zeros(int N);
  // `count` zero matrices in one allocation (checkpoints: see ZeroedBuffer::many).
  static std::vector<State> zeros(int N, std::size_t count);
  // From a complex density matrix in the Fock basis (rho_mn = (-i)^(m-n) r_mn), padded with
  // zeros to N levels. Throws std::invalid_argument when rho is larger than N, not Hermitian,
  // not of the micromaser's phase form (|Im r| above 1e-9 of its largest entry: a state
  // written by `qbopt state` or a collision model always is), not of trace 1 (within
  // kLeakageWarning) or not positive semidefinite (within 1e-9 of its largest entry).
  static State from_density_matrix(const Eigen::MatrixXcd& rho, int N);

  // Rows stored per column: N + 2 (the zero border included) rounded up to a multiple of 8,
  // so that one row starts a 64-byte line in every column (aligned vector loads).
  static int leading_dimension(int N) { return (N + 2 + 7) / 8 * 8; }
  // Memory of one state on N levels: 8 ld (N+2) bytes and the room for the buffer's offset.
  static std::size_t bytes(int N) {
    return sizeof(double) * (static_cast<std::size_t>(leading_dimension(N)) *
                                 static_cast<std::size_t>(N + 2) +
                             kOffsetRoom);
  }

  int dim() const { return N_; }
  // Highest level that can be non-zero (after k collisions from |0>, min(k, N-1)).
  int top() const { return top_; }
  // True while every off-diagonal element is zero (c = 0 charging keeps it so).
  bool diagonal() const { return diagonal_; }

  double operator()(int m, int n) const { return m >= n ? at(m, n) : at(n, m); }
  Eigen::MatrixXd matrix() const;           // dense r (N x N)
  Eigen::MatrixXcd density_matrix() const;  // rho = D r D^dag, D = diag((-i)^m)

  // Raw access for kernels (see detail/layout): element (m, n) at data()[(m+1) + (n+1)*ld()].
  int ld() const { return leading_dimension(N_); }
  double* data() { return buf_.data() + offset_; }
  const double* data() const { return buf_.data() + offset_; }
  double& at(int m, int n) { return data()[(m + 1) + (n + 1) * ld()]; }
  double at(int m, int n) const { return data()[(m + 1) + (n + 1) * ld()]; }
  void set_top(int t) { top_ = t; }
  void set_diagonal(bool d) { diagonal_ = d; }
  // Copy the sub-diagonal onto the super-diagonal for levels 0..top (stencil invariant).
  void mirror_superdiagonal();
  // Set every stored element to zero, keep N.
  void clear();

 private:
  State(int N, ZeroedBuffer buf);  // zeros in buf (bytes(N) of it)
  // Each new state starts its matrix at a different multiple of 64 bytes within a 4 KiB page
  // of its buffer. Large buffers all start at the same offset in a page, so element (m, n)
  // of a collision's input and output had equal address bits 0-11, and every load after a
  // store to the other state waited on a false store-to-load dependency ("4K aliasing"):
  // 40% of the adjoint's time at N = 150 (Zen 5).
  static constexpr std::size_t kOffsetRoom = 512;  // doubles: 4 KiB
  int N_ = 0;
  int top_ = 0;
  bool diagonal_ = true;
  int offset_ = 0;        // doubles from buf_'s start to element (-1, -1)
  ZeroedBuffer buf_;      // ld x (N+2) column-major with a zero border, after offset_
};

// Frobenius product <a, b> = sum_mn a_mn b_mn of the full symmetric matrices (the product in
// which transposes and adjoints are taken).
double inner(const State& a, const State& b);

}  // namespace qbopt

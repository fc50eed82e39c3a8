#pragma once
// Wigner quasi-probability function of a cavity state, in QuTiP's convention.
#include <Eigen/Dense>
#include <qbopt/interrupt.hpp>
#include <qbopt/state.hpp>
#include <vector>

namespace qbopt {

// W(x, p) = (e^{-B/2} / pi) Re sum_{m, L} w_L rho_{m,m+L} (-1)^m (2A)^L sqrt(m!/(m+L)!) L_m^(L)(B),
// A = (x + i p) / sqrt 2, B = 4|A|^2, w_0 = 1, w_L = 2: qutip.wigner(rho, x, p) with its
// default g = sqrt 2, normalized so that the integral over dx dp is 1.
// The Laguerre functions are run by their three-term recurrence in m, normalized
// (sqrt(m!/(m+L)!) B^{L/2} e^{-B/2} L_m^(L)(B) stays O(1)) and rescaled in log space, so the
// result stays accurate for N of several hundred; cost O(N^2) per grid point.
// Returns w with w(j, i) = W(x_i, p_j), the layout qutip.wigner returns. `should_stop` is
// polled (from every thread) between the Laguerre bands of each tile; true throws Interrupted.
Eigen::MatrixXd wigner(const Eigen::MatrixXcd& rho, const std::vector<double>& x,
                       const std::vector<double>& p, const StopHook& should_stop = {});
// Of a battery state (its complex rho: the real representation r rotated by 90 degrees).
Eigen::MatrixXd wigner(const State& r, const std::vector<double>& x, const std::vector<double>& p,
                       const StopHook& should_stop = {});

// n points from a to b inclusive (numpy.linspace).
std::vector<double> linspace(double a, double b, int n);

}  // namespace qbopt

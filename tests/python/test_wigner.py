"""Wigner function: against qutip.wigner, normalization, position marginal."""
import math

import numpy as np
import pytest
import qutip

import qbopt

# Agreement with QuTiP asked by the issue; both sum O(N^2) terms of size <= 1/pi in double.
TOL_QUTIP = 1e-10


def random_rho(n, rng):
    a = rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


@pytest.mark.parametrize("n", [2, 7, 40, 150, 300])
def test_random_states_match_qutip(n):
    rng = np.random.default_rng(n)
    rho = random_rho(n, rng)
    x = np.linspace(-7, 7, 29)
    p = np.linspace(-6, 8, 31)  # different from x: checks the w[j][i] = W(x_i, p_j) layout
    ours = qbopt.wigner(rho, x, p)
    ref = qutip.wigner(qutip.Qobj(rho), x, p)
    err = np.abs(ours - ref).max()
    print(f"N={n}: max |W - W_qutip| = {err:.2e}")
    assert ours.shape == (len(p), len(x))
    assert err < TOL_QUTIP


def test_vacuum_closed_form():
    # W of |0><0| is exp(-x^2 - p^2) / pi. (qutip.wigner's Clenshaw path doubles it for a 1 x 1
    # matrix, so the vacuum is checked against the closed form rather than QuTiP.)
    x = np.linspace(-3, 3, 13)
    w = qbopt.wigner(np.eye(1), x, x)
    ref = np.exp(-x[None, :] ** 2 - x[:, None] ** 2) / math.pi
    assert np.abs(w - ref).max() < 1e-15


def test_paper_steady_state_matches_qutip():
    st = qbopt.state([(0.39, 0.168, 20000)], nc=150)
    x = np.linspace(-12, 12, 61)
    ours = qbopt.wigner(st, x, x)
    ref = qutip.wigner(qbopt.to_qutip(st), x, x)
    err = np.abs(ours - ref).max()
    print(f"lambda=10 state after 2e4 collisions: max error {err:.2e}")
    assert err < TOL_QUTIP
    # The paper's crescent: maximum on the p < 0 axis, x ~ 0, p ~ -5 (Fig. 5).
    j, i = np.unravel_index(np.argmax(ours), ours.shape)
    assert abs(x[i]) < 1.0 and -6.5 < x[j] < -3.5


def hermite_functions(nmax, x):
    """psi_n(x) = pi^-1/4 (2^n n!)^-1/2 H_n(x) e^{-x^2/2} by the stable recurrence."""
    psi = np.zeros((nmax, len(x)))
    psi[0] = math.pi ** -0.25 * np.exp(-x * x / 2)
    if nmax > 1:
        psi[1] = math.sqrt(2) * x * psi[0]
    for n in range(2, nmax):
        psi[n] = math.sqrt(2 / n) * x * psi[n - 1] - math.sqrt((n - 1) / n) * psi[n - 2]
    return psi


def test_normalization_and_position_marginal():
    st = qbopt.state([(0.5, 0.2, 300)], nc=80)
    x = np.linspace(-16, 16, 321)
    w = qbopt.wigner(st, x, x)
    dx = x[1] - x[0]
    # The state decays like e^{-x^2} well inside the grid: the trapezoid rule is spectrally
    # accurate for such integrands, so 1e-9 is a loose bound.
    total = np.trapz(np.trapz(w, x, axis=1), x)
    print(f"integral of W = {total:.12f}")
    assert abs(total - np.trace(st["rho"]).real) < 1e-9  # Tr rho = 1 - leakage
    marginal = np.trapz(w, x, axis=0)  # integrate over p (rows)
    psi = hermite_functions(80, x)
    rho = st["rho"]
    density = np.real(np.einsum("mi,mn,ni->i", psi, rho, psi))
    err = np.abs(marginal - density).max()
    print(f"max |int W dp - <x|rho|x>| = {err:.2e} (dx = {dx})")
    assert err < 1e-9


def test_far_from_the_state_is_zero_not_nan():
    # Regression: the recurrence overflowed between rescalings and returned NaN there.
    st = qbopt.state([(0.39, 0.168, 2000)], nc=100)
    w = qbopt.wigner(st, [1e15, 1e300, 40.0], [0.0])
    assert np.all(np.isfinite(w)) and np.all(w[0, :2] == 0)


def test_bad_input_raises_value_error():
    with pytest.raises(ValueError):
        qbopt.wigner(np.ones((2, 3)), [0.0])
    with pytest.raises(ValueError):
        qbopt.wigner(np.eye(2) / 2, [float("nan")])

#!/usr/bin/python3
"""Metastable states (issue 8, item 2): is the state after k collisions in the span of the K
slowest eigenvectors of the one-step map, and when does it leave that manifold?

For the paper's Sec. 3.1 lambda = 10 optimum (c, q) = (0.390, 0.168) at N = 120:
 1. the K slowest right eigenvectors v_j of Phi (qbopt.spectrum), taken back to the real
    r representation (r_mn = i^(m-n) rho_mn), and the real and imaginary parts of each as a basis;
 2. the state r_k after k collisions from |0><0| (qbopt.state), projected on that basis by least
    squares in the Frobenius product; the relative residual ||r_k - P r_k||_F / ||r_k||_F says
    how far r_k is from the span;
 3. the weight b_k of the slowest non-stationary mode lambda_1 in the K = 2 fit (r_k ~ a v_0 +
    b_k v_1): inside the metastable manifold b_k = b_k0 lambda_1^(k - k0), so the state leaves it
    (decays to the true steady state) on the scale of the lifetime -1/ln|lambda_1|.

    PYTHONPATH=build/python /usr/bin/python3 bench/metastability.py [--nc 120] [--kmax 1000000]
"""
from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

import qbopt


def r_representation(rho: np.ndarray) -> np.ndarray:
    """rho_mn = (-i)^(m-n) r_mn (State::density_matrix), inverted."""
    m = np.arange(rho.shape[0])
    return rho * (1j) ** ((m[:, None] - m[None, :]) % 4)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nc", type=int, default=120)
    ap.add_argument("--c", type=float, default=0.390)
    ap.add_argument("--q", type=float, default=0.168)
    ap.add_argument("--count", type=int, default=8, help="eigenvalues computed (K <= count)")
    ap.add_argument("--kmax", type=int, default=1000000)
    ap.add_argument("--threshold", type=float, default=1e-3)
    a = ap.parse_args()

    t0 = time.time()
    sp = qbopt.spectrum((a.c, a.q), nc=a.nc, count=a.count)
    lam = sp["eigenvalues"]
    vecs = [r_representation(v) for v in sp["eigenvectors"]]
    print(f"(c, q) = ({a.c}, {a.q}), N = {a.nc}: spectrum in {time.time() - t0:.1f} s, "
          f"converged {sp['converged']}")
    for j, x in enumerate(lam):
        life = -1 / math.log(abs(x)) if abs(x) < 1 else math.inf
        print(f"  lambda_{j} = {x.real:.15f} {x.imag:+.3e}i   1/(-ln|lambda|) = {life:.4g}")

    ks = sorted({int(round(x)) for x in np.logspace(0, math.log10(a.kmax), 25)}
                | {1000, 2000, 3000, 5000, 10000, 100000})
    ks = [k for k in ks if k <= a.kmax]
    Ks = [k for k in (1, 2, 3, 4, 6, a.count) if k <= len(lam)]
    Ks = sorted(set(Ks))

    def basis(K):
        cols = []
        for v in vecs[:K]:
            cols.append(v.real.ravel())
            if np.abs(v.imag).max() > 0:
                cols.append(v.imag.ravel())
        return np.array(cols).T

    bases = {K: basis(K) for K in Ks}
    rows = []
    t0 = time.time()
    for k in ks:
        r = r_representation(qbopt.state([(a.c, a.q, k)], nc=a.nc)["rho"]).real.ravel()
        res = {}
        for K, A in bases.items():
            x, *_ = np.linalg.lstsq(A, r, rcond=None)
            res[K] = np.linalg.norm(r - A @ x) / np.linalg.norm(r)
            if K == 2:
                b = x[1]  # weight of the lambda_1 eigenvector (both vectors real here)
        rows.append((k, res, b))
    print(f"{len(ks)} states in {time.time() - t0:.1f} s\n")
    print("relative residual ||r_k - P_K r_k||_F / ||r_k||_F of the projection on the K slowest "
          "eigenvectors, and the weight b_k of the lambda_1 mode (K = 2 fit):")
    print(f"{'k':>9} " + " ".join(f"{'K=' + str(K):>10}" for K in Ks) + f" {'b_k':>12} {'b_k pred':>12}")
    # Prediction inside the manifold: b_k = b_k0 lambda_1^(k - k0), anchored at the first k
    # whose K = 2 residual is at rounding level (1e-10), where the fast modes are gone.
    k0 = next((k for k, res, _ in rows if res.get(2, 1) < 1e-10), None)
    b0 = next((b for k, res, b in rows if k == k0), None)
    for k, res, b in rows:
        pred = b0 * abs(lam[1]) ** (k - k0) if k0 is not None and k >= k0 else float("nan")
        print(f"{k:>9} " + " ".join(f"{res[K]:>10.2e}" for K in Ks) + f" {b:>12.6f} {pred:>12.6f}")
    print()
    for K in Ks:
        first = next((k for k, _res, _b in rows
                      if all(r2[K] < a.threshold for k2, r2, _b2 in rows if k2 >= k)), None)
        print(f"K = {K}: residual below {a.threshold:g} for every k >= {first}")
    if k0 is not None:
        worst = max(abs(b - b0 * abs(lam[1]) ** (k - k0)) / abs(b) for k, _res, b in rows if k >= k0)
        print(f"b_k against b_k0 |lambda_1|^(k - k0) for k >= {k0}: largest relative deviation "
              f"{worst:.2e}")
    if k0 is not None:
        life = -1 / math.log(abs(lam[1]))
        drop = 0.1
        print(f"lambda_1 mode weight: b_k = {b0:.6f} at k0 = {k0}; inside the manifold it decays as "
              f"|lambda_1|^k, lifetime {life:.4g}: the state leaves the metastable manifold "
              f"(b_k down {100 * drop:.0f} %) from k ~ {k0 + life * -math.log(1 - drop):.3g}, "
              f"and is at the true steady state (b_k < 1e-3 b_k0) from k ~ {k0 + life * math.log(1e3):.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

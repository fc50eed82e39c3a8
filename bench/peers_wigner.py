#!/usr/bin/env python3
"""Wigner function on a 201 x 201 grid at N = 150: qbopt.wigner vs qutip.wigner side by side.

Run with /usr/bin/python3 and PYTHONPATH=<build>/python. The state is the paper's lambda = 10
optimum after 10^4 collisions (a populated, coherent state). Prints a Markdown table.
"""
import argparse
import time

import numpy as np
import qutip

import qbopt


def best_of(fn, repeats):
    """Minimum wall time of `repeats` calls (the least disturbed run)."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nc", type=int, default=150)
    ap.add_argument("--points", type=int, default=201)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    st = qbopt.state([(0.39, 0.168, 10000)], nc=a.nc)
    x = np.linspace(-12, 12, a.points)
    rho_q = qbopt.to_qutip(st)
    t_q, w_q = best_of(lambda: qutip.wigner(rho_q, x, x), a.repeats)
    t_c, w_c = best_of(lambda: qbopt.wigner(st, x, x), a.repeats)
    err = np.abs(w_q - w_c).max()
    print(f"Wigner, {a.points} x {a.points} grid, N = {a.nc}, best of {a.repeats}; max |difference| = {err:.1e}")
    print("| method | time (ms) | ratio |")
    print("|---|---:|---:|")
    print(f"| qutip.wigner (default, Clenshaw), QuTiP {qutip.__version__} | {1e3 * t_q:.1f} | 1 |")
    print(f"| qbopt.wigner | {1e3 * t_c:.1f} | {t_q / t_c:.1f}x faster |")


if __name__ == "__main__":
    main()

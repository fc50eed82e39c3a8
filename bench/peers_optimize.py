#!/usr/bin/python3
"""Peer benchmark: the paper's Sec. 3.1 lambda = 1 optimization in SciPy/NumPy vs. `qbopt optimize`.

Problem (see /work/shared/PHYSICS.md, sections 2 and 4): one batch of n = 1000 identical qubits,
N = 120 levels, g = pi/sqrt(15.6), loss Eq. (11) with cbar = c, qbar = q and the penalty
lambda * sum_{k=n-h+1..n} |E_k - E_{k-1}|, h = round(0.2 n), lambda = 1; start (c, q) = (0.5, 0.2),
bounds [0, 1]^2.

Peers:
  * the paper's route: scipy.optimize.minimize(method='L-BFGS-B', jac=None), i.e. finite-difference
    gradients, on the vectorized NumPy O(N^2) collision of bench/peers_collision.py; every loss
    evaluation (including the finite-difference ones) is counted through a wrapper;
  * qbopt: `<build>/qbopt optimize ...` (exact reverse-mode gradient, LBFGSpp L-BFGS-B).

Run with the Debian interpreter (it has numpy and scipy):
    /usr/bin/python3 bench/peers_optimize.py [--build build] [--json out.json] [--quick]
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import scipy
import scipy.optimize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers_collision import G, FastCollision, blas_libraries  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = (0.5, 0.2)  # initial (c, q)
CHECK_POINT = (0.31, 0.145)  # paper's lambda = 1 optimum, used for the cross-check of the loss
CHECK_RTOL = 1e-9


def simulate(c, q, n_collisions, n_levels, g=G):
    """Run n collisions at (c, q) from |0><0| with the O(N^2) NumPy update; return (E_0..E_n, final r)."""
    fast = FastCollision(n_levels, c, q, g)
    r0 = np.zeros((n_levels, n_levels))
    r0[0, 0] = 1.0
    fast.load(r0)
    levels = np.arange(n_levels, dtype=float)
    energy = np.empty(n_collisions + 1)
    energy[0] = 0.0
    for k in range(n_collisions):
        # Before collision k the support is levels 0..k: updating the leading (k+2) block is exact.
        fast.step(size=min(k + 2, n_levels))
        energy[k + 1] = levels @ np.diagonal(fast.pad_in)[1:-1]
    return energy, fast.state()


def ergotropy(r):
    """Ergotropy Eq. (10): E - sum_k k lambda_k^down, eigenvalues from numpy.linalg.eigvalsh."""
    lam = np.linalg.eigvalsh(r)[::-1]  # descending
    levels = np.arange(r.shape[0], dtype=float)
    return float(levels @ np.diagonal(r) - levels @ lam)


def window(n, eta):
    """Penalty window h = round(eta n) (half away from zero, as std::lround), clamped to [1, n]."""
    return min(max(int(np.floor(eta * n + 0.5)), 1 if n > 0 else 0), n)


def loss_eq11(c, q, energy, w, lam, eta):
    """Loss Eq. (11) for one batch (cbar = c, qbar = q): -W(1-c)(1-q)/(W+(1-c)+(1-q)) + lambda sum |dE| over eta."""
    n = len(energy) - 1
    h = window(n, eta)
    u, v = 1.0 - c, 1.0 - q
    den = w + u + v
    first = -w * u * v / den if den != 0 else 0.0
    penalty = lam * float(np.sum(np.abs(np.diff(energy[n - h:])))) if h > 0 else 0.0
    return first + penalty, penalty


class CountedLoss:
    """Loss wrapper for SciPy: evaluates Eq. (11) at x = (c, q) and counts every call."""

    def __init__(self, n_collisions, n_levels, lam, eta):
        """Store the problem size and loss settings; zero the counter."""
        self.n, self.nl, self.lam, self.eta = n_collisions, n_levels, lam, eta
        self.calls = 0

    def details(self, c, q):
        """Full evaluation at (c, q): dict with loss, ergotropy, penalty, final energy and leakage."""
        energy, r = simulate(c, q, self.n, self.nl)
        w = ergotropy(r)
        value, penalty = loss_eq11(c, q, energy, w, self.lam, self.eta)
        return {"loss": value, "ergotropy": w, "penalty": penalty, "energy": float(energy[-1]),
                "leakage": float(1.0 - np.trace(r))}

    def __call__(self, x):
        """Counted loss value at x = (c, q) (the function handed to scipy.optimize.minimize)."""
        self.calls += 1
        return self.details(float(x[0]), float(x[1]))["loss"]


def qbopt_exe(build):
    """Path of the qbopt executable in the build dir (relative dirs are taken from the repo root)."""
    exe = os.path.join(REPO, build, "qbopt")
    if not os.access(exe, os.X_OK):
        sys.exit(f"error: {exe} not found or not executable (build it: cmake --build <dir> --target qbopt)")
    return exe


def run_qbopt(exe, command, c, q, n_collisions, n_levels, lam, eta):
    """Run `qbopt <command>` on one batch, return (parsed JSON output, wall time of the command in s)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        cmd = [exe, command, "--nc", str(n_levels), "--batch", f"{c!r},{q!r},{n_collisions}",
               "--lambda", repr(lam), "--eta", repr(eta), "--out", out]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        if proc.stderr.strip():
            print(f"qbopt {command} stderr: {proc.stderr.strip()}", file=sys.stderr)
        with open(out) as f:
            return json.load(f), wall


def check_loss(exe, fn):
    """Assert the NumPy loss at CHECK_POINT equals `qbopt loss` to CHECK_RTOL relative; return both values."""
    c, q = CHECK_POINT
    ours = fn.details(c, q)["loss"]
    data, _ = run_qbopt(exe, "loss", c, q, fn.n, fn.nl, fn.lam, fn.eta)
    theirs = float(data["loss"])
    rel = abs(ours - theirs) / max(abs(theirs), 1e-300)
    if not rel <= CHECK_RTOL:
        raise SystemExit(f"LOSS MISMATCH at (c, q) = {CHECK_POINT}: NumPy {ours!r} vs qbopt {theirs!r} "
                         f"(relative difference {rel:.3e} > {CHECK_RTOL:g})")
    return ours, theirs, rel


def fmt(x, digits):
    """Format a number for the table, '-' when missing."""
    return "-" if x is None else f"{x:.{digits}f}"


def main():
    """Check the loss, run both optimizations, print a Markdown table and optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="CMake build dir (relative to the repo root)")
    ap.add_argument("--json", help="write the results as JSON to this path")
    ap.add_argument("--quick", action="store_true", help="smoke run: n = 200 collisions, N = 60")
    args = ap.parse_args()

    t_start = time.perf_counter()
    n_collisions, n_levels = (200, 60) if args.quick else (1000, 120)
    lam, eta = 1.0, 0.2
    exe = qbopt_exe(args.build)
    fn = CountedLoss(n_collisions, n_levels, lam, eta)

    ours, theirs, rel = check_loss(exe, fn)
    print(f"loss check at (c, q) = {CHECK_POINT}, n = {n_collisions}, N = {n_levels}: NumPy {ours:.15g}, "
          f"qbopt {theirs:.15g}, relative difference {rel:.2e} (<= {CHECK_RTOL:g})")

    # Peer route: SciPy L-BFGS-B with finite-difference gradients (all defaults otherwise).
    fn.calls = 0
    t0 = time.perf_counter()
    res = scipy.optimize.minimize(fn, np.array(START), method="L-BFGS-B", jac=None,
                                  bounds=[(0.0, 1.0), (0.0, 1.0)])
    numpy_wall = time.perf_counter() - t0
    numpy_evals = fn.calls
    c_np, q_np = float(res.x[0]), float(res.x[1])
    final_np = fn.details(c_np, q_np)  # not counted, not timed

    # qbopt route.
    qb, qbopt_wall = run_qbopt(exe, "optimize", START[0], START[1], n_collisions, n_levels, lam, eta)
    c_qb, q_qb = float(qb["params"][0]["c"]), float(qb["params"][0]["q"])

    rows = [
        {"route": "SciPy L-BFGS-B (FD) + NumPy O(N^2)", "c": c_np, "q": q_np, "loss": float(res.fun),
         "ergotropy": final_np["ergotropy"], "iterations": int(res.nit), "evaluations": numpy_evals,
         "wall_s": numpy_wall},
        {"route": "qbopt optimize", "c": c_qb, "q": q_qb, "loss": float(qb["loss"]),
         "ergotropy": float(qb["ergotropy"]), "iterations": int(qb["iterations"]),
         "evaluations": int(qb["evaluations"]), "wall_s": qbopt_wall},
    ]
    per_eval = numpy_wall / numpy_evals

    blas = blas_libraries()
    print(f"\nSec. 3.1 lambda = {lam:g}: n = {n_collisions}, N = {n_levels}, g = pi/sqrt(15.6), eta = {eta} "
          f"(h = {window(n_collisions, eta)}), start {START}, "
          f"bounds [0, 1]^2")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, python {platform.python_version()}, "
          f"BLAS: {', '.join(blas) or 'unknown'}\n")
    print("| route | c | q | loss | W | iterations | loss evaluations | wall time (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['route']} | {r['c']:.4f} | {r['q']:.4f} | {r['loss']:.8f} | {r['ergotropy']:.4f} "
              f"| {r['iterations']} | {r['evaluations']} | {fmt(r['wall_s'], 3)} |")
    wall_ratio = numpy_wall / qbopt_wall
    eval_ratio = numpy_evals / rows[1]["evaluations"]
    print(f"\nratio NumPy/qbopt: wall time {wall_ratio:.1f}x, loss evaluations {eval_ratio:.2f}x")
    print(f"SciPy: nit = {res.nit}, nfev = {res.nfev}, message: {res.message}")
    print(f"qbopt: status: {qb.get('status')}; internal optimizer time {qb['seconds']:.3f} s "
          f"(command wall {qbopt_wall:.3f} s)")
    print(f"NumPy route per loss evaluation: {per_eval * 1e3:.2f} ms "
          f"({per_eval / n_collisions * 1e6:.1f} us per collision incl. ergotropy)")
    print(f"NumPy final point: penalty {final_np['penalty']:.6g}, leakage {final_np['leakage']:.3e}")
    total = time.perf_counter() - t_start
    print(f"\ntotal script time: {total:.1f} s")

    if args.json:
        out = {
            "problem": {"n": n_collisions, "nc": n_levels, "g": G, "lambda": lam, "eta": eta,
                        "start": list(START), "bounds": [[0, 1], [0, 1]], "quick": args.quick},
            "loss_check": {"point": list(CHECK_POINT), "numpy": ours, "qbopt": theirs, "rel_diff": rel,
                           "rtol": CHECK_RTOL},
            "rows": rows,
            "scipy": {"nit": int(res.nit), "nfev": int(res.nfev), "message": str(res.message),
                      "success": bool(res.success), "counted_evaluations": numpy_evals},
            "numpy_final": final_np,
            "qbopt": {"status": qb.get("status"), "seconds": qb["seconds"], "penalty": qb.get("penalty")},
            "ratios": {"wall_numpy_over_qbopt": wall_ratio, "evaluations_numpy_over_qbopt": eval_ratio},
            "numpy_seconds_per_evaluation": per_eval,
            "environment": {"numpy": np.__version__, "scipy": scipy.__version__,
                            "python": platform.python_version(), "blas": blas},
            "total_script_s": total,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()

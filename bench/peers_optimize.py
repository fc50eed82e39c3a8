#!/usr/bin/python3
"""Peer benchmark: the paper's optimizations (Sec. 3.1 lambda = 1; --table: all 8) in SciPy/NumPy vs. qbopt.

Problem (see docs/physics.md, sections 3 and 6): one batch of n = 1000 identical qubits,
N = 120 levels, g = pi/sqrt(15.6), loss Eq. (11) with cbar = c, qbar = q and the penalty
lambda * sum_{k=n-h+1..n} |E_k - E_{k-1}|, h = round(0.2 n), lambda = 1; start (c, q) = (0.5, 0.2),
bounds [0, 1]^2.

Peers:
  * the paper's route: scipy.optimize.minimize(method='L-BFGS-B', jac=None), i.e. finite-difference
    gradients, on the vectorized NumPy O(N^2) collision of bench/peers_collision.py; every loss
    evaluation (including the finite-difference ones) is counted through a wrapper;
  * qbopt: `<build>/qbopt optimize ...` (exact reverse-mode gradient, LBFGSpp L-BFGS-B).

With --table, all 8 scenarios of examples/*.toml (Secs. 3.1, 3.2 and the improved strategy) run
through both routes side by side: SciPy L-BFGS-B (jac=None, bounds [0, 1] on the free (c, q) only,
fixed batches held constant, SciPy defaults otherwise) on the multi-batch NumPy simulation (per-
collision (c, q) from the batch list, Eq. (11) with count-weighted cbar, qbar), and
`qbopt optimize <file.toml> --out <tmp>.json`. Before the runs, the NumPy loss is checked against
`qbopt loss` on two-batch schedules (relative 1e-9); a mismatch stops the script.

Run with the Debian interpreter (it has numpy and scipy):
    /usr/bin/python3 bench/peers_optimize.py [--build build] [--json out.json] [--quick]
    /usr/bin/python3 bench/peers_optimize.py --table [--build build] [--json out.json]
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import tomllib

import numpy as np
import scipy
import scipy.optimize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers_collision import G, FastCollision, blas_libraries  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START = (0.5, 0.2)  # initial (c, q)
CHECK_POINT = (0.31, 0.145)  # paper's lambda = 1 optimum, used for the cross-check of the loss
CHECK_RTOL = 1e-9


def simulate_schedule(batches, n_levels, g=G):
    """Run a schedule [(c, q, count), ...] from |0><0| (batch after batch) with the O(N^2) NumPy update.

    Every collision uses the (c, q) of the batch it belongs to; returns (E_0..E_n, final r).
    """
    n_collisions = sum(int(count) for _, _, count in batches)
    r = np.zeros((n_levels, n_levels))
    r[0, 0] = 1.0
    levels = np.arange(n_levels, dtype=float)
    energy = np.empty(n_collisions + 1)
    energy[0] = 0.0
    k = 0  # global collision index
    for c, q, count in batches:
        fast = FastCollision(n_levels, c, q, g)
        fast.load(r)
        for _ in range(int(count)):
            # Before collision k the support is levels 0..k: updating the leading (k+2) block is exact.
            fast.step(size=min(k + 2, n_levels))
            energy[k + 1] = levels @ np.diagonal(fast.pad_in)[1:-1]
            k += 1
        r = fast.state()
    return energy, r


def simulate(c, q, n_collisions, n_levels, g=G):
    """Run n collisions at (c, q) from |0><0| with the O(N^2) NumPy update; return (E_0..E_n, final r)."""
    return simulate_schedule([(c, q, n_collisions)], n_levels, g)


def ergotropy(r):
    """Ergotropy Eq. (10): E - sum_k k lambda_k^down, eigenvalues from numpy.linalg.eigvalsh."""
    lam = np.linalg.eigvalsh(r)[::-1]  # descending
    levels = np.arange(r.shape[0], dtype=float)
    return float(levels @ np.diagonal(r) - levels @ lam)


def window(n, eta):
    """Penalty window h = round(eta n) (half away from zero, as std::lround), clamped to [1, n]."""
    return min(max(int(np.floor(eta * n + 0.5)), 1 if n > 0 else 0), n)


def mean_cq(batches):
    """Count-weighted means (cbar, qbar) of c and q over all qubits of the schedule (docs/physics.md section 6)."""
    n = sum(int(count) for _, _, count in batches)
    cbar = sum(c * int(count) for c, _, count in batches) / n
    qbar = sum(q * int(count) for _, q, count in batches) / n
    return cbar, qbar


def loss_eq11(c, q, energy, w, lam, eta):
    """Loss Eq. (11) with cbar = c, qbar = q: -W(1-c)(1-q)/(W+(1-c)+(1-q)) + lambda sum |dE| over eta.

    For a schedule of several batches pass the count-weighted means of mean_cq as (c, q).
    """
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


# ---------------------------------------------------------------------------------------------
# --table: all 8 scenarios of examples/*.toml, SciPy (FD) + NumPy vs. `qbopt optimize`.
# ---------------------------------------------------------------------------------------------

TABLE_SCENARIOS = [  # the paper's order: Sec. 3.1, Sec. 3.2, improved strategy
    "paper-3.1-lambda1.toml", "paper-3.1-lambda10.toml", "paper-3.1-lambda100.toml",
    "paper-3.1-lambda1000.toml", "paper-3.2-lambda1.toml", "paper-3.2-lambda10.toml",
    "paper-3.2-lambda100.toml", "paper-improved.toml",
]
# Loss checks on two-batch schedules: (scenario file, batches overriding the file's or None).
# The first is the paper's Sec. 3.2 lambda = 10 optimum (equal counts); the second is the improved
# scenario as written (fixed (0, 0) batch, unequal counts 500/1000: tests the count-weighted means).
TABLE_CHECKS = [
    ("paper-3.2-lambda10.toml", [(0.229, 0.123, 500, False), (0.414, 0.165, 500, False)]),
    ("paper-improved.toml", None),
]


def parse_batch_text(text):
    """Parse a CLI-style batch 'c,q,count[,fixed|free|true|false]' into (c, q, count, fixed)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise ValueError(f"batch '{text}' is not c,q,count[,fixed]")
    fixed = len(parts) == 4 and parts[3].lower() in ("fixed", "true", "1")
    return float(parts[0]), float(parts[1]), int(parts[2]), fixed


def read_scenario(path):
    """Read an examples/*.toml scenario: dict with g, nc, lambda, eta and batches [(c, q, count, fixed)]."""
    with open(path, "rb") as f:
        t = tomllib.load(f)
    loss = t.get("loss", "eq11")
    if loss != "eq11":
        raise SystemExit(f"error: {path}: loss '{loss}' is not supported here (only eq11)")
    raw = t["batch"] if isinstance(t["batch"], list) else [t["batch"]]
    batches = []
    for b in raw:
        if isinstance(b, str):
            batches.append(parse_batch_text(b))
        else:
            batches.append((float(b["c"]), float(b["q"]), int(b["count"]), bool(b.get("fixed", False))))
    return {"name": os.path.splitext(os.path.basename(path))[0], "path": path,
            "g": float(t.get("g", G)), "nc": int(t["nc"]), "lambda": float(t["lambda"]),
            "eta": float(t["eta"]), "batches": batches}


class ScheduleLoss:
    """Loss Eq. (11) of a multi-batch schedule as a function of the free (c, q), counting every call.

    x = (c_1, q_1, c_2, q_2, ...) over the free batches in order; fixed batches keep their values.
    """

    def __init__(self, scenario):
        """Store the scenario (batches, N, g, lambda, eta); zero the counter."""
        self.sc = scenario
        self.free = [i for i, b in enumerate(scenario["batches"]) if not b[3]]
        self.calls = 0

    def x0(self):
        """Starting point: the (c, q) of the free batches as written in the scenario."""
        return np.array([v for i in self.free for v in self.sc["batches"][i][:2]], dtype=float)

    def batches_at(self, x):
        """The schedule [(c, q, count), ...] with the free batches set from x."""
        out = [(b[0], b[1], b[2]) for b in self.sc["batches"]]
        for j, i in enumerate(self.free):
            out[i] = (float(x[2 * j]), float(x[2 * j + 1]), out[i][2])
        return out

    def details(self, x):
        """Full evaluation at x: dict with loss, ergotropy, penalty, final energy and leakage."""
        batches = self.batches_at(x)
        energy, r = simulate_schedule(batches, self.sc["nc"], self.sc["g"])
        w = ergotropy(r)
        cbar, qbar = mean_cq(batches)
        value, penalty = loss_eq11(cbar, qbar, energy, w, self.sc["lambda"], self.sc["eta"])
        return {"loss": value, "ergotropy": w, "penalty": penalty, "energy": float(energy[-1]),
                "leakage": float(1.0 - np.trace(r))}

    def __call__(self, x):
        """Counted loss value at x (the function handed to scipy.optimize.minimize)."""
        self.calls += 1
        return self.details(x)["loss"]


def run_qbopt_file(exe, command, toml_path, batches=None):
    """Run `qbopt <command> <toml> --out tmp.json` (optional --batch overrides).

    Returns (parsed JSON, command wall time in s, child CPU user+sys time in s, stderr text).
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "out.json")
        cmd = [exe, command, toml_path, "--out", out]
        if batches is not None:
            cmd += ["--batch"] + [f"{c!r},{q!r},{n}" + (",fixed" if fx else "") for c, q, n, fx in batches]
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        if proc.returncode != 0:
            sys.exit(f"error: {' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        with open(out) as f:
            return json.load(f), wall, cpu, proc.stderr.strip()


def check_loss_schedule(exe, examples, name, batches):
    """Assert the NumPy Eq. (11) loss equals `qbopt loss` to CHECK_RTOL (relative); return a record."""
    sc = read_scenario(os.path.join(examples, name))
    if batches is not None:
        sc["batches"] = list(batches)
    fn = ScheduleLoss(sc)
    ours = fn.details(fn.x0())["loss"]
    data, _, _, _ = run_qbopt_file(exe, "loss", sc["path"], batches)
    theirs = float(data["loss"])
    used = [(b["c"], b["q"], b["count"], b["fixed"]) for b in data["config"]["batches"]]
    if [tuple(u) for u in used] != [tuple(b) for b in sc["batches"]]:
        raise SystemExit(f"LOSS CHECK SETUP ERROR: qbopt used batches {used}, NumPy {sc['batches']}")
    rel = abs(ours - theirs) / max(abs(theirs), 1e-300)
    rec = {"scenario": name, "batches": [list(b) for b in sc["batches"]], "numpy": ours, "qbopt": theirs,
           "rel_diff": rel, "rtol": CHECK_RTOL}
    if not rel <= CHECK_RTOL:
        raise SystemExit(f"LOSS MISMATCH on {name} at {sc['batches']}: NumPy {ours!r} vs qbopt {theirs!r} "
                         f"(relative difference {rel:.3e} > {CHECK_RTOL:g})")
    return rec


def fmt_params(params):
    """Format [(c, q, fixed), ...] as '(c, q) (c, q)*' with * marking a fixed batch."""
    return " ".join(f"({c:.4f}, {q:.4f})" + ("*" if fx else "") for c, q, fx in params)


def run_table(args):
    """Check the loss, run all scenarios through both routes, print Markdown tables, optionally write JSON."""
    t_start = time.perf_counter()
    exe = qbopt_exe(args.build)
    examples = os.path.join(REPO, "examples")

    checks = []
    for name, batches in TABLE_CHECKS:
        rec = check_loss_schedule(exe, examples, name, batches)
        checks.append(rec)
        print(f"loss check {name} at {[tuple(b[:3]) for b in rec['batches']]}: NumPy {rec['numpy']:.15g}, "
              f"qbopt {rec['qbopt']:.15g}, relative difference {rec['rel_diff']:.2e} (<= {CHECK_RTOL:g})",
              flush=True)

    results = []
    for fname in TABLE_SCENARIOS:
        sc = read_scenario(os.path.join(examples, fname))
        fn = ScheduleLoss(sc)
        x0 = fn.x0()

        # Peer route: SciPy L-BFGS-B with finite-difference gradients (all defaults otherwise).
        fn.calls = 0
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        res = scipy.optimize.minimize(fn, x0, method="L-BFGS-B", jac=None, bounds=[(0.0, 1.0)] * len(x0))
        sp_wall = time.perf_counter() - t0
        sp_cpu = time.process_time() - cpu0
        sp_evals = fn.calls
        sp_final = fn.details(res.x)  # not counted, not timed
        sp_params = [(c, q, b[3]) for (c, q, _), b in zip(fn.batches_at(res.x), sc["batches"])]

        # qbopt route.
        qb, qb_wall, qb_cpu, qb_err = run_qbopt_file(exe, "optimize", sc["path"])
        qb_params = [(float(p["c"]), float(p["q"]), bool(p["fixed"])) for p in qb["params"]]
        # The NumPy loss at qbopt's point (not counted, not timed): both routes minimize the same function.
        qb_x = [v for (c, q, fx) in qb_params if not fx for v in (c, q)]
        numpy_at_qb = fn.details(np.array(qb_x))

        rec = {
            "scenario": sc["name"], "file": os.path.relpath(sc["path"], REPO),
            "problem": {"n": sum(b[2] for b in sc["batches"]), "nc": sc["nc"], "g": sc["g"],
                        "lambda": sc["lambda"], "eta": sc["eta"],
                        "start": [list(b) for b in sc["batches"]], "free_parameters": len(x0)},
            "scipy": {"route": "SciPy L-BFGS-B (FD) + NumPy O(N^2)", "params": sp_params,
                      "loss": float(res.fun), "ergotropy": sp_final["ergotropy"],
                      "penalty": sp_final["penalty"], "leakage": sp_final["leakage"],
                      "iterations": int(res.nit), "evaluations": sp_evals, "nfev": int(res.nfev),
                      "wall_s": sp_wall, "cpu_s": sp_cpu, "message": str(res.message),
                      "success": bool(res.success)},
            "qbopt": {"route": "qbopt optimize", "params": qb_params, "loss": float(qb["loss"]),
                      "ergotropy": float(qb["ergotropy"]), "penalty": qb.get("penalty"),
                      "iterations": int(qb["iterations"]), "evaluations": int(qb["evaluations"]),
                      "wall_s": qb_wall, "cpu_s": qb_cpu, "internal_s": float(qb["seconds"]),
                      "status": qb.get("status"), "stderr": qb_err,
                      "numpy_loss_at_params": numpy_at_qb["loss"],
                      "numpy_leakage_at_params": numpy_at_qb["leakage"]},
        }
        results.append(rec)
        s, q_ = rec["scipy"], rec["qbopt"]
        print(f"{sc['name']}: SciPy loss {s['loss']:.10f} ({s['iterations']} it, {s['evaluations']} ev, "
              f"{s['wall_s']:.2f} s) | qbopt loss {q_['loss']:.10f} ({q_['iterations']} it, "
              f"{q_['evaluations']} ev, {q_['wall_s']:.2f} s)", flush=True)

    sp_total = sum(r["scipy"]["wall_s"] for r in results)
    qb_total = sum(r["qbopt"]["wall_s"] for r in results)
    qb_internal_total = sum(r["qbopt"]["internal_s"] for r in results)
    sp_evals_total = sum(r["scipy"]["evaluations"] for r in results)
    qb_evals_total = sum(r["qbopt"]["evaluations"] for r in results)
    blas = blas_libraries()

    print("\nAll 8 scenarios of examples/*.toml; g from the files (pi/sqrt(15.6)); SciPy L-BFGS-B "
          "jac=None, bounds [0, 1] on free (c, q), defaults otherwise; qbopt optimize with the file's "
          "settings.")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, python {platform.python_version()}, "
          f"BLAS: {', '.join(blas) or 'unknown'}; qbopt: {exe}\n")
    print("| scenario | route | params (c, q) per batch (* fixed) | loss | W | iterations "
          "| loss evaluations | wall time (s) |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for r in results:
        for key in ("scipy", "qbopt"):
            x = r[key]
            print(f"| {r['scenario']} | {x['route']} | {fmt_params(x['params'])} | {x['loss']:.8f} "
                  f"| {x['ergotropy']:.4f} | {x['iterations']} | {x['evaluations']} | {x['wall_s']:.2f} |")
    print("\n| totals | SciPy + NumPy | qbopt | ratio SciPy/qbopt |")
    print("|---|---:|---:|---:|")
    print(f"| wall time (s) | {sp_total:.2f} | {qb_total:.2f} | {sp_total / qb_total:.2f} |")
    print(f"| loss evaluations | {sp_evals_total} | {qb_evals_total} "
          f"| {sp_evals_total / qb_evals_total:.2f} |")
    print(f"\nqbopt wall = `qbopt optimize` command (process start to exit); qbopt's own 'seconds' sum to "
          f"{qb_internal_total:.2f} s. A qbopt evaluation is loss + exact gradient; a SciPy evaluation is "
          f"one loss (finite differences included).")
    for r in results:
        s, q_ = r["scipy"], r["qbopt"]
        print(f"{r['scenario']}: loss SciPy - qbopt = {s['loss'] - q_['loss']:+.3e}; NumPy loss at qbopt's "
              f"point {q_['numpy_loss_at_params']:.12f} (qbopt {q_['loss']:.12f}); SciPy: {s['message']}; "
              f"qbopt: {q_['status']}" + (f"; qbopt stderr: {q_['stderr']}" if q_["stderr"] else ""))
    total = time.perf_counter() - t_start
    print(f"\ntotal script time: {total:.1f} s")

    if args.json:
        out = {
            "mode": "table",
            "loss_checks": checks,
            "scenarios": results,
            "totals": {"scipy_wall_s": sp_total, "qbopt_wall_s": qb_total,
                       "qbopt_internal_s": qb_internal_total,
                       "ratio_wall_scipy_over_qbopt": sp_total / qb_total,
                       "scipy_evaluations": sp_evals_total, "qbopt_evaluations": qb_evals_total},
            "environment": {"numpy": np.__version__, "scipy": scipy.__version__,
                            "python": platform.python_version(), "blas": blas, "qbopt": exe,
                            "cpus": os.cpu_count()},
            "total_script_s": total,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


def fmt(x, digits):
    """Format a number for the table, '-' when missing."""
    return "-" if x is None else f"{x:.{digits}f}"


def main():
    """Single scenario (Sec. 3.1 lambda = 1) or, with --table, all scenarios; see the module docstring."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="CMake build dir (relative to the repo root)")
    ap.add_argument("--json", help="write the results as JSON to this path")
    ap.add_argument("--quick", action="store_true", help="smoke run: n = 200 collisions, N = 60")
    ap.add_argument("--table", action="store_true",
                    help="all 8 scenarios of examples/*.toml through both routes (ignores --quick)")
    args = ap.parse_args()
    if args.table:
        run_table(args)
        return

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

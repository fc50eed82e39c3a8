#!/usr/bin/python3
"""Protocols from the spectral stability loss against the paper's Sec. 3.1 optima (issue 8).

For each weight lambda of `--loss eq11-spectral` (Eq. (11)'s first term + lambda * (-ln|lambda_1|)
of the one-step map), optimizes one batch of n = 1000 qubits from (0.5, 0.2) at N = 120 as the
paper did, then runs every protocol (those optima and the paper's four) for 10^5 collisions at
N = 150 and computes its lifetime -1/ln|lambda_1| with `qbopt spectrum` at N = 150. Prints a
Markdown table (W(10^3), W(10^4), W(10^5), drift |W(10^5) - W(10^4)|, lifetime) and writes the
numbers as JSON.

    /usr/bin/python3 bench/stability_compare.py [--qbopt build/qbopt] [--out stability_compare.json]
        [--lambdas 1e3,1e4,1e5,1e6] [--nc 120]

Only the qbopt CLI is used (its JSON outputs), so this runs without the Python package.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

# The paper's Sec. 3.1 table: lambda of Eq. (11) -> (c, q).
PAPER = {1: (0.310, 0.145), 10: (0.390, 0.168), 100: (0.470, 0.183), 1000: (0.553, 0.190)}
LONG_NC = 150       # the long runs and the spectra (leakage < 1e-9 after 10^5 collisions)
COLLISIONS = 100000


def qbopt(cli: str, *args: str) -> dict:
    """Runs `qbopt ARGS --out TMP.json` and returns the JSON it wrote."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.json")
        r = subprocess.run([cli, *args, "--out", out], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"qbopt {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def long_run(cli: str, c: float, q: float) -> dict:
    """W at 10^3, 10^4, 10^5 collisions (6 log-spaced samples: 1, 10, ..., 10^5) and the lifetime."""
    sim = qbopt(cli, "simulate", "--nc", str(LONG_NC), "--batch", f"{c!r},{q!r},{COLLISIONS}",
                "--samples", "6")
    W = dict(zip(sim["trajectory"]["k"], sim["trajectory"]["ergotropy"]))
    spec = qbopt(cli, "spectrum", "--nc", str(LONG_NC), "--qubit", f"{c!r},{q!r}")
    return {"W1e3": W[1000], "W1e4": W[10000], "W1e5": W[100000],
            "drift": abs(W[100000] - W[10000]), "lifetime": spec["lifetime"],
            "leakage": sim["final"]["leakage"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--qbopt", default=os.environ.get("QBOPT_CLI", "build/qbopt"))
    ap.add_argument("--out", default="stability_compare.json")
    ap.add_argument("--lambdas", default="1e3,1e4,1e5,1e6,1e7",
                    help="weights of the spectral penalty (-ln|lambda_1| ~ 1e-9..1e-5 here)")
    ap.add_argument("--nc", type=int, default=120, help="N of the optimizations (the paper's 120)")
    a = ap.parse_args()
    rows = []
    for lam, (c, q) in PAPER.items():
        t0 = time.time()
        rows.append({"protocol": f"paper eq11, lambda = {lam:g}", "loss": "eq11", "lambda": lam,
                     "c": c, "q": q, **long_run(a.qbopt, c, q)})
        print(f"{rows[-1]['protocol']}: {time.time() - t0:.1f} s", file=sys.stderr)
    for lam in (float(x) for x in a.lambdas.split(",")):
        t0 = time.time()
        opt = qbopt(a.qbopt, "optimize", "--loss", "eq11-spectral", "--lambda", f"{lam:g}",
                    "--nc", str(a.nc), "--batch", "0.5,0.2,1000")
        c, q = opt["params"][0]["c"], opt["params"][0]["q"]
        rows.append({"protocol": f"eq11-spectral, lambda = {lam:g}", "loss": "eq11-spectral",
                     "lambda": lam, "c": c, "q": q, "optimize_loss": opt["loss"],
                     "penalty": opt["penalty"], "iterations": opt["iterations"],
                     "evaluations": opt["evaluations"], "seconds": opt["seconds"],
                     "status": opt["status"], **long_run(a.qbopt, c, q)})
        print(f"{rows[-1]['protocol']}: {time.time() - t0:.1f} s ({opt['evaluations']} evaluations, "
              f"{opt['status']})", file=sys.stderr)
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"nc_optimize": a.nc, "nc_long": LONG_NC, "collisions": COLLISIONS,
                   "rows": rows}, f, indent=1)
    print("| protocol | (c, q) | W(10^3) | W(10^4) | W(10^5) | \\|W(10^5) - W(10^4)\\| | lifetime |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        life = "-" if r["lifetime"] is None else f"{r['lifetime']:.3g}"
        print(f"| {r['protocol']} | ({r['c']:.3f}, {r['q']:.3f}) | {r['W1e3']:.3f} | {r['W1e4']:.3f} | "
              f"{r['W1e5']:.3f} | {r['drift']:.3g} | {life} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

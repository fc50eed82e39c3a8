#!/usr/bin/python3
"""Peer benchmark: one micromaser collision in qbopt (C++) vs. NumPy, side by side.

Peers (see docs/physics.md, sections 1-3):
  * dense NumPy: the seed paper's approach, rho_B -> Tr_q[U (rho_B (x) rho_q) U^dag]
    with the 2N x 2N complex Jaynes-Cummings unitary U = expm(-i g (a s+ + a^dag s-));
  * NumPy O(N^2): the real symmetric update r -> r' of section 2, vectorized with
    padded arrays and slicing;
  * qbopt: the Google Benchmark `BM_Collision/<N>` of bench/bench_collision.cpp.

Both peers run pinned to the same CPU, on each CPU in turn (--cpus).

Run with the Debian interpreter (it has numpy and scipy):
    /usr/bin/python3 bench/peers_collision.py [--build build] [--json out.json] [--quick] [--cpus 0,1]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np
import scipy
import scipy.linalg

G = np.pi / np.sqrt(15.6)  # coupling, not fine-tuned (paper, Sec. 3)
C_COH, Q_GND = 0.39, 0.168  # timed qubit parameters (paper's lambda = 10 optimum)
FILL_C, FILL_Q = 0.4, 0.17  # parameters of the N "filling" collisions (as in the C++ bench)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kappa(c, q):
    """Qubit coherence kappa = c sqrt(q (1-q)), Eq. (2)."""
    return c * np.sqrt(q * (1.0 - q))


def qubit_state(c, q):
    """Charger qubit density matrix rho_q = [[q, kappa], [kappa, 1-q]] in basis (g, e), Eq. (2)."""
    k = kappa(c, q)
    return np.array([[q, k], [k, 1.0 - q]], dtype=complex)


def jc_unitary(n_levels, g=G):
    """Dense 2N x 2N U = expm(-i g (a s+ + a^dag s-)), Eq. (4); ordering cavity (x) qubit, qubit basis (g, e)."""
    a = np.diag(np.sqrt(np.arange(1, n_levels)), 1).astype(complex)  # truncated annihilator
    s_plus = np.array([[0, 0], [1, 0]], dtype=complex)  # |e><g|
    s_minus = s_plus.T.copy()  # |g><e|
    h = g * (np.kron(a, s_plus) + np.kron(a.conj().T, s_minus))
    return scipy.linalg.expm(-1j * h)


def dense_collision(rho_b, u, u_dag, rho_q):
    """One collision the paper's way, Eqs. (5)-(6): Tr_q[U (rho_B (x) rho_q) U^dag], complex dense algebra."""
    n = rho_b.shape[0]
    total = u @ np.kron(rho_b, rho_q) @ u_dag
    total = total.reshape(n, 2, n, 2)  # (m, s, n, s')
    return total[:, 0, :, 0] + total[:, 1, :, 1]


class FastCollision:
    """Vectorized O(N^2) real symmetric collision r -> r' of docs/physics.md section 3 (padded arrays, slicing)."""

    def __init__(self, n_levels, c, q, g=G):
        """Precompute the seven N x N coefficient matrices of the r' formula for fixed (g, c, q)."""
        n = n_levels
        k = kappa(c, q)
        root = np.sqrt(np.arange(n + 1))
        cos, sin = np.cos(g * root), np.sin(g * root)  # C_0..C_N, S_0..S_N
        cm, cp, sm, sp = cos[:n], cos[1:], sin[:n], sin[1:]  # C_m, C_{m+1}, S_m, S_{m+1}
        o = np.outer
        self.n = n
        self.diag = q * o(cm, cm) + (1.0 - q) * o(cp, cp)  # r_{m,n}
        self.down = (1.0 - q) * o(sm, sm)  # r_{m-1,n-1}
        self.up = q * o(sp, sp)  # r_{m+1,n+1}
        self.k_col_dn = k * o(cm, sm)  # r_{m,n-1}
        self.k_row_dn = k * o(sm, cm)  # r_{m-1,n}
        self.k_row_up = -k * o(sp, cp)  # r_{m+1,n}
        self.k_col_up = -k * o(cp, sp)  # r_{m,n+1}
        # r lives in the interior [1:N+1, 1:N+1] of a zero-padded (N+2) x (N+2) array.
        self.pad_in = np.zeros((n + 2, n + 2))
        self.pad_out = np.zeros((n + 2, n + 2))
        self.tmp = np.empty((n, n))

    def load(self, r):
        """Set the current state r (real symmetric N x N)."""
        self.pad_in[1:-1, 1:-1] = r

    def state(self):
        """Return a copy of the current state r."""
        return self.pad_in[1:-1, 1:-1].copy()

    def step(self, size=None):
        """Apply one collision in place: r' = sum of seven coefficient * shifted-r products, Sec. 2.

        With size=b only the leading b x b block is updated; exact when r lives on levels < b-1
        (used to fill a state from |0><0|, whose support grows by one level per collision).
        """
        b = self.n if size is None else size
        p, out, tmp = self.pad_in, self.pad_out[1:b + 1, 1:b + 1], self.tmp[:b, :b]
        np.multiply(self.diag[:b, :b], p[1:b + 1, 1:b + 1], out=out)
        for coef, shifted in ((self.down, p[:b, :b]), (self.up, p[2:b + 2, 2:b + 2]),
                              (self.k_col_dn, p[1:b + 1, :b]), (self.k_row_dn, p[:b, 1:b + 1]),
                              (self.k_row_up, p[2:b + 2, 1:b + 1]), (self.k_col_up, p[1:b + 1, 2:b + 2])):
            np.multiply(coef[:b, :b], shifted, out=tmp)
            out += tmp
        self.pad_in, self.pad_out = self.pad_out, self.pad_in


def r_to_rho(r):
    """Map the real representation to the density matrix: rho_mn = (-i)^(m-n) r_mn (rho = D r D^dag)."""
    d = (-1j) ** np.arange(r.shape[0])
    return d[:, None] * r * d.conj()[None, :]


def filled_state(n_levels):
    """State spread over all N levels: N collisions from |0><0| at (c, q) = (0.4, 0.17), as in the C++ bench."""
    fast = FastCollision(n_levels, FILL_C, FILL_Q)
    r0 = np.zeros((n_levels, n_levels))
    r0[0, 0] = 1.0
    fast.load(r0)
    for k in range(n_levels):  # before collision k the support is levels 0..k
        fast.step(size=min(k + 2, n_levels))
    return fast.state()


def check_peers(n_levels=30, collisions=40, tol=1e-12):
    """Evolve |0><0| with both NumPy peers and assert rho_dense == D r D^dag to tol (max abs entry)."""
    u = jc_unitary(n_levels)
    u_dag = u.conj().T.copy()
    rho_q = qubit_state(C_COH, Q_GND)
    rho = np.zeros((n_levels, n_levels), dtype=complex)
    rho[0, 0] = 1.0
    fast = FastCollision(n_levels, C_COH, Q_GND)
    fast.load(rho.real)
    for _ in range(collisions):
        rho = dense_collision(rho, u, u_dag, rho_q)
        fast.step()
    r = fast.state()
    err = float(np.max(np.abs(rho - r_to_rho(r))))
    assert np.allclose(r, r.T, rtol=0, atol=1e-15), "r lost its symmetry"
    assert err <= tol, f"peers disagree: max |rho_dense - D r D^dag| = {err:.3e} > {tol:g}"
    return err


def time_per_call(fn, min_time, reps):
    """Median over `reps` repetitions of (wall time of k calls)/k, k chosen so one repetition >= min_time."""
    k = 1
    while True:  # calibration (doubles as warm-up)
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        k = max(2 * k, int(k * 1.2 * min_time / max(dt, 1e-9)) + 1)
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(k):
            fn()
        samples.append((time.perf_counter() - t0) / k)
    return statistics.median(samples), k


def time_dense(n_levels, min_time, reps):
    """Per-collision time (s) of the dense peer from a filled state; also the one-off expm time (s)."""
    t0 = time.perf_counter()
    u = jc_unitary(n_levels)
    t_expm = time.perf_counter() - t0
    u_dag = u.conj().T.copy()
    rho_q = qubit_state(C_COH, Q_GND)
    box = [r_to_rho(filled_state(n_levels))]

    def one():
        box[0] = dense_collision(box[0], u, u_dag, rho_q)

    t, k = time_per_call(one, min_time, reps)
    return t, k, t_expm


def time_fast(n_levels, min_time, reps):
    """Per-collision time (s) of the vectorized O(N^2) peer from a filled state."""
    fast = FastCollision(n_levels, C_COH, Q_GND)
    fast.load(filled_state(n_levels))
    t, k = time_per_call(fast.step, min_time, reps)
    return t, k


def run_qbopt(build_dir, min_time):
    """Run `qbopt_bench --benchmark_filter=BM_Collision/`: ({N: real_time in us}, {N: counters}, context).

    Counters (bench/bench_collision.cpp): cycles_per_element (thread CPU time x calibrated core
    clock / lower-triangle elements), bound_cycles_per_element (12 FMA per element on two FMA
    pipes of vector_doubles lanes), core_GHz."""
    exe = os.path.join(build_dir, "bench", "qbopt_bench")
    if not os.access(exe, os.X_OK):
        print(f"warning: {exe} not found or not executable; qbopt column left empty", file=sys.stderr)
        return {}, {}, {}
    cmd = [exe, "--benchmark_filter=BM_Collision/", "--benchmark_format=json",
           f"--benchmark_min_time={min_time}"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    times, counters = {}, {}
    for b in data["benchmarks"]:
        name = b.get("name", "")
        if b.get("run_type", "iteration") != "iteration" or not name.startswith("BM_Collision/"):
            continue
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b["time_unit"]]
        n = int(name.split("/")[1])
        times[n] = b["real_time"] * scale
        counters[n] = {k: b[k] for k in ("cycles_per_element", "bound_cycles_per_element",
                                         "vector_doubles", "core_GHz", "elements") if k in b}
    return times, counters, data.get("context", {})


def blas_libraries():
    """Paths of the BLAS/LAPACK shared libraries actually mapped into this process (Linux /proc/self/maps)."""
    np.ones((64, 64)) @ np.ones((64, 64))  # make sure BLAS is loaded
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                base = os.path.basename(path)
                if base.startswith("lib") and any(s in base for s in ("blas", "lapack", "mkl")):
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def fmt(x, digits=1):
    """Format a number for the table, '-' when missing."""
    return "-" if x is None else f"{x:.{digits}f}"


def parse_list(text):
    """Parse a comma-separated list of ints ('' gives [])."""
    return [int(s) for s in text.split(",") if s.strip()]


def main():
    """Run the three peers, print a Markdown table and optionally write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build", help="CMake build dir (relative to the repo root)")
    ap.add_argument("--json", help="write the results as JSON to this path")
    ap.add_argument("--quick", action="store_true", help="fewer/shorter repetitions (smoke test)")
    ap.add_argument("--dense-n", help="N for the dense peer (comma list; default 120,150,400, "
                                      "120,150 with --quick: N=400 costs ~6 s of expm + ~1 s per collision)")
    ap.add_argument("--fast-n", default="120,150,400,1000", help="N for the O(N^2) NumPy peer")
    ap.add_argument("--cpus", default="all",
                    help="CPUs to measure on, one after another (comma list; default every CPU this "
                         "process may use)")
    args = ap.parse_args()

    t_start = time.perf_counter()
    min_time, reps, cpp_min_time = (0.05, 3, 0.05) if args.quick else (0.5, 5, 0.3)
    build_dir = os.path.join(REPO, args.build)  # an absolute --build is kept as is

    err = check_peers()
    print(f"correctness: N=30, 40 collisions from |0><0|: max |rho_dense - D r D^dag| = {err:.2e} (<= 1e-12)")

    # Each CPU in turn, with qbopt (a child process inherits the affinity) and NumPy pinned to
    # it: on a VM the vCPUs can differ by 30% (a busy SMT sibling on the host), and a ratio of
    # two runs on different cores would measure the cores, not the codes.
    allowed = sorted(os.sched_getaffinity(0))
    cpus = allowed if args.cpus == "all" else parse_list(args.cpus)
    for cpu in cpus:
        if cpu not in allowed:
            ap.error(f"--cpus: CPU {cpu} is not available to this process (allowed: {allowed})")
    dense_n = args.dense_n if args.dense_n is not None else ("120,150" if args.quick else "120,150,400")
    rows, expm_s, cpp_context = [], {}, {}
    for i, cpu in enumerate(cpus):
        os.sched_setaffinity(0, {cpu})
        qbopt_us, qbopt_counters, cpp_context = run_qbopt(build_dir, cpp_min_time)

        fast_us, fast_k = {}, {}
        for n in parse_list(args.fast_n):
            t, k = time_fast(n, min_time, reps)
            fast_us[n], fast_k[n] = t * 1e6, k

        dense_us, dense_k = {}, {}
        for n in parse_list(dense_n) if i == 0 else []:  # the dense peer on the first CPU only
            t, k, te = time_dense(n, min_time, reps)
            dense_us[n], dense_k[n], expm_s[n] = t * 1e6, k, te

        for n in sorted(set(qbopt_us) | set(fast_us) | set(dense_us)):
            q, f, d = qbopt_us.get(n), fast_us.get(n), dense_us.get(n)
            cnt = qbopt_counters.get(n, {})
            rows.append({
                "cpu": cpu, "N": n, "qbopt_us": q,
                "qbopt_cycles_per_element": cnt.get("cycles_per_element"),
                "bound_cycles_per_element": cnt.get("bound_cycles_per_element"),
                "vector_doubles": cnt.get("vector_doubles"), "core_GHz": cnt.get("core_GHz"), "numpy_n2_us": f, "dense_numpy_us": d,
                "ratio_n2_over_qbopt": f / q if f and q else None,
                "ratio_dense_over_qbopt": d / q if d and q else None,
                "numpy_n2_calls_per_rep": fast_k.get(n), "dense_calls_per_rep": dense_k.get(n),
                "dense_expm_setup_s": expm_s.get(n) if n in dense_us else None,
            })
    os.sched_setaffinity(0, allowed)

    blas = blas_libraries()
    print(f"\nper-collision wall time, c={C_COH}, q={Q_GND}, g=pi/sqrt(15.6); NumPy: median of {reps} "
          f"repetitions >= {min_time} s each; qbopt: Google Benchmark real_time, min_time {cpp_min_time} s")
    print(f"numpy {np.__version__}, scipy {scipy.__version__}, python {platform.python_version()}, "
          f"BLAS: {', '.join(blas) or 'unknown'}\n")
    print("qbopt cycles/element: thread CPU time x calibrated core clock / (N (N+1)/2); bound: 12 FMA per "
          "element on two FMA pipes (0.75 with 8-double vectors, 1.5 with 4)")
    print("both peers pinned to the same CPU, each CPU in turn (the dense peer on the first only)")
    print("| CPU | N | qbopt (us) | cycles/element | bound | NumPy O(N^2) (us) | dense NumPy (us) "
          "| ratio O(N^2)/qbopt | ratio dense/qbopt |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['cpu']} | {r['N']} | {fmt(r['qbopt_us'], 2)} | {fmt(r['qbopt_cycles_per_element'], 2)} "
              f"| {fmt(r['bound_cycles_per_element'], 2)} | {fmt(r['numpy_n2_us'])} | {fmt(r['dense_numpy_us'])} "
              f"| {fmt(r['ratio_n2_over_qbopt'])} | {fmt(r['ratio_dense_over_qbopt'])} |")
    for n, te in expm_s.items():
        print(f"(dense N={n}: one-off expm of the {2 * n}x{2 * n} unitary took {te:.2f} s, not included above)")
    total = time.perf_counter() - t_start
    print(f"\ntotal script time: {total:.1f} s")

    if args.json:
        out = {
            "params": {"g": G, "c": C_COH, "q": Q_GND, "fill_c": FILL_C, "fill_q": FILL_Q},
            "method": {"numpy_min_time_s": min_time, "numpy_reps": reps, "statistic": "median",
                       "qbopt_min_time_s": cpp_min_time, "qbopt_metric": "real_time"},
            "correctness_max_abs_err": err,
            "environment": {"numpy": np.__version__, "scipy": scipy.__version__,
                            "python": platform.python_version(), "blas": blas,
                            "qbopt_bench_context": cpp_context},
            "rows": rows,
            "total_script_s": total,
        }
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()

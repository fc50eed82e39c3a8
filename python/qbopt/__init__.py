"""qbopt: simulate and optimize the charging of a micromaser quantum battery.

A thin Python layer over the C++ library. Every function returns NumPy arrays and plain
dicts whose keys are those of the ``qbopt`` command-line JSON outputs.

Example (from a QuTiP user's point of view)::

    import qbopt
    st = qbopt.state([(0.39, 0.168, 1000)], nc=120)
    rho = qbopt.to_qutip(st)          # qutip.Qobj, 120 x 120
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from . import _core

__version__ = _core.__version__
__all__ = ["simulate", "loss", "optimize", "state", "wigner", "noise_ensemble", "to_qutip",
           "DEFAULT_G"]

#: The paper's non-fine-tuned coupling g = pi / sqrt(15.6).
DEFAULT_G = math.pi / math.sqrt(15.6)


def _count(x) -> int:
    """A batch count: an integer (or an integral float), never silently truncated."""
    if isinstance(x, bool) or float(x) != int(float(x)):
        raise ValueError(f"batch count {x!r} must be an integer")
    return int(float(x))


def _fixed(x) -> bool:
    """A batch's fixed flag: a bool, or the CLI's words 'fixed' / 'free'."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if x in ("fixed", "free"):
        return x == "fixed"
    raise ValueError(f"batch fixed flag {x!r} must be True/False or 'fixed'/'free'")


def _schedule(batches) -> _core.Schedule:
    """Builds a schedule from [(c, q, count[, fixed]), ...] or [{"c", "q", "count", "fixed"}, ...]."""
    if isinstance(batches, _core.Schedule):
        return batches
    out = []
    for b in batches:
        if isinstance(b, dict):
            unknown = set(b) - {"c", "q", "count", "fixed"}
            if unknown:
                raise ValueError(f"batch {b!r} has unknown keys {sorted(unknown)}")
            out.append(_core.Batch(float(b["c"]), float(b["q"]), _count(b["count"]),
                                   _fixed(b.get("fixed", False))))
        else:
            b = tuple(b)
            if len(b) not in (3, 4):
                raise ValueError(f"batch {b!r} must be (c, q, count[, fixed])")
            out.append(_core.Batch(float(b[0]), float(b[1]), _count(b[2]),
                                   _fixed(b[3]) if len(b) == 4 else False))
    if not out:
        raise ValueError("at least one batch (c, q, count) is required")
    return _core.Schedule(out)


def _check_common(g: float, nc: int) -> None:
    if not math.isfinite(g):
        raise ValueError(f"g must be finite, got {g}")
    if int(nc) < 2:
        raise ValueError(f"nc must be >= 2, got {nc}")


def _config(command: str, g: float, nc: int, sched: _core.Schedule, **extra) -> dict:
    cfg = {"command": command, "qbopt_version": __version__, "g": g, "nc": nc,
           "batches": [{"c": b.c, "q": b.q, "count": b.count, "fixed": b.fixed} for b in sched.batches],
           "collisions": sched.collisions()}
    cfg.update(extra)
    return cfg


def simulate(batches, g: float = DEFAULT_G, nc: int = 150, samples: int = 50) -> dict:
    """Runs a charging schedule from |0><0|.

    Returns {"config", "trajectory": {"k", "energy", "ergotropy", "purity", "leakage"} (arrays at
    `samples` log-spaced k, first and last collision included), "energy_all" (E_k for every
    k = 0..n), "final": {"k", "energy", "ergotropy", "purity", "leakage", "populations"}}.
    """
    _check_common(g, nc)
    if int(samples) < 2:
        raise ValueError(f"samples must be >= 2, got {samples}")
    sched = _schedule(batches)
    k, E, W, P, L, Eall, fin = _core.simulate(_core.Micromaser(g, int(nc)), sched, int(samples))
    return {
        "config": _config("simulate", g, nc, sched, samples=samples),
        "trajectory": {"k": np.asarray(k), "energy": np.asarray(E), "ergotropy": np.asarray(W),
                       "purity": np.asarray(P), "leakage": np.asarray(L)},
        "energy_all": np.asarray(Eall),
        "final": {"k": int(k[-1]), "energy": _core.energy(fin), "ergotropy": _core.ergotropy(fin),
                  "purity": _core.purity(fin), "leakage": _core.leakage(fin),
                  "populations": np.asarray(_core.populations(fin))},
    }


def loss(batches, g: float = DEFAULT_G, nc: int = 150, lam: float = 1.0, eta: float = 0.2,
         name: str = "eq11", gradient: bool = False, free_g: bool = False) -> dict:
    """Eq. (11) (or another figure of merit by `name`) and optionally its exact gradient.

    Returns {"config", "loss", "ergotropy", "penalty", "energy"[, "gradient": (batches, 2) array
    of [dL/dc, dL/dq]][, "d_g"]}.
    """
    _check_common(g, nc)
    sched = _schedule(batches)
    ev = _core.evaluate_loss(_core.Micromaser(g, int(nc)), sched, name, float(lam), float(eta),
                             bool(gradient), bool(free_g))
    out = {"config": _config("loss", g, nc, sched, **{"lambda": lam, "eta": eta, "loss": name}),
           "loss": ev.merit.value, "ergotropy": ev.merit.ergotropy, "penalty": ev.merit.penalty,
           "energy": ev.final_energy}
    if gradient:
        out["gradient"] = np.array([[b.c, b.q] for b in ev.batches])
        if free_g:
            out["d_g"] = ev.d_g
    return out


def optimize(batches, g: float = DEFAULT_G, nc: int = 150, lam: float = 1.0, eta: float = 0.2,
             name: str = "eq11", starts: int = 1, seed: int = 1, max_iterations: int = 200,
             epsilon: float = 1e-5, free_g: bool = False, g_range: Sequence[float] = (0.1, 2.0)) -> dict:
    """Minimizes the loss over the free (c, q) of the batches (and g if `free_g`) with L-BFGS-B.

    Each batch gives its starting point; a 4th entry True fixes it. Returns the layout of
    `qbopt optimize`: {"config", "params", "g", "loss", "ergotropy", "penalty", "iterations",
    "evaluations", "seconds", "history", "status", "starts"}.
    """
    _check_common(g, nc)
    sched = _schedule(batches)
    r = _core.optimize(int(nc), float(g), sched, name, float(lam), float(eta), int(starts), int(seed),
                       int(max_iterations), float(epsilon), bool(free_g), float(g_range[0]), float(g_range[1]))
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    cfg = _config("optimize", g, nc, sched, **{"lambda": lam, "eta": eta, "loss": name, "starts": starts,
                                               "seed": seed, "max_iterations": max_iterations,
                                               "epsilon": epsilon, "free_g": free_g})
    if free_g:
        cfg["g_range"] = list(g_range)
    return {
        "config": cfg,
        "params": [{"c": b.c, "q": b.q, "count": b.count, "fixed": b.fixed} for b in r.schedule.batches],
        "g": r.g, "loss": r.best.merit.value, "ergotropy": r.best.merit.ergotropy,
        "penalty": r.best.merit.penalty, "energy": r.best.final_energy,
        "iterations": r.iterations, "evaluations": r.evaluations, "seconds": r.seconds,
        "history": np.asarray(r.history), "status": r.status,
        "starts": [{"loss": s.loss, "params": [[b.c, b.q] for b in s.schedule.batches], "g": s.g,
                    "iterations": s.iterations, "evaluations": s.evaluations, "status": s.status}
                   for s in r.starts],
    }


def wigner(rho, x, p=None) -> np.ndarray:
    """Wigner function W(x, p) in qutip.wigner's convention (g = sqrt 2).

    `rho`: a complex density matrix (ndarray or qutip.Qobj) or a dict from `state()`.
    Returns w with w[j, i] = W(x[i], p[j]), the layout qutip.wigner returns.
    """
    if isinstance(rho, dict):
        rho = rho["rho"]
    if hasattr(rho, "full"):
        rho = rho.full()
    rho = np.asarray(rho, dtype=complex)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1]:
        raise ValueError(f"rho must be a square matrix, got shape {rho.shape}")
    x = np.asarray(x, dtype=float).ravel()
    p = x if p is None else np.asarray(p, dtype=float).ravel()
    return np.asarray(_core.wigner(rho, x.tolist(), p.tolist()))


def state(batches, g: float = DEFAULT_G, nc: int = 150, wigner_grid=None) -> dict:
    """The final battery state of a schedule.

    Returns {"config", "populations", "rho" (complex ndarray), "energy", "ergotropy", "purity",
    "leakage"[, "wigner": {"x", "p", "w"}]}; `wigner_grid` = (xmin, xmax, points).
    """
    _check_common(g, nc)
    sched = _schedule(batches)
    k, *_, fin = _core.simulate(_core.Micromaser(g, int(nc)), sched, 2)
    rho = np.asarray(fin.density_matrix())
    out = {"config": _config("state", g, nc, sched), "k": int(k[-1]),
           "populations": np.asarray(_core.populations(fin)),
           "rho": rho, "energy": _core.energy(fin), "ergotropy": _core.ergotropy(fin),
           "purity": _core.purity(fin), "leakage": _core.leakage(fin)}
    if wigner_grid is not None:
        a, b, n = wigner_grid
        if not 2 <= int(n) <= 4001 or not (math.isfinite(a) and math.isfinite(b)) or a >= b:
            raise ValueError(f"wigner_grid must be (xmin < xmax, 2 <= points <= 4001), got {wigner_grid!r}")
        xs = np.linspace(a, b, int(n))
        out["config"]["wigner"] = [a, b, n]
        out["wigner"] = {"x": xs, "p": xs, "w": wigner(rho, xs, xs)}
    return out


def noise_ensemble(batches, sigma: float, trajectories: int = 16, seed: int = 1,
                   g: float = DEFAULT_G, nc: int = 150, samples: int = 50) -> dict:
    """Each qubit's (c, q) perturbed by Gaussian noise of std `sigma` (clipped to [0, 1]).

    Returns {"config", "k", "ergotropy_mean", "ergotropy_std", "purity_mean", "purity_std",
    "energy_mean", "energy_std"} over `trajectories` realizations seeded from `seed`.
    """
    _check_common(g, nc)
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    sched = _schedule(batches)
    e = _core.noise_ensemble(_core.Micromaser(g, int(nc)), sched, float(sigma), int(trajectories),
                             int(seed), int(samples))
    out = {"config": _config("noise", g, nc, sched, sigma=sigma, trajectories=trajectories, seed=seed,
                             samples=samples)}
    for key in ("k", "ergotropy_mean", "ergotropy_std", "purity_mean", "purity_std", "energy_mean",
                "energy_std"):
        out[key] = np.asarray(getattr(e, key))
    return out


def to_qutip(st):
    """A qutip.Qobj of a state: a dict from `state()`, or a complex density matrix."""
    try:
        import qutip
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError("to_qutip needs QuTiP (Debian: apt-get install python3-qutip)") from err
    rho = st["rho"] if isinstance(st, dict) else st
    return qutip.Qobj(np.asarray(rho, dtype=complex))

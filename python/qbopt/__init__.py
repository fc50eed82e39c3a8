"""qbopt: simulate and optimize the charging of a micromaser quantum battery.

A thin Python layer over the C++ library. Every function returns NumPy arrays and plain
dicts whose keys are those of the ``qbopt`` command-line JSON outputs.

Example (from a QuTiP user's point of view)::

    import qbopt
    st = qbopt.state([(0.39, 0.168, 1000)], nc=120)
    rho = qbopt.to_qutip(st)          # qutip.Qobj, 120 x 120
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import warnings
from typing import Sequence

import numpy as np

from . import _core

__version__ = _core.__version__
__all__ = ["simulate", "loss", "optimize", "state", "wigner", "noise_ensemble", "to_qutip",
           "models", "spectrum", "load", "save", "TruncationWarning", "DEFAULT_G"]

#: The paper's non-fine-tuned coupling g = pi / sqrt(15.6) (the default g of every model).
DEFAULT_G = _core.PAPER_COUPLING

#: Above this final leakage 1 - Tr rho the truncation N changes the physics (the CLI's warning).
LEAKAGE_WARNING = 1e-6


class TruncationWarning(UserWarning):
    """The Fock truncation lost more than 1e-6 of the probability: increase nc."""


def _check_leakage(out: dict, nc) -> dict:
    """Warns with TruncationWarning when out["leakage"] exceeds LEAKAGE_WARNING."""
    leak = out["leakage"]
    if leak > LEAKAGE_WARNING:
        warnings.warn(f"final leakage {leak:.3g} exceeds 1e-6; increase nc (now {nc})",
                      TruncationWarning, stacklevel=3)
    return out


def models() -> list:
    """The registered battery models: [{"name", "doc", "controls": [...], "parameters": [...]}],
    each parameter with its "default", "bounds", "choices", "optional" and "doc" (as `qbopt models
    --json`)."""
    return json.loads(_core.models())


def _integer(x, what: str) -> int:
    """An integer argument, never silently truncated (nc = 2.5 is an error, not 2)."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(x)) or float(x) != int(float(x)):
        raise ValueError(f"{what} {x!r} must be an integer")
    return int(x)


def _model(model: str = "micromaser", params=None, g=None, nc=150) -> _core.ModelConfig:
    """The model by name with its parameters: `params` maps names to numbers (or choice words,
    e.g. {"kappa_tau": 1e-3, "n_th": 0.1, "arrivals": "poisson"}); `g` is a shorthand for
    params["g"]."""
    if isinstance(model, _core.ModelConfig):
        return model
    cfg = _core.ModelConfig(str(model), _integer(nc, "nc"))
    if g is not None:
        if not math.isfinite(float(g)):
            raise ValueError(f"g must be finite, got {g}")
        cfg.set("g", float(g))
    for k, v in (params or {}).items():
        if isinstance(v, str):
            cfg.set_text(str(k), v)
        else:
            cfg.set(str(k), float(v))
    return cfg


def _bytes(x) -> int:
    """A memory budget in bytes; None (0 to the core) = the available memory."""
    if x is None:
        return 0
    n = _integer(x, "max_memory")
    if n < 1 << 20:
        raise ValueError(f"max_memory {x!r} must be at least 1 MiB (in bytes)")
    return n


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


def _schedule(batches, cfg: _core.ModelConfig) -> _core.Schedule:
    """A schedule from [(c, q, count[, fixed]), ...], [{"c", "q", "count"[, "fixed"][, "g"]}, ...]
    or the CLI's --batch strings ("c,q,count[,fixed]" or "c=..,q=..,count=..[,g=..][,fixed]")."""
    if isinstance(batches, _core.Schedule):
        return batches
    out = []
    controls = cfg.control_names()
    for b in batches:
        if isinstance(b, str):
            out.append(_core.parse_batch(b, cfg))
        elif isinstance(b, dict):
            unknown = set(b) - {"count", "fixed"} - set(controls)
            if unknown:
                raise ValueError(f"batch {b!r} has unknown keys {sorted(unknown)} "
                                 f"(known: count, fixed, {', '.join(controls)})")
            if not {"c", "q", "count"} <= set(b):
                raise ValueError(f"batch {b!r} needs c, q and count")
            x = _core.Batch(float(b["c"]), float(b["q"]), _count(b["count"]),
                            _fixed(b.get("fixed", False)))
            for name in controls[2:]:
                if name in b:
                    x.set_control(cfg.control_index(name), float(b[name]))
            out.append(x)
        else:
            b = tuple(b)
            if len(b) not in (3, 4):
                raise ValueError(f"batch {b!r} must be (c, q, count[, fixed])")
            out.append(_core.Batch(float(b[0]), float(b[1]), _count(b[2]),
                                   _fixed(b[3]) if len(b) == 4 else False))
    if not out:
        raise ValueError("at least one batch (c, q, count) is required")
    return _core.Schedule(out)


def _config(command: str, cfg: _core.ModelConfig, sched: _core.Schedule, **extra) -> dict:
    """The "config" block of the CLI's JSON outputs, from the same C++ code."""
    out = json.loads(_core.run_config(command, cfg, sched))
    out.update(extra)
    return out


def simulate(batches, g: float | None = None, nc: int = 150, samples: int = 50,
             model: str = "micromaser", params: dict | None = None, progress=None,
             max_memory: int | None = None) -> dict:
    """Runs a charging schedule from |0><0|.

    Returns {"config", "trajectory": {"k", "energy", "ergotropy", "purity", "leakage"} (arrays at
    `samples` log-spaced k, first and last collision included), "energy_all" (E_k for every
    k = 0..n), "final": {"k", "energy", "ergotropy", "purity", "leakage", "populations"},
    "leakage"}. `progress(k, n)` is called every few thousand collisions; returning False stops
    the run there (the result then ends at k and has "interrupted": True). Ctrl-C raises
    KeyboardInterrupt within ~0.1 s. A run whose memory estimate exceeds `max_memory` bytes
    (default: the available memory) raises ValueError before it starts (as every function).
    """
    cfg = _model(model, params, g, nc)
    if _integer(samples, "samples") < 2:
        raise ValueError(f"samples must be >= 2, got {samples}")
    sched = _schedule(batches, cfg)
    k, E, W, P, L, Eall, fin = _core.simulate(cfg, sched, int(samples), progress,
                                              _bytes(max_memory))
    out = {
        "config": _config("simulate", cfg, sched, samples=samples),
        "trajectory": {"k": np.asarray(k), "energy": np.asarray(E), "ergotropy": np.asarray(W),
                       "purity": np.asarray(P), "leakage": np.asarray(L)},
        "energy_all": np.asarray(Eall),
        "final": {"k": int(k[-1]), "energy": _core.energy(fin), "ergotropy": _core.ergotropy(fin),
                  "purity": _core.purity(fin), "leakage": _core.leakage(fin),
                  "populations": np.asarray(_core.populations(fin))},
        "leakage": _core.leakage(fin),
    }
    if int(k[-1]) < sched.collisions():
        out["interrupted"] = True
    return _check_leakage(out, cfg.nc)


def _parameter_names(cfg) -> list:
    spec = next(m for m in models() if m["name"] == cfg.name)
    return [(p["name"], bool(p["choices"])) for p in spec["parameters"]]


def loss(batches, g: float | None = None, nc: int = 150, lam: float = 1.0, eta: float = 0.2,
         name: str = "eq11", gradient: bool = False, free_g: bool = False,
         model: str = "micromaser", params: dict | None = None,
         max_memory: int | None = None) -> dict:
    """Eq. (11) (or another figure of merit by `name`) and optionally its exact gradient.

    `name` "NAME-spectral" (e.g. "eq11-spectral") drops the figure's eta-window penalty and adds
    lam * (-ln|lambda_1|), lambda_1 the slowest decay mode of the last batch's one-step map; the
    result then also has "spectral": {"eigenvalue": [re, im], "decay_rate", "lifetime"}.

    Returns {"config", "loss", "ergotropy", "penalty", "energy", "leakage"[, "gradient",
    "model_gradient"]}: "gradient" has one row per batch, [dL/dc, dL/dq] plus dL/dg for a batch
    with its own g (a 2-D array when all rows have the same length, else a list of arrays);
    "model_gradient" maps each global parameter (g, kappa_tau, n_th) to dL/d(it).
    """
    cfg = _model(model, params, g, nc)
    sched = _schedule(batches, cfg)
    ev, lambda1 = _core.evaluate_loss(cfg, sched, name, float(lam), float(eta), bool(gradient),
                                      bool(gradient), _bytes(max_memory))
    out = {"config": _config("loss", cfg, sched, **{"lambda": lam, "eta": eta, "loss": name}),
           "loss": ev.merit.value, "ergotropy": ev.merit.ergotropy, "penalty": ev.merit.penalty,
           "energy": ev.final_energy, "leakage": ev.final_leakage}
    if lambda1 is not None:  # a NAME-spectral loss: the last batch's slow mode, as the CLI writes
        rate = -math.log(abs(lambda1))
        out["spectral"] = {"eigenvalue": [lambda1.real, lambda1.imag], "decay_rate": rate,
                           "lifetime": 1 / rate if rate > 0 else None}
    if gradient:
        rows = [np.asarray(r) for r in ev.batches]
        out["gradient"] = np.array(rows) if len({len(r) for r in rows}) == 1 else rows
        out["model_gradient"] = {n: d for (n, choice), d in zip(_parameter_names(cfg), ev.parameters)
                                 if not choice}
        if free_g:  # kept for scripts written before model_gradient existed
            out["d_g"] = out["model_gradient"]["g"]
    return _check_leakage(out, cfg.nc)


def optimize(batches, g: float | None = None, nc: int = 150, lam: float = 1.0, eta: float = 0.2,
             name: str = "eq11", starts: int = 1, seed: int = 1, max_iterations: int = 200,
             epsilon: float = 1e-5, free_g=False, g_range: Sequence[float] = (0.1, 2.0),
             model: str = "micromaser", params: dict | None = None, callback=None,
             max_memory: int | None = None) -> dict:
    """Minimizes the loss over the free (c, q) of the batches with L-BFGS-B.

    `free_g`: False, True or "global" (the model's g), or "batch" (each free batch its own g),
    searched in `g_range`. Each batch gives its starting point; a 4th entry True fixes it.
    Returns the layout of `qbopt optimize`: {"config", "params", "g", "model", "loss",
    "ergotropy", "penalty", "energy", "leakage", "iterations", "evaluations", "seconds",
    "history", "status", "message", "slots", "starts"}. `callback(start, iteration, loss)` is
    called after each iteration; returning False stops the run (status "interrupted").
    """
    cfg = _model(model, params, g, nc)
    sched = _schedule(batches, cfg)
    if _integer(seed, "seed") < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    mode = {False: "none", None: "none", True: "global"}.get(free_g, free_g) \
        if isinstance(free_g, (bool, type(None))) else str(free_g)
    if mode not in ("none", "global", "batch"):
        raise ValueError(f"free_g {free_g!r} must be False, True, 'global' or 'batch'")
    r = _core.optimize(cfg, sched, name, float(lam), float(eta), _integer(starts, "starts"),
                       int(seed), _integer(max_iterations, "max_iterations"), float(epsilon),
                       ["g"] if mode == "global" else [], ["g"] if mode == "batch" else [],
                       {"g": (float(g_range[0]), float(g_range[1]))}, callback,
                       _bytes(max_memory))
    conf = _config("optimize", cfg, sched, **{"lambda": lam, "eta": eta, "loss": name,
                                             "starts": starts, "seed": seed,
                                             "max_iterations": max_iterations,
                                             "epsilon": epsilon, "free_g": mode})
    if mode != "none":
        conf["g_range"] = list(g_range)
    names = _parameter_names(cfg)
    gi = [n for n, _ in names].index("g") if "g" in [n for n, _ in names] else None
    best = _core.ModelConfig(cfg.name, cfg.nc)
    for (n, _), v in zip(names, r.parameters):
        best.set(n, v)
    return _check_leakage({
        "config": conf,
        "params": json.loads(_core.schedule_json(r.schedule, cfg)),
        "g": r.parameters[gi] if gi is not None else None,
        "model": json.loads(_core.model_json(best)),
        "loss": r.best.merit.value, "ergotropy": r.best.merit.ergotropy,
        "penalty": r.best.merit.penalty, "energy": r.best.final_energy,
        "leakage": r.best.final_leakage,
        "iterations": r.iterations, "evaluations": r.evaluations, "seconds": r.seconds,
        "history": np.asarray(r.history), "status": r.status, "message": r.message,
        "slots": list(r.slots),
        "starts": [{"loss": s.loss,
                    "params": [[b.control(i) for i in range(4) if b.carries(i)]
                               for b in s.schedule.batches],
                    "g": s.parameters[gi] if gi is not None else None,
                    "initial": list(s.initial),
                    "iterations": s.iterations, "evaluations": s.evaluations,
                    "status": s.status, "message": s.message}
                   for s in r.starts],
    }, cfg.nc)


def wigner(rho, x, p=None) -> np.ndarray:
    """Wigner function W(x, p) in qutip.wigner's convention (g = sqrt 2).

    `rho`: a complex density matrix (ndarray or qutip.Qobj), a dict from `state()` or `load()`,
    or the CLI's JSON dict (rho as {"re", "im"}).
    Returns w with w[j, i] = W(x[i], p[j]), the layout qutip.wigner returns.
    """
    rho = _rho(rho)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1]:
        raise ValueError(f"rho must be a square matrix, got shape {rho.shape}")
    x = np.asarray(x, dtype=float).ravel()
    p = x if p is None else np.asarray(p, dtype=float).ravel()
    return np.asarray(_core.wigner(rho, x.tolist(), p.tolist()))


def state(batches, g: float | None = None, nc: int = 150, wigner_grid=None,
          model: str = "micromaser", params: dict | None = None) -> dict:
    """The final battery state of a schedule.

    Returns {"config", "populations", "rho" (complex ndarray), "energy", "ergotropy", "purity",
    "leakage"[, "wigner": {"x", "p", "w"}]}; `wigner_grid` = (xmin, xmax, points).
    """
    cfg = _model(model, params, g, nc)
    sched = _schedule(batches, cfg)
    k, *_, fin = _core.simulate(cfg, sched, 2)
    rho = np.asarray(fin.density_matrix())
    out = {"config": _config("state", cfg, sched), "k": int(k[-1]),
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
    return _check_leakage(out, cfg.nc)


def noise_ensemble(batches, sigma: float, trajectories: int = 16, seed: int = 1,
                   g: float | None = None, nc: int = 150, samples: int = 50,
                   model: str = "micromaser", params: dict | None = None) -> dict:
    """Each qubit's (c, q) perturbed by Gaussian noise of std `sigma` (clipped to [0, 1]).

    Returns {"config", "k", "ergotropy_mean", "ergotropy_std", "purity_mean", "purity_std",
    "energy_mean", "energy_std"} over `trajectories` realizations seeded from `seed`.
    """
    cfg = _model(model, params, g, nc)
    if _integer(seed, "seed") < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    sched = _schedule(batches, cfg)
    e = _core.noise_ensemble(cfg, sched, float(sigma), _integer(trajectories, "trajectories"),
                             int(seed), _integer(samples, "samples"))
    out = {"config": _config("noise", cfg, sched, sigma=sigma, trajectories=trajectories,
                             seed=seed, samples=samples)}
    for key in ("k", "ergotropy_mean", "ergotropy_std", "purity_mean", "purity_std", "energy_mean",
                "energy_std"):
        out[key] = np.asarray(getattr(e, key))
    return out


def _rho(st) -> np.ndarray:
    """The complex density matrix of a result dict (Python's complex array or the CLI's
    {"re", "im"}), a qutip.Qobj or an array."""
    rho = st["rho"] if isinstance(st, dict) and "rho" in st else st
    if isinstance(rho, dict):
        rho = np.asarray(rho["re"], dtype=float) + 1j * np.asarray(rho["im"], dtype=float)
    if hasattr(rho, "full"):
        rho = rho.full()
    return np.asarray(rho, dtype=complex)


def _qubit(qubit, cfg: _core.ModelConfig) -> _core.Batch:
    """One qubit as a one-collision batch: (c, q), {"c", "q"[, "g"]} or the CLI's "c,q" /
    "c=..,q=..[,g=..]"."""
    if isinstance(qubit, str):
        return _core.parse_batch(qubit + (",count=1" if "=" in qubit else ",1"), cfg)
    if isinstance(qubit, dict):
        return _schedule([{**qubit, "count": 1}], cfg).batches[0]
    q = tuple(qubit)
    if len(q) != 2:
        raise ValueError(f"qubit {qubit!r} must be (c, q), a dict or a 'c,q' string")
    return _core.Batch(float(q[0]), float(q[1]), 1)


def spectrum(qubit, g: float | None = None, nc: int = 150, count: int = 6,
             model: str = "micromaser", params: dict | None = None) -> dict:
    """Leading eigenvalues of the one-step map of `qubit` (as `qbopt spectrum`).

    Returns {"config", "eigenvalues" (complex ndarray, decreasing modulus), "lifetime"
    (collisions, or None), "steady_states": [{"eigenvalue", "populations", "energy",
    "ergotropy", "purity", "rho"}], "eigenvectors" (complex N x N arrays in the density-matrix
    basis, unit Frobenius norm), "matvecs", "converged"}.
    """
    cfg = _model(model, params, g, nc)
    count = _integer(count, "count")
    n = cfg.nc * (cfg.nc + 1) // 2
    if not 1 <= count <= n - 2:
        raise ValueError(f"count must be in [1, {n - 2}], got {count}")
    text, vectors, steady = _core.spectrum(cfg, _qubit(qubit, cfg), count)
    out = json.loads(text)
    out["eigenvalues"] = np.array([complex(re, im) for re, im in out["eigenvalues"]], dtype=complex)
    for ss, rho in zip(out["steady_states"], steady):
        ss["eigenvalue"] = complex(*ss["eigenvalue"])
        ss["populations"] = np.asarray(ss["populations"])
        ss["rho"] = np.asarray(rho)
    out["eigenvectors"] = [np.asarray(v) for v in vectors]
    return out


def to_qutip(st):
    """A qutip.Qobj of a state: a dict from `state()` or `load()`, the CLI's JSON dict (rho as
    {"re", "im"}), or a complex density matrix."""
    try:
        import qutip
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError("to_qutip needs QuTiP (Debian: apt-get install python3-qutip)") from err
    return qutip.Qobj(_rho(st))


# Keys whose numeric lists the Python functions return as NumPy arrays.
_ARRAY_KEYS = {"k", "energy", "ergotropy", "purity", "leakage", "energy_all", "populations",
               "x", "p", "w", "history", "gradient", "ergotropy_mean", "ergotropy_std",
               "purity_mean", "purity_std", "energy_mean", "energy_std"}


def _to_numpy(x, key=None):
    """The CLI's JSON as the Python functions return it: the numeric lists of _ARRAY_KEYS as
    arrays ("k" as integers), "rho" {"re", "im"} as a complex array, the rest as read."""
    if isinstance(x, dict):
        if key == "rho" and set(x) == {"re", "im"}:
            return _rho(x)
        if key == "config":
            return x
        return {k: _to_numpy(v, k) for k, v in x.items()}
    if isinstance(x, list):
        if key in _ARRAY_KEYS and all(isinstance(v, (int, float, list)) for v in x):
            try:
                a = np.asarray(x, dtype=float)
            except ValueError:  # ragged rows (per-batch gradients of different lengths)
                return [np.asarray(v, dtype=float) for v in x]
            return a.astype(np.int64) if key == "k" else a
        return [_to_numpy(v) for v in x]
    return x


def load(path) -> dict:
    """Reads a CLI (or `save`) JSON result into the layout the Python functions return:
    numeric lists as NumPy arrays, "rho" as a complex array, "k" as integers."""
    with open(path, encoding="utf-8") as f:
        return _to_numpy(json.load(f))


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        if np.iscomplexobj(x):
            return {"re": x.real.tolist(), "im": x.imag.tolist()}
        return x.tolist()
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, complex):
        return {"re": x.real, "im": x.imag}
    if isinstance(x, float) and not math.isfinite(x):
        return None  # as the CLI writes NaN (JSON has no NaN)
    return x


def save(result: dict, path) -> None:
    """Writes a result dict as JSON (NumPy arrays as lists, complex rho as {"re", "im"}, as the
    CLI writes them) atomically: to a temporary file in the same directory, then renamed, so
    an interrupted save never leaves a truncated file."""
    path = os.fspath(path)
    text = json.dumps(_jsonable(result), indent=1)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp.",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def scenarios() -> list:
    """The paper's optimizations (Sec. 3.1, 3.2 and the improved strategy) as `qbopt reproduce`
    runs them: [{"id", "section", "lambda", "eta", "nc", "g", "start": [{"c", "q", "count",
    "fixed"}, ...], "paper": [(c, q) per batch], "figure", "state_figure", "example"}]. "start"
    can be passed to optimize() as it is; "paper" holds the optima the paper reports."""
    return _core.paper_scenarios()


__all__ += ["scenarios"]

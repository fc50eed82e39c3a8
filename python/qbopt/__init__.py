"""qbopt: simulate and optimize the charging of a micromaser quantum battery.

A thin Python layer over the C++ library, with the CLI's names (docs/python.md lists the few
exceptions, e.g. ``--lambda`` -> ``lam``) and defaults (read from the C++ settings structs:
``qbopt.DEFAULTS``). Every function returns a result object (qbopt.results): a dict in the
layout of the ``qbopt`` command's JSON output, with attribute access, a short repr,
``to_dict()`` and ``save(path)``; ``qbopt.load(path)`` reads any file the CLI writes.

Units: hbar = omega = 1, so energies and ergotropies are in units of the cavity quantum omega;
the coupling g is the phase accumulated per collision (rad); k counts collisions; nc is the Fock
truncation N (levels 0..N-1). See docs/physics.md.

From a QuTiP user's point of view:

>>> import qbopt
>>> st = qbopt.state([(0.39, 0.168, 30)], nc=30)
>>> rho = qbopt.to_qutip(st)              # qutip.Qobj, 30 x 30
>>> rho.shape, round(float(rho.tr().real), 9)
((30, 30), 1.0)
>>> more = qbopt.state([(0.39, 0.168, 30)], nc=30, initial=rho)   # 30 more collisions
>>> more.k, round(more.energy, 4), more.config["initial"]
(30, 10.9824, '<Qobj 30x30>')
"""
from __future__ import annotations

import functools
import inspect
import json
import math
import os
import sys
import time
import types
import warnings
from typing import Sequence

import numpy as np

from . import _core
from .results import (LossResult, NoiseResult, OptimizeResult, Result, SimulateResult,
                      SpectrumResult, StateResult, _records, _rho, _to_numpy, load, write_json)

__version__ = _core.__version__
__all__ = ["simulate", "loss", "optimize", "state", "wigner", "noise_ensemble", "to_qutip",
           "models", "spectrum", "load", "save", "TruncationWarning", "DEFAULT_G", "DEFAULTS",
           "Result", "SimulateResult", "LossResult", "OptimizeResult", "StateResult",
           "SpectrumResult", "NoiseResult"]

#: The paper's non-fine-tuned coupling g = pi / sqrt(15.6) (the default g of every model).
DEFAULT_G = _core.PAPER_COUPLING

#: Above this final leakage 1 - Tr rho the truncation N changes the physics (the CLI's warning).
LEAKAGE_WARNING = _core.LEAKAGE_WARNING

#: The defaults of the CLI's options, from the C++ settings structs (ModelConfig,
#: SimulateOptions, LossSettings, OptimizeSettings, SpectrumSettings, NoiseSettings) that the
#: CLI uses too; the functions' signatures are built from them.
DEFAULTS = types.MappingProxyType(_core.defaults())
_D = DEFAULTS
_NOISE = _D["noise"]


class TruncationWarning(UserWarning):
    """The Fock truncation lost more than 1e-6 of the probability: increase nc."""


def _check_leakage(out: dict, nc) -> dict:
    """Warns with TruncationWarning when out["leakage"] exceeds LEAKAGE_WARNING."""
    leak = out["leakage"]
    if leak is not None and leak > LEAKAGE_WARNING:  # None: interrupted before any evaluation
        # stacklevel 4: _check_leakage, the function's body, its _returns wrapper, the caller.
        warnings.warn(f"final leakage {leak:.3g} exceeds 1e-6; increase nc (now {nc})",
                      TruncationWarning, stacklevel=4)
    return out


def _initial(x):
    """The complex density matrix of an `initial=` argument and the label the result's
    config["initial"] gets (the CLI's: the file's path)."""
    label = None
    if isinstance(x, (str, os.PathLike)):
        label, x = os.fspath(x), load(x)
    kind = type(x).__name__
    if isinstance(x, dict):
        label = label or getattr(x, "__dict__", {}).get("source")
        if "rho" not in x:
            raise ValueError(f"initial: this {kind} has no rho (a state result, "
                             "qbopt.simulate's result or a `qbopt state --out` file holds one)")
        x = x["rho"]
    if hasattr(x, "full") and getattr(x, "isket", False):
        x = x.proj()  # a QuTiP ket: its density matrix
    try:
        rho = _rho(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"initial: {kind} is not a density matrix ({err})") from None
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1]:
        raise ValueError(f"initial must be an N x N density matrix, got shape {rho.shape}")
    return rho, label or f"<{kind} {rho.shape[0]}x{rho.shape[1]}>"


def _returns(cls):
    """The one place where a function's result dict becomes a `cls` (a Result) and where its
    `initial=` argument (array, Qobj, result, CLI JSON or path) becomes the complex matrix the
    C++ core takes; the config then records it as the CLI's --initial would."""
    def decorate(f):
        sig = inspect.signature(f)

        @functools.wraps(f)
        def call(*args, **kwargs):
            bound = sig.bind(*args, **kwargs)
            label = None
            if bound.arguments.get("initial") is not None:
                bound.arguments["initial"], label = _initial(bound.arguments["initial"])
            t0 = time.perf_counter()
            r = cls(_records(f(*bound.args, **bound.kwargs)))
            if "seconds" not in r and cls is SimulateResult:  # as the CLI's simulate
                r["seconds"] = time.perf_counter() - t0
            if label is not None:
                r["config"]["initial"] = label
            return r
        return call
    return decorate


def _loss_name(loss, name):
    """The loss's name: `loss` (the CLI's --loss), or `name` (its older Python spelling)."""
    if name is not None and name != loss and loss != _D["loss"]:
        raise ValueError(f"loss={loss!r} and name={name!r} disagree (name is the older "
                         "spelling of loss)")
    return str(name if name is not None else loss)


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


def _model(model: str = _D["model"], params=None, g=None, nc=_D["nc"]) -> _core.ModelConfig:
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
    """A memory budget in bytes, or the CLI's text ("512M", "8G"); None (0 to the core) = the
    available memory."""
    if x is None:
        return 0
    n = _core.parse_bytes(x, "max_memory") if isinstance(x, str) else _integer(x, "max_memory")
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


def _collisions(ks, sched, what: str) -> list:
    """A list of collision counts k (integers in [0, n]), sorted and without repeats."""
    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__iter__"):
        raise ValueError(f"{what} {ks!r} must be a list of collision counts")
    ks = [_integer(k, what) for k in ks]
    if not ks:
        raise ValueError(f"{what} is empty: give at least one collision count")
    return list(_core.collision_indices(ks, sched.collisions(), what))


def _progress_bar(label: str):
    """progress(k, n) drawing "label [#####     ]  42%  k/n" on stderr (the opt-in bar)."""
    def draw(k, n):
        frac = k / n if n else 1.0
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r{label} [{bar:<30}] {100 * frac:5.1f}%  {k}/{n}")
        sys.stderr.flush()
        return True
    return draw


def _iteration_lines(start, iteration, loss):
    """An optimizer callback printing the CLI's --progress line on stderr."""
    print(_core.iteration_line(start, iteration, loss), file=sys.stderr, flush=True)
    return True


@_returns(SimulateResult)
def simulate(batches, g: float | None = None, nc: int = _D["nc"], samples: int = _D["samples"],
             model: str = _D["model"], params: dict | None = None, progress=None,
             max_memory: int | str | None = None, initial=None, sampling: str = _D["sampling"],
             at=None) -> SimulateResult:
    """Runs a charging schedule (``qbopt simulate``) and records the battery's trajectory.

    batches: the schedule, in order: [(c, q, count[, fixed]), ...], dicts {"c", "q", "count"[,
        "fixed"][, "g"]} or the CLI's --batch strings "c,q,count". c is the qubits' coherence and
        q their GROUND-state population, both in [0, 1]; count is the number of qubits.
    g: the coupling g tau (rad per collision; default DEFAULT_G = pi/sqrt(15.6)).
    nc: the Fock truncation N (levels 0..N-1).
    samples: number of sample points (>= 2) spread by `sampling`: "log", log-spaced from the
        first to the last collision, or "linear", evenly spaced from k = 0 (the initial state)
        to n (the CLI's --samples, --sampling).
    at: exactly these collision counts k in [0, n] instead (sorted, repeats dropped; the
        CLI's --at); it replaces `samples` and `sampling`.
    model, params: the battery model and its parameters (``qbopt.models()``), e.g.
        model="lossy", params={"kappa_tau": 1e-3, "n_th": 0.1}.
    progress: progress(k, n) is called every few thousand collisions; returning False stops
        the run there (the result then ends at k, has ``interrupted`` True and its ``rho``, so
        ``initial=`` can continue it); True draws a progress bar on stderr instead. Ctrl-C
        raises KeyboardInterrupt within ~0.1 s.
    max_memory: bytes (or "512M", "8G"); a run whose estimate exceeds it (default: the
        available memory) raises ValueError before it starts.
    initial: the state to start from instead of |0><0| (the CLI's --initial): an N x N complex
        density matrix (ndarray, N <= nc, padded with zeros), a qutip.Qobj, a StateResult or
        SimulateResult, the CLI's state JSON (dict) or the path of a ``qbopt state --out``
        file. It must be Hermitian, of trace 1 (within 1e-6), positive semidefinite and of
        the collision models' phase form (rho_mn = (-i)^(m-n) x real); else ValueError.

    Returns a SimulateResult: ``trajectory`` (k, energy, ergotropy, purity, leakage arrays of
    ``samples`` points), ``final`` (k, energy, ergotropy, purity, leakage, populations),
    ``energy_all`` (E_0..E_n), ``rho`` (final N x N), ``seconds``. Energies in units of omega.

    >>> r = qbopt.simulate([(0.39, 0.168, 30)], nc=30, samples=4)
    >>> r.trajectory.k, np.round(r.trajectory.ergotropy, 4)
    (array([ 1,  3, 10, 30]), array([0.053 , 0.4364, 3.6546, 8.9017]))
    >>> round(r.energy, 6), round(r.ergotropy, 6), r.rho.shape
    (9.88613, 8.901663, (30, 30))
    """
    cfg = _model(model, params, g, nc)
    if _integer(samples, "samples") < 2:
        raise ValueError(f"samples must be >= 2, got {samples}")
    sched = _schedule(batches, cfg)
    ks = [] if at is None else _collisions(at, sched, "at")
    bar = progress is True
    if bar:
        progress = _progress_bar("simulate")
    *_, Eall, fin, _, doc = _core.simulate(cfg, sched, int(samples), progress,
                                           _bytes(max_memory), str(sampling), ks,
                                           initial=initial)
    if bar:
        sys.stderr.write("\n")
    sampled = {"at": ks} if ks else {"samples": samples, "sampling": sampling}
    out = _to_numpy(json.loads(doc))  # {"trajectory", "final"[, "interrupted"]}
    out["config"] = _config("simulate", cfg, sched, **sampled)
    # Python's extras (not in the CLI's file): E_k for every k, the final leakage and rho.
    out["energy_all"] = np.asarray(Eall)
    out["leakage"] = out["final"]["leakage"]
    out["rho"] = np.asarray(fin.density_matrix())
    return _check_leakage(out, cfg.nc)


@_returns(LossResult)
def loss(batches, g: float | None = None, nc: int = _D["nc"], lam: float = _D["lambda"],
         eta: float = _D["eta"], loss: str = _D["loss"], gradient: bool = False,
         free_g: bool = False, model: str = _D["model"], params: dict | None = None,
         max_memory: int | str | None = None, initial=None, *, name: str | None = None
         ) -> LossResult:
    """A figure of merit of a schedule and optionally its exact gradient (``qbopt loss``).

    batches, g, nc, model, params, max_memory, initial: as in ``simulate``; with ``initial``
        E_0 is the initial state's energy, so the penalty window and the gradient concern the
        new collisions only.
    lam: the weight lambda of the stability penalty (the CLI's --lambda; >= 0).
    eta: the fraction of the last collisions in the penalty window, in (0, 1].
    loss: "eq11" (Eq. (11): -W_n + lambda sum_{k in window} |E_k - E_{k-1}|), "ergotropy",
        "energy", "power", or "NAME-spectral" (e.g. "eq11-spectral": the figure without its
        window penalty, plus lam * (-ln|lambda_1|) of the last batch's one-step map; the result
        then has ``spectral``: {"eigenvalue": [re, im], "decay_rate", "lifetime"}).
        ``name=`` is its older spelling.
    gradient: also the exact (adjoint) gradient.

    Returns a LossResult: ``loss``, ``ergotropy`` (W_n), ``penalty``, ``energy`` (E_n),
    ``leakage``; with gradient=True ``gradient`` (one row per batch, [dL/dc, dL/dq] plus dL/dg
    for a batch with its own g; a 2-D array when the rows have the same length) and
    ``model_gradient`` ({"g": dL/dg, ...} for the model's global parameters). Energies in units
    of omega, g in rad.

    >>> r = qbopt.loss([(0.39, 0.168, 30)], nc=30, lam=10, eta=0.5, gradient=True)
    >>> r
    LossResult(loss micromaser g=0.795404 nc=30 1 batch 30 collisions)
      loss 23.9812  ergotropy 8.90166  penalty 24.4179  energy 9.88613  leakage ...e-1...
      arrays: gradient[1x2]
    >>> round(r.loss, 6), r.gradient.shape
    (23.981178, (1, 2))
    """
    name = _loss_name(loss, name)
    cfg = _model(model, params, g, nc)
    sched = _schedule(batches, cfg)
    ev, sp = _core.evaluate_loss(cfg, sched, name, float(lam), float(eta), bool(gradient),
                                 bool(gradient), _bytes(max_memory), initial=initial)
    out = _to_numpy(json.loads(_core.loss_result_json(ev, cfg, bool(gradient), sp)))
    out["config"] = _config("loss", cfg, sched, **{"lambda": lam, "eta": eta, "loss": name})
    if gradient:
        if free_g:  # kept for scripts written before model_gradient existed
            out["d_g"] = out["model_gradient"]["g"]
    return _check_leakage(out, cfg.nc)


@_returns(OptimizeResult)
def optimize(batches, g: float | None = None, nc: int = _D["nc"], lam: float = _D["lambda"],
             eta: float = _D["eta"], loss: str = _D["loss"], starts: int = _D["starts"],
             seed: int = _D["seed"], max_iterations: int = _D["max_iterations"],
             epsilon: float = _D["epsilon"], free_g=False,
             g_range: Sequence[float] = _D["g_range"], model: str = _D["model"],
             params: dict | None = None, callback=None, max_memory: int | str | None = None,
             initial=None, threads: int = _D["threads"], path: bool = False, *,
             name: str | None = None) -> OptimizeResult:
    """Minimizes the loss over the free (c, q) of the batches with L-BFGS-B (``qbopt
    optimize``).

    batches: the starting point, as in ``simulate``; a batch with fixed True (or "fixed") is
        not optimized. An OptimizeResult's ``params`` is a valid ``batches``: restart from the
        best point with ``optimize(r.params, g=r.g, ...)``.
    g, nc, model, params, max_memory, initial: as in ``simulate`` (every evaluation starts
        from ``initial``).
    lam, eta, loss: the figure of merit, as in ``loss``.
    starts: the given point, then starts - 1 random ones (drawn from ``seed``).
    max_iterations: L-BFGS-B iterations per start; epsilon: projected-gradient norm at
        convergence.
    free_g: False; True or "global" (the model's g); "batch" (each free batch its own g),
        searched in g_range (rad).
    callback: callback(start, iteration, loss) after each iteration; returning False stops the
        run (status "interrupted"); True prints a line per iteration on stderr (as the CLI's
        --progress).
    threads: cores on which the starts run (0 = all; 1 = one core).
    path: also return ``path``, the free slots' values (in the order of ``slots``) at each
        ``history`` entry of the best start, for drawing on a ``landscape``.

    Ctrl-C stops the run within ~0.1 s and returns the best point so far with status
    "interrupted" (as the CLI writes its --out and exits 130); no KeyboardInterrupt is raised.

    Returns an OptimizeResult: ``params`` (best schedule), ``g``, ``model``, ``loss``,
    ``ergotropy``, ``penalty``, ``energy``, ``leakage``, ``iterations``, ``evaluations``,
    ``seconds``, ``history``, ``status``, ``message``, ``slots``, ``starts``.

    >>> r = qbopt.optimize([(0.3, 0.3, 30)], nc=30, max_iterations=30)
    >>> r.status, r.iterations, round(r.loss, 4), round(r.ergotropy, 4)
    ('converged', 8, -0.0712, 1.4115)
    >>> [(round(p["c"], 3), round(p["q"], 3), p["count"]) for p in r.params]
    [(0.5, 0.638, 30)]
    """
    name = _loss_name(loss, name)
    cfg = _model(model, params, g, nc)
    sched = _schedule(batches, cfg)
    if _integer(seed, "seed") < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    mode = {False: "none", None: "none", True: "global"}.get(free_g, free_g) \
        if isinstance(free_g, (bool, type(None))) else str(free_g)
    if mode not in ("none", "global", "batch"):
        raise ValueError(f"free_g {free_g!r} must be False, True, 'global' or 'batch'")
    if callback is True:
        callback = _iteration_lines
    r = _core.optimize(cfg, sched, name, float(lam), float(eta), _integer(starts, "starts"),
                       int(seed), _integer(max_iterations, "max_iterations"), float(epsilon),
                       ["g"] if mode == "global" else [], ["g"] if mode == "batch" else [],
                       {"g": (float(g_range[0]), float(g_range[1]))}, callback,
                       _bytes(max_memory), initial=initial,
                       threads=_integer(threads, "threads"), path=bool(path))
    conf = _config("optimize", cfg, sched, **{"lambda": lam, "eta": eta, "loss": name,
                                             "starts": starts, "seed": seed,
                                             "max_iterations": max_iterations,
                                             "epsilon": epsilon, "free_g": mode})
    if mode != "none":
        conf["g_range"] = list(g_range)
    if path:
        conf["path"] = True
    out = _to_numpy(json.loads(_core.optimize_result_json(r, cfg, bool(path))))
    out["config"] = conf
    if name.endswith("-spectral") and r.status != "interrupted":
        # The optimum's slow mode, as the CLI writes it (one more evaluation there).
        sp = _core.evaluate_loss(_core.optimum(r, cfg), r.schedule, name, float(lam), float(eta),
                                 False, False, _bytes(max_memory), initial=initial)[1]
        out["spectral"] = json.loads(_core.spectral_json(sp))
    return _check_leakage(out, cfg.nc)


def wigner(rho, x, p=None) -> np.ndarray:
    """Wigner function W(x, p) of a state, in qutip.wigner's convention (g = sqrt 2).

    rho: an N x N complex density matrix (ndarray or qutip.Qobj), a StateResult, the CLI's state
        JSON (dict, rho as {"re", "im"}) or the path of a ``qbopt state --out`` file.
    x, p: quadrature grids (dimensionless; p defaults to x).

    Returns w (len(p) x len(x)) with w[j, i] = W(x[i], p[j]), the layout qutip.wigner returns.

    >>> w = qbopt.wigner(np.diag([1.0, 0.0]), [0.0, 1.0])    # the vacuum |0><0|
    >>> np.round(w, 6)
    array([[0.31831 , 0.1171  ],
           [0.1171  , 0.043079]])
    """
    if isinstance(rho, (str, os.PathLike)):
        rho = load(rho)
    rho = _rho(rho)
    if rho.ndim != 2 or rho.shape[0] != rho.shape[1]:
        raise ValueError(f"rho must be a square matrix, got shape {rho.shape}")
    x = np.asarray(x, dtype=float).ravel()
    p = x if p is None else np.asarray(p, dtype=float).ravel()
    return np.asarray(_core.wigner(rho, x.tolist(), p.tolist()))


def _state_dict(st, k) -> dict:
    """A state after k collisions in the layout of ``qbopt state`` (cli/json_io.hpp)."""
    return _to_numpy(json.loads(_core.state_json(st, int(k))))


@_returns(StateResult)
def state(batches, g: float | None = None, nc: int = _D["nc"], wigner_grid=None,
          model: str = _D["model"], params: dict | None = None, initial=None,
          max_memory: int | str | None = None, states_at=None) -> StateResult:
    """The final battery state of a schedule (``qbopt state``).

    batches, g, nc, model, params, max_memory, initial: as in ``simulate``.
    wigner_grid: (xmin, xmax, points), the CLI's --wigner: also the Wigner function on that
        grid (x and p alike, 2 <= points <= 4001).
    states_at: collision counts k in [0, n] (the CLI's --states-at): adds ``states``, one dict
        of the keys below and ``k`` per requested k, in increasing k, from the same run (with
        ``wigner`` when `wigner_grid`).

    Returns a StateResult: ``rho`` (N x N complex density matrix, Fock basis), ``populations``,
    ``energy``, ``ergotropy`` (units of omega), ``purity``, ``leakage``, ``k`` (collisions),
    [``wigner``: {"x", "p", "w"}]. ``to_qutip(r)`` makes it a Qobj, ``initial=r`` continues
    from it, ``r.save("s.json")`` writes the file ``qbopt state --out`` writes.

    >>> st = qbopt.state([(0.39, 0.168, 30)], nc=30)
    >>> st
    StateResult(state micromaser g=0.795404 nc=30 1 batch 30 collisions)
      k 30  energy 9.88613  ergotropy 8.90166  purity 0.363109  leakage ...e-1...
      arrays: populations[30], rho[30x30]
    >>> np.round(st.populations[:4], 6)
    array([1.10e-05, 3.70e-05, 1.51e-04, 6.20e-04])
    """
    cfg = _model(model, params, g, nc)
    sched = _schedule(batches, cfg)
    keep = [] if states_at is None else _collisions(states_at, sched, "states_at")
    k, *_, fin, kept, _ = _core.simulate(cfg, sched, 2, None, _bytes(max_memory), states_at=keep,
                                      initial=initial)
    out = _state_dict(fin, k[-1])
    out["config"] = _config("state", cfg, sched)
    rho = out["rho"]
    if wigner_grid is not None:
        a, b, n = wigner_grid
        if not 2 <= int(n) <= 4001 or not (math.isfinite(a) and math.isfinite(b)) or a >= b:
            raise ValueError(f"wigner_grid must be (xmin < xmax, 2 <= points <= 4001), got {wigner_grid!r}")
        xs = np.linspace(a, b, int(n))
        out["config"]["wigner"] = [a, b, n]
        out["wigner"] = {"x": xs, "p": xs, "w": wigner(rho, xs, xs)}
    if keep:
        out["config"]["states_at"] = keep
        out["states"] = []
        for kk, s in kept:
            e = _state_dict(s, kk)
            if "wigner" in out:
                xs = out["wigner"]["x"]
                e["wigner"] = {"x": xs, "p": xs, "w": wigner(e["rho"], xs, xs)}
            out["states"].append(e)
    return _check_leakage(out, cfg.nc)


@_returns(NoiseResult)
def noise_ensemble(batches, sigma: float = _NOISE["sigma"],
                   trajectories: int = _NOISE["trajectories"], seed: int = _NOISE["seed"],
                   g: float | None = None, nc: int = _D["nc"], samples: int = _NOISE["samples"],
                   model: str = _D["model"], params: dict | None = None,
                   initial=None) -> NoiseResult:
    """Robustness to preparation noise: each qubit's (c, q) drawn from a Gaussian of standard
    deviation `sigma` around its batch's values (clipped to [0, 1]), over `trajectories`
    realizations (trajectory j seeded from (seed, j); the CLI's ``reproduce --sigma --seed
    --trajectories``).

    batches, g, nc, model, params, initial: as in ``simulate``; samples: log-spaced points.

    Returns a NoiseResult: ``k`` (int array) and, at each k, ``ergotropy_mean``,
    ``ergotropy_std``, ``purity_mean``, ``purity_std``, ``energy_mean``, ``energy_std``
    (units of omega).

    >>> e = qbopt.noise_ensemble([(0.39, 0.168, 30)], sigma=0.05, trajectories=4, nc=30,
    ...                          samples=3)
    >>> e.k, np.round(e.ergotropy_mean, 4)
    (array([ 1,  5, 30]), array([0.0514, 1.175 , 8.8318]))
    """
    cfg = _model(model, params, g, nc)
    if _integer(seed, "seed") < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    sched = _schedule(batches, cfg)
    e = _core.noise_ensemble(cfg, sched, float(sigma), _integer(trajectories, "trajectories"),
                             int(seed), _integer(samples, "samples"), initial=initial)
    out = {"config": _config("noise", cfg, sched, sigma=sigma, trajectories=trajectories,
                             seed=seed, samples=samples)}
    for key in ("k", "ergotropy_mean", "ergotropy_std", "purity_mean", "purity_std", "energy_mean",
                "energy_std"):
        out[key] = np.asarray(getattr(e, key))
    return out


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


@_returns(SpectrumResult)
def spectrum(qubit, g: float | None = None, nc: int = _D["nc"], count: int = _D["count"],
             model: str = _D["model"], params: dict | None = None) -> SpectrumResult:
    """The leading eigenvalues of the one-step map of `qubit` (``qbopt spectrum``): how fast
    and to what a battery charged by that qubit forever relaxes.

    qubit: (c, q), {"c", "q"[, "g"]} or the CLI's --qubit string "c,q".
    g, nc, model, params: as in ``simulate``.
    count: the number K of eigenvalues of largest modulus (1 <= K <= nc(nc+1)/2 - 2).

    Returns a SpectrumResult: ``eigenvalues`` (complex array, decreasing modulus), ``lifetime``
    (-1/ln|lambda_1| in collisions, or None), ``steady_states`` [{"eigenvalue",
    "populations", "energy", "ergotropy", "purity", "rho"}], ``eigenvectors`` (complex N x N,
    density-matrix basis, unit Frobenius norm), ``matvecs``, ``converged``.

    >>> sp = qbopt.spectrum((0.39, 0.168), nc=20, count=3)
    >>> np.round(np.abs(sp.eigenvalues), 6), f"{sp.lifetime:.3g}"
    (array([1.      , 0.979937, 0.974312]), '2.86e+06')
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
    """A qutip.Qobj (N x N operator) of a state: a result holding ``rho`` (StateResult,
    SimulateResult, a steady state of a SpectrumResult), the CLI's state JSON (dict, rho as
    {"re", "im"}) or its path, or a complex density matrix.

    >>> q = qbopt.to_qutip(qbopt.state([(0.39, 0.168, 30)], nc=30))
    >>> q.shape, q.isherm
    ((30, 30), True)
    """
    try:
        import qutip
    except ImportError as err:  # pragma: no cover - depends on the installation
        raise ImportError("to_qutip needs QuTiP (Debian: apt-get install python3-qutip)") from err
    if isinstance(st, (str, os.PathLike)):
        st = load(st)
    return qutip.Qobj(_rho(st))


def save(result, path) -> None:
    """Writes a result (or a dict in the Python layout) as the CLI's JSON, atomically (a
    temporary file, then renamed): the same as ``result.save(path)``."""
    if isinstance(result, Result):
        result.save(path)
    else:
        write_json(result, path)


def scenarios() -> list:
    """The paper's optimizations (Sec. 3.1, 3.2 and the improved strategy) as `qbopt reproduce`
    runs them: [{"id", "section", "lambda", "eta", "nc", "g", "start": [{"c", "q", "count",
    "fixed"}, ...], "paper": [(c, q) per batch], "figure", "state_figure", "example"}]. "start"
    can be passed to optimize() as it is; "paper" holds the optima the paper reports.

    >>> s = {x["id"]: x for x in qbopt.scenarios()}
    >>> x = s["3.1-lambda10"]
    >>> x["lambda"], x["nc"], round(x["g"], 6), x["paper"]
    (10.0, 120, 0.795404, [(0.39, 0.168)])
    """
    return _core.paper_scenarios()


__all__ += ["scenarios"]


from .sweep import SweepResult, landscape, run_task, sweep  # noqa: E402  (sweeps, landscapes)

__all__ += ["sweep", "run_task", "landscape", "SweepResult"]

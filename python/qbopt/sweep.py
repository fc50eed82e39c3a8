"""Sweeps and loss landscapes from Python, on the C++ engine of ``qbopt sweep``.

``sweep(config)`` runs a sweep file (or a dict of the same structure) through the CLI's own
sweep code: the same expansion, tasks, JSON lines and resume rules as ``qbopt sweep``, on C++
threads with the GIL released. ``run_task(task)`` runs one task dict as the CLI runs it.
``landscape(batches, c, q)`` evaluates the loss over a (c, q) grid of one batch in parallel.
"""
from __future__ import annotations

import json
import math
import os
import tempfile

import numpy as np

from . import _core
from . import DEFAULTS as _D  # the C++ settings structs' defaults

__all__ = ["sweep", "run_task", "landscape", "SweepResult"]


class SweepResult(list):
    """The records of a sweep in task order, as ``qbopt sweep`` writes them: dicts
    {"task", "hash", "config", "result"} ({"error"} instead of "result" for a failed task).

    ``status``: "complete", "failed" (some records have "error") or "interrupted" (the
    progress callback returned False: the records finished so far; the same call resumes).
    ``out``: the results file (None when the sweep ran on a temporary one).
    ``tasks``: tasks in the sweep; ``ran``: tasks run by this call (the others were in ``out``).
    """

    status: str = "complete"
    out = None
    tasks = 0
    ran = 0
    seconds = 0.0

    def column(self, *keys):
        """One value of every record's result as an array: column("loss"),
        column("spectral", "lifetime"); NaN where a record lacks it (or it is None)."""
        out = []
        for r in self:
            x = r.get("result", {})
            for k in keys:
                x = x.get(k) if isinstance(x, dict) else None
            out.append(np.nan if x is None else x)
        return np.asarray(out, dtype=float)


def _default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"{x!r} ({type(x).__name__}) is not a configuration value")


def _threads(threads) -> int:
    if threads is None:
        return 0
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads {threads!r} must be an integer >= 1 (or None: all cores)")
    return int(threads)


def sweep(config, out=None, threads=None, progress=None, restart: bool = False) -> SweepResult:
    """Runs a sweep: the ``qbopt sweep CONFIG --out OUT`` of Python.

    ``config``: the path of a sweep TOML file, or a dict with the same structure, e.g.
    ``{"command": "loss", "nc": 20, "batch": ["0.3,0.1,10"], "sweep": {"lambda": [1, 10]}}``
    (the axes of "sweep" vary in the dict's order, the last fastest, as the lines of a file).
    ``command`` may be simulate, loss, optimize or spectrum; each result is the JSON document
    of that command's ``--out``. ``out``: the JSON-lines results file; lines already there are
    kept and their tasks skipped (resumable), a file of another sweep raises ValueError unless
    ``restart``; None runs on a temporary file. ``threads``: tasks at a time (None: the cores).
    ``progress(done, pending)`` is called on the calling thread as lines are written;
    returning False stops the sweep (status "interrupted"). Ctrl-C raises KeyboardInterrupt
    within ~0.1 s; the lines finished by then stay in ``out`` and the same call resumes.
    Bad configurations raise ValueError naming the task and key.

    >>> r = qbopt.sweep({"command": "loss", "nc": 30, "batch": ["0.39,0.168,30"],
    ...                  "sweep": {"lambda": [1, 10]}})
    >>> r.status, len(r), np.round(r.column("loss"), 4)
    ('complete', 2, array([0.1949, 5.8798]))
    """
    if isinstance(config, dict):
        path, text = "", json.dumps(config, default=_default)
    elif isinstance(config, (str, os.PathLike)):
        path, text = os.fspath(config), ""
        if not os.path.isfile(path):
            raise ValueError(f"sweep config {path!r} is not a file")
    else:
        raise ValueError(f"config must be a TOML path or a dict, got {type(config).__name__}")
    n = _threads(threads)
    tmpdir = None
    if out is None:
        tmpdir = tempfile.TemporaryDirectory(prefix="qbopt-sweep-")
        target = os.path.join(tmpdir.name, "results.jsonl")
    else:
        target = os.fspath(out)
    try:
        code, error, tasks, skipped, written, failures, seconds = _core.sweep(
            path, text, target, n, bool(restart), progress)
        if code == 2:
            raise ValueError(error)
        if code == 1 and failures == 0:
            raise RuntimeError(error)
        records = SweepResult()
        with open(target, encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n"):
                    records.append(json.loads(line))
    finally:
        if tmpdir is not None:
            tmpdir.cleanup()
    records.sort(key=lambda r: r["task"])
    records.status = "interrupted" if code == 130 else "failed" if failures else "complete"
    records.out = None if out is None else target
    records.tasks, records.ran, records.seconds = tasks, written, seconds
    return records


def run_task(task: dict, threads=None) -> dict:
    """Runs one task, a dict {"command": "simulate" | "loss" | "optimize" | "spectrum", then the
    command's options by their TOML keys}, exactly as the CLI runs it: returns the JSON document
    the command writes with ``--out`` (plain lists, no NumPy arrays). For example
    ``run_task({"command": "optimize", "nc": 20, "batch": ["0.3,0.1,20"], "path": True})``
    includes the optimizer's path. Bad options raise ValueError.

    >>> t = qbopt.run_task({"command": "loss", "nc": 30, "batch": ["0.39,0.168,30"]})
    >>> round(t["loss"], 4), t["config"]["command"]
    (0.1949, 'loss')
    """
    if not isinstance(task, dict):
        raise ValueError(f"task must be a dict, got {type(task).__name__}")
    text = json.dumps(task, default=_default)
    return json.loads(_core.run_task(text, _threads(threads)))


def landscape(batches, c, q, batch: int = -1, g: float | None = None, nc: int = _D["nc"],
              lam: float = _D["lambda"], eta: float = _D["eta"], loss: str = _D["loss"],
              model: str = _D["model"], params: dict | None = None, lifetime: bool = False,
              count: int = _D["count"], threads=None) -> dict:
    """The loss over a (c, q) grid of one batch of a schedule, evaluated in parallel.

    ``batches``: the schedule as for ``qbopt.loss``; ``batch``: the index (Python's: -1 is the
    last) of the batch whose (c, q) moves to each grid point; ``c``, ``q``: 1-D grids in [0, 1].
    Each point is exactly ``qbopt.loss(...)`` of the moved schedule (the same evaluator). With
    ``lifetime``, also the spectral lifetime -1/ln|lambda_1| of that batch's one-step map (as
    ``qbopt.spectrum(...)["lifetime"]``, K = ``count`` eigenvalues; NaN where no mode decays).

    Returns {"c", "q", "loss", "ergotropy", "penalty"[, "lifetime"], "config"}: the maps are
    arrays of shape (len(q), len(c)), map[j, i] at (c[i], q[j]) (rows q, as imshow/pcolormesh
    take them). Runs on ``threads`` C++ threads (None: the cores); Ctrl-C raises
    KeyboardInterrupt.

    >>> m = qbopt.landscape([(0.39, 0.168, 30)], c=[0.2, 0.4], q=[0.1, 0.2], nc=30)
    >>> m["loss"].shape                      # rows q, columns c
    (2, 2)
    >>> float(m["loss"][0, 1]) == qbopt.loss([(0.4, 0.1, 30)], nc=30).loss   # (c, q) = (0.4, 0.1)
    True
    """
    from . import _config, _integer, _model, _schedule  # the package's own checks
    cfg = _model(model, params, g, nc)
    sched = _schedule(batches, cfg)
    cs = np.asarray(c, dtype=float).ravel()
    qs = np.asarray(q, dtype=float).ravel()
    for label, axis in (("c", cs), ("q", qs)):
        if axis.size == 0:
            raise ValueError(f"{label} must hold at least one value")
        if not np.all(np.isfinite(axis)) or axis.min() < 0 or axis.max() > 1:
            raise ValueError(f"{label} values must lie in [0, 1]")
    if cs.size * qs.size > 1_000_000:
        raise ValueError(f"the grid has {cs.size} x {qs.size} points (at most 1e6)")
    nb = len(sched.batches)
    b = _integer(batch, "batch")
    if not -nb <= b < nb:
        raise ValueError(f"batch {batch!r} must be in [{-nb}, {nb - 1}] (the schedule has {nb})")
    b %= nb
    if not (math.isfinite(lam) and math.isfinite(eta)):
        raise ValueError("lam and eta must be finite")
    L, W, P, T = _core.landscape(cfg, sched, b, cs.tolist(), qs.tolist(), loss, float(lam),
                                 float(eta), bool(lifetime), _integer(count, "count"),
                                 _threads(threads))
    shape = (qs.size, cs.size)
    out = {"c": cs, "q": qs,
           "loss": np.asarray(L).reshape(shape), "ergotropy": np.asarray(W).reshape(shape),
           "penalty": np.asarray(P).reshape(shape)}
    if lifetime:
        out["lifetime"] = np.asarray(T).reshape(shape)
    out["config"] = _config("landscape", cfg, sched, **{"lambda": lam, "eta": eta, "loss": loss,
                                                        "batch": b, "lifetime": bool(lifetime)})
    return out

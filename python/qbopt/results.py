"""Result objects of qbopt's functions, and their files.

Every function of qbopt returns a :class:`Result`: a ``dict`` (so ``r["energy"]`` and
``r["trajectory"]["k"]`` keep working) with attribute access (``r.energy``,
``r.trajectory.k``), a short ``repr``, :meth:`Result.to_dict` (exactly the layout of the
``qbopt`` command's ``--out`` JSON: lists, ``{"re", "im"}`` for complex matrices) and
:meth:`Result.save` (atomic). :func:`load` reads any JSON the CLI writes back into the right
class, so results move between the CLI, Python and QuTiP without glue:

>>> import qbopt, tempfile, os
>>> st = qbopt.state([(0.39, 0.168, 30)], nc=30)
>>> path = os.path.join(tempfile.mkdtemp(), "s.json")
>>> st.save(path)                      # the file `qbopt state --out s.json` writes
>>> back = qbopt.load(path)
>>> type(back).__name__, round(back.energy, 6) == round(st.energy, 6)
('StateResult', True)

Energies and ergotropies are in units of the cavity quantum omega (hbar = omega = 1), k counts
collisions, g is the phase accumulated per collision (rad); see docs/physics.md.
"""
from __future__ import annotations

import csv
import json
import math
import os
import tempfile
import textwrap

import numpy as np

__all__ = ["Result", "SimulateResult", "LossResult", "OptimizeResult", "StateResult",
           "SpectrumResult", "NoiseResult", "load"]


class Record(dict):
    """A nested block of a result (``r.final``, ``r.trajectory``, ``r.config``): a dict whose
    keys also read as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no key {name!r} "
                                 f"(keys: {', '.join(map(str, self))})") from None

    def __dir__(self):
        return sorted(set(super().__dir__()) | {k for k in self if str(k).isidentifier()})

    def _repr_pretty_(self, p, cycle):  # IPython / Jupyter
        p.text(repr(self))


def _records(x):
    """Nested dicts as Records (in place for lists), arrays and scalars as they are."""
    if isinstance(x, dict):
        return Record({k: _records(v) for k, v in x.items()})
    if isinstance(x, list):
        return [_records(v) for v in x]
    return x


def _jsonable(x):
    """x with NumPy arrays as lists, complex matrices as {"re", "im"} (as the CLI writes rho)
    and non-finite floats as null (JSON has no NaN; the CLI writes null)."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        if np.iscomplexobj(x):
            return {"re": _jsonable(x.real), "im": _jsonable(x.imag)}
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return _jsonable(x.item())
    if isinstance(x, complex):
        return {"re": x.real, "im": x.imag}
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_json(data, path) -> None:
    """Writes `data` (JSON-able after _jsonable) to `path` atomically: a temporary file in the
    same directory, then renamed, so an interrupted write never leaves a truncated file."""
    path = os.fspath(path)
    text = json.dumps(_jsonable(data), indent=1)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp.",
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _shape(v):
    """"[4]", "[30x30]", "3 x [20x20]" (a list of arrays), or None (not an array)."""
    if isinstance(v, np.ndarray):
        return f"[{'x'.join(map(str, v.shape))}]"
    if isinstance(v, list) and v and all(isinstance(a, np.ndarray) for a in v):
        return f"{len(v)} x [{'x'.join(map(str, v[0].shape))}]"
    return None


def _number(v) -> str:
    if isinstance(v, (bool, np.bool_)) or v is None or isinstance(v, str):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    v = float(v)
    return f"{v:.6g}" if v == 0 or 1e-3 <= abs(v) < 1e6 else f"{v:.3e}"


class Result(Record):
    """The common base of every result: a dict in the Python layout (NumPy arrays, complex
    ``rho``) with attribute access.

    ``to_dict()`` gives the CLI's JSON layout; ``save(path)`` writes it atomically;
    ``qbopt.load(path)`` reads it back into the same class. Keys listed in ``python_only`` (e.g.
    a simulation's ``energy_all`` and final ``rho``) are kept on the object but are not part of
    the CLI's layout, so ``to_dict`` and ``save`` leave them out.

    >>> r = qbopt.state([(0.39, 0.168, 30)], nc=30)
    >>> r.energy == r["energy"], isinstance(r, dict), type(r.to_dict()["populations"])
    (True, True, <class 'list'>)
    """

    #: The CLI command whose --out file this result is ("simulate", ...); None: any JSON.
    command = None
    #: Keys Python adds that the CLI's file does not have.
    python_only: tuple = ()
    #: (label, key path) of the scalars the repr shows.
    _summary: tuple = ()

    def to_dict(self) -> dict:
        """The CLI's JSON layout of this result: plain lists and numbers (json.dump-able),
        complex matrices as {"re", "im"}, without the Python-only keys."""
        return _jsonable({k: v for k, v in self.items() if k not in self.python_only})

    def save(self, path) -> None:
        """Writes ``to_dict()`` to `path` as JSON, atomically (temporary file + rename): the
        file the CLI's ``--out`` writes, which ``qbopt.load`` and the CLI (``--initial`` for a
        state) read back."""
        write_json(self.to_dict(), path)
        self.__dict__["source"] = os.fspath(path)

    def _get(self, path):
        x = self
        for k in path.split("."):
            if not isinstance(x, dict) or k not in x:
                return None
            x = x[k]
        return x

    def _header(self) -> str:
        c = self.get("config")
        if not isinstance(c, dict):
            return ""
        model = c.get("model", {})
        words = [str(c.get("command", "")), str(model.get("name", "")) if isinstance(model, dict)
                 else str(model)]
        if "g" in c:
            words.append(f"g={_number(c['g'])}")
        if "nc" in c:
            words.append(f"nc={c['nc']}")
        if "batches" in c:
            words.append(f"{len(c['batches'])} batch{'es' if len(c['batches']) != 1 else ''}")
        if "collisions" in c:
            words.append(f"{c['collisions']} collisions")
        if "initial" in c:
            words.append(f"initial={c['initial']}")
        return " ".join(w for w in words if w)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self._header()})"]
        scalars = [f"{label} {_number(v)}" for label, key in self._summary
                   if (v := self._get(key)) is not None]
        line = ""
        for item in scalars:  # wrapped between items, never inside "label value"
            if line and len(line) + 2 + len(item) > 94:
                lines.append("  " + line)
                line = ""
            line = f"{line}  {item}" if line else item
        if line:
            lines.append("  " + line)
        arrays = []

        def walk(x, prefix):
            for k, v in x.items():
                if isinstance(v, dict) and k != "config":
                    walk(v, f"{prefix}{k}.")
                elif (s := _shape(v)) is not None:
                    arrays.append(f"{prefix}{k}{s}")
        walk(self, "")
        if arrays:
            lines += textwrap.wrap("arrays: " + ", ".join(arrays), 96, initial_indent="  ",
                                   subsequent_indent="    ")
        return "\n".join(lines)

    def __str__(self) -> str:
        return repr(self)

    @classmethod
    def from_json(cls, data: dict) -> "Result":
        """The result of a CLI JSON document (already parsed): numeric lists as arrays, rho as
        a complex array."""
        return cls(_records(_to_numpy(data)))


class SimulateResult(Result):
    """A charging run (``qbopt.simulate``, ``qbopt simulate --out``).

    Keys: ``config``; ``trajectory``: {``k`` (int array, log-spaced collision indices, first
    and last included), ``energy``, ``ergotropy``, ``purity``, ``leakage``} (arrays of the same
    length); ``final``: {``k``, ``energy``, ``ergotropy``, ``purity``, ``leakage``,
    ``populations`` (array of N)}; ``seconds``; ``interrupted`` (True when a progress callback
    stopped the run). Python only: ``energy_all`` (E_k for every k = 0..n, array of n+1),
    ``leakage`` (the final one) and ``rho`` (final N x N complex density matrix, so that
    ``initial=`` can continue the run).

    ``r.energy``, ``r.ergotropy``, ``r.purity``, ``r.populations``: the final values, as in
    every other result. Energies in units of omega.

    >>> r = qbopt.simulate([(0.39, 0.168, 30)], nc=30, samples=3)
    >>> r.final.k, r.trajectory.k, round(r.energy, 4) == round(r.trajectory.energy[-1], 4)
    (30, array([ 1,  5, 30]), True)
    >>> sorted(r.to_dict())                  # the CLI's simulate --out layout
    ['config', 'final', 'seconds', 'trajectory']
    """
    command = "simulate"
    python_only = ("energy_all", "leakage", "rho")
    _summary = (("k", "final.k"), ("energy", "final.energy"), ("ergotropy", "final.ergotropy"),
                ("purity", "final.purity"), ("leakage", "final.leakage"),
                ("interrupted", "interrupted"), ("seconds", "seconds"))

    energy = property(lambda self: self["final"]["energy"], doc="final energy E_n (omega)")
    ergotropy = property(lambda self: self["final"]["ergotropy"], doc="final ergotropy W_n (omega)")
    purity = property(lambda self: self["final"]["purity"], doc="final purity Tr rho^2")
    populations = property(lambda self: self["final"]["populations"],
                           doc="final Fock populations p_0..p_{N-1}")
    k = property(lambda self: self["final"]["k"], doc="collisions done")

    @property
    def leakage(self):
        """Final leakage 1 - Tr rho (above 1e-6 the truncation nc changes the physics)."""
        return self["final"]["leakage"]


class LossResult(Result):
    """A figure of merit and optionally its gradient (``qbopt.loss``, ``qbopt loss --out``).

    Keys: ``config``, ``loss``, ``ergotropy`` (W_n), ``penalty`` (lambda times the eta-window
    sum of |E_k - E_{k-1}|), ``energy`` (E_n), ``leakage``; with ``gradient=True``:
    ``gradient`` (one row per batch: dL/dc, dL/dq, then dL/dg for a batch with its own g; a
    2-D array when the rows have equal length) and ``model_gradient`` ({parameter: dL/d it});
    for a NAME-spectral loss ``spectral``: {``eigenvalue`` [re, im], ``decay_rate``,
    ``lifetime`` (collisions)}. Python only: ``d_g`` (free_g=True, older scripts).

    >>> r = qbopt.loss([(0.39, 0.168, 30)], nc=30, loss="ergotropy", lam=0, gradient=True)
    >>> r.loss == -r.ergotropy, sorted(r.model_gradient)
    (True, ['g'])
    """
    command = "loss"
    python_only = ("d_g",)
    _summary = (("loss", "loss"), ("ergotropy", "ergotropy"), ("penalty", "penalty"),
                ("energy", "energy"), ("leakage", "leakage"),
                ("lifetime", "spectral.lifetime"))


class OptimizeResult(Result):
    """An L-BFGS-B optimization (``qbopt.optimize``, ``qbopt optimize --out``).

    Keys: ``config``; ``params`` (the best schedule: [{``c``, ``q``, ``count``, ``fixed``[,
    ``g``]}], directly usable as the ``batches`` of another call); ``g`` (the model's coupling
    there); ``model`` (all its parameters); ``loss``, ``ergotropy``, ``penalty``, ``energy``,
    ``leakage`` at the best point; ``iterations``, ``evaluations``, ``seconds``; ``history``
    (loss after each iteration of the best start); ``status`` ("converged", "max_iterations",
    "line_search_failed" or "interrupted"), ``message``; ``slots`` (names of the free
    variables); ``starts`` (every start's loss, point, status).

    >>> r = qbopt.optimize([(0.3, 0.3, 30)], nc=30, max_iterations=2)
    >>> r.status, r.slots, len(r.history)
    ('max_iterations', ['batch 1 c', 'batch 1 q'], 3)
    """
    command = "optimize"
    _summary = (("status", "status"), ("loss", "loss"), ("ergotropy", "ergotropy"),
                ("penalty", "penalty"), ("energy", "energy"), ("g", "g"),
                ("iterations", "iterations"), ("evaluations", "evaluations"),
                ("seconds", "seconds"))

    def to_dict(self) -> dict:
        out = super().to_dict()
        if out.get("g", 0) is None:  # the CLI writes no "g" for a model without one
            del out["g"]
        return out


class StateResult(Result):
    """The final battery state (``qbopt.state``, ``qbopt state --out``).

    Keys: ``config``, ``k`` (collisions done), ``rho`` (N x N complex density matrix in the
    Fock basis; the file holds it as {``re``, ``im``}), ``populations`` (its diagonal),
    ``energy``, ``ergotropy``, ``purity``, ``leakage``; with a Wigner grid ``wigner``: {``x``,
    ``p``, ``w``} (w[j, i] = W(x[i], p[j]), qutip.wigner's convention). ``qbopt.to_qutip(r)``
    gives the Qobj; ``initial=r`` continues from it.

    >>> st = qbopt.state([(0.39, 0.168, 30)], nc=30, wigner_grid=(-3, 3, 7))
    >>> st.rho.shape, st.wigner.w.shape, round(float(np.trace(st.rho).real), 12)
    ((30, 30), (7, 7), 1.0)
    >>> st.to_dict()["rho"].keys()           # the file's complex layout
    dict_keys(['re', 'im'])
    """
    command = "state"
    _summary = (("k", "k"), ("energy", "energy"), ("ergotropy", "ergotropy"),
                ("purity", "purity"), ("leakage", "leakage"), ("interrupted", "interrupted"))


class SpectrumResult(Result):
    """The leading eigenvalues of one collision's map (``qbopt.spectrum``, ``qbopt spectrum
    --out``).

    Keys: ``config``; ``eigenvalues`` (complex array, decreasing modulus; the file writes
    [re, im] pairs); ``lifetime`` (collisions, -1/ln|lambda_1|, or None); ``steady_states``:
    [{``eigenvalue``, ``populations``, ``energy``, ``ergotropy``, ``purity``, ``rho``}];
    ``matvecs``, ``converged``. Python only: ``eigenvectors`` (complex N x N arrays, unit
    Frobenius norm) and each steady state's ``rho``.

    >>> sp = qbopt.spectrum((0.39, 0.168), nc=20, count=3)
    >>> sp.eigenvalues.dtype, [round(x, 6) for x in sp.to_dict()["eigenvalues"][0]]
    (dtype('complex128'), [1.0, 0.0])
    """
    command = "spectrum"
    python_only = ("eigenvectors",)
    _summary = (("lifetime", "lifetime"), ("matvecs", "matvecs"), ("converged", "converged"))

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["eigenvalues"] = [[complex(z).real, complex(z).imag] for z in self["eigenvalues"]]
        out["steady_states"] = [
            {**{k: v for k, v in s.items() if k not in ("rho", "eigenvalue")},
             "eigenvalue": [complex(src["eigenvalue"]).real, complex(src["eigenvalue"]).imag]}
            for s, src in zip(out["steady_states"], self["steady_states"])]
        return out

    @classmethod
    def from_json(cls, data: dict) -> "SpectrumResult":
        r = super().from_json(data)
        r["eigenvalues"] = np.array([complex(*z) for z in data["eigenvalues"]], dtype=complex)
        for s in r["steady_states"]:
            s["eigenvalue"] = complex(*s["eigenvalue"])
        return r


class NoiseResult(Result):
    """A noise ensemble (``qbopt.noise_ensemble``; ``qbopt reproduce`` runs the same C++).

    Keys: ``config``; ``k`` (int array of sample points) and, each an array of that length,
    ``ergotropy_mean``, ``ergotropy_std``, ``purity_mean``, ``purity_std``, ``energy_mean``,
    ``energy_std`` over the trajectories.

    >>> e = qbopt.noise_ensemble([(0.39, 0.168, 30)], sigma=0.0, trajectories=2, nc=30,
    ...                          samples=3)
    >>> float(e.ergotropy_std.max()) < 1e-7        # no noise: every trajectory the same
    True
    """
    command = "noise"
    _summary = (("trajectories", "config.trajectories"), ("sigma", "config.sigma"),
                ("seed", "config.seed"))


_CLASSES = {c.command: c for c in (SimulateResult, LossResult, OptimizeResult, StateResult,
                                   SpectrumResult, NoiseResult)}

# Keys whose numeric lists the Python functions return as NumPy arrays.
_ARRAY_KEYS = {"k", "energy", "ergotropy", "purity", "leakage", "energy_all", "populations",
               "x", "p", "w", "history", "path", "gradient", "ergotropy_mean", "ergotropy_std",
               "purity_mean", "purity_std", "energy_mean", "energy_std"}


def _rho(st) -> np.ndarray:
    """The complex density matrix of a result (Python's complex array or the CLI's
    {"re", "im"}), a qutip.Qobj or an array."""
    rho = st["rho"] if isinstance(st, dict) and "rho" in st else st
    if isinstance(rho, dict):
        rho = np.asarray(rho["re"], dtype=float) + 1j * np.asarray(rho["im"], dtype=float)
    if hasattr(rho, "full"):
        rho = rho.full()
    return np.asarray(rho, dtype=complex)


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


def wrap(data: dict) -> Result:
    """The result class of a CLI JSON document (by its config's "command"), or Result."""
    command = data.get("config", {}).get("command") if isinstance(data.get("config"), dict) \
        else None
    return _CLASSES.get(command, Result).from_json(data)


def _load_csv(path) -> SimulateResult:
    """`qbopt simulate --out FILE.csv`: the samples (k, energy, ergotropy, purity, leakage)."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or set(rows[0]) != {"k", "energy", "ergotropy", "purity", "leakage"}:
        raise ValueError(f"{os.fspath(path)!r} is not a `qbopt simulate --out FILE.csv` file")
    t = {key: np.array([float(r[key]) for r in rows]) for key in rows[0]}
    t["k"] = t["k"].astype(np.int64)
    return SimulateResult(_records({"trajectory": t}))


def load(path):
    """Reads any file the CLI (or ``Result.save``) writes into the right result class.

    ``.json`` of simulate, loss, optimize, state or spectrum -> SimulateResult, LossResult,
    OptimizeResult, StateResult, SpectrumResult (numeric lists as NumPy arrays, ``rho`` as a
    complex array, ``k`` as integers); other JSON (``qbopt reproduce``'s results.json) -> a
    Result; ``simulate --out FILE.csv`` -> a SimulateResult with its ``trajectory`` only;
    ``qbopt sweep``'s ``.jsonl`` -> a list of its lines, each {``task``, ``hash``,
    ``config``, ``result`` (a Result) or ``error``}.

    >>> import qbopt, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "l.json")
    >>> qbopt.loss([(0.39, 0.168, 30)], nc=30).save(path)
    >>> r = qbopt.load(path)
    >>> type(r).__name__, round(r.ergotropy, 4)
    ('LossResult', 8.9017)
    """
    path = os.fspath(path)
    if path.endswith(".csv"):
        return _load_csv(path)
    with open(path, encoding="utf-8") as f:
        if path.endswith(".jsonl"):
            lines = [json.loads(t) for t in f if t.strip()]
            for line in lines:
                if isinstance(line.get("result"), dict):
                    res = line["result"]
                    res.setdefault("config", dict(line.get("config", {})))
                    line["result"] = wrap(res)
            return lines
        data = json.load(f)
    if not isinstance(data, dict):
        raise ValueError(f"{path!r} holds no JSON object (not a qbopt result)")
    r = wrap(data)
    r.__dict__["source"] = path
    return r

"""Figures of ``qbopt reproduce``: the seed paper's Figs. 4-7 and the optimizers' loss histories.

Plotting only: every number comes from the ``results.json`` that ``qbopt reproduce`` writes
(this module computes nothing physical beyond <n> = sum_n n p_n for a label). It uses
matplotlib's Agg canvas directly (no pyplot, no display, no global backend switch), so it
runs headless and can be imported next to an interactive session.

Command line::

    /usr/bin/python3 -m qbopt.figures RESULTS_JSON OUT_DIR

writes the PNGs below into OUT_DIR (created if needed) and prints their paths. Exit code 0
on success, 1 if some figure failed (the others are still written), 2 on a bad argument or
unreadable JSON.

Python::

    from qbopt import figures
    paths = figures.make_all(json.load(open("results.json")), "out")
    figures.fig4(results, "out/fig4.png")      # -> "out/fig4.png", or None if no data

Files (PNG, dpi 120, fixed figure sizes, so the pixel sizes never change):

================  ===========  ==========================================================
file              pixels       content
================  ===========  ==========================================================
fig4.png          1440 x 600   (a) ergotropy W(k), (b) purity P(k) vs collisions k (log),
                               single batch (Sec. 3.1); fine-tuned g = pi/4 dashed; noise
                               ensembles as shaded mean +- std bands
fig5.png          1440 x 1200  rows (a) state 5a, (b) state 5b: Fock populations (bars up to
                               the last n with p_n > 1e-6, at least 10 levels, plus a
                               log-scale inset) | Wigner function W(x, p) (diverging map
                               centred at 0, colorbar, equal aspect, square window around
                               the origin holding all |W| > 1 % of its maximum)
fig6.png          1440 x 600   as fig4 for the two-batch optima and the improved strategy
                               (Sec. 3.2); dotted line where batch 2 starts (k = 500)
fig7.png          1440 x 1200  as fig5 for the states 7a, 7b
loss_history.png  1920 x 960   loss (Eq. 11) vs iteration, one panel per optimization
lossy.png         1920 x 600   the paper's optima in a lossy cavity
stability_map.png 1080 x 720   log10 of the lifetime -1/ln|lambda_1| of the one-step map over
                               (c, q) at the paper's g, the paper's optima marked
landscape         1440 x 1200  landscape_figure(qbopt.landscape(...), path, opt): loss, W,
                               penalty, log10 lifetime over (c, q), the optimizer's path
                               (not part of make_all: it takes a landscape, not results.json)
================  ===========  ==========================================================

Missing data never crashes: a panel without data says so, and a figure with no data at all
is skipped (its function returns None and make_all leaves it out). Every PNG is written
atomically (temporary file in the same directory, then os.replace).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any, Optional, Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator, NullFormatter

from . import _core

__all__ = ["fig4", "fig5", "fig6", "fig7", "loss_history", "lossy", "stability_map", "landscape_figure",
           "make_all",
           "main", "FigureError", "DPI", "SIZES"]

#: Resolution of every PNG.
DPI = 120
#: Figure sizes in inches (width, height); pixels = inches * DPI.
SIZES = {
    "fig4": (12.0, 5.0),           # 1440 x 600
    "fig5": (12.0, 10.0),          # 1440 x 1200
    "fig6": (12.0, 5.0),           # 1440 x 600
    "fig7": (12.0, 10.0),          # 1440 x 1200
    "loss_history": (16.0, 8.0),   # 1920 x 960
    "lossy": (16.0, 5.0),          # 1920 x 600
    "stability_map": (9.0, 6.0),   # 1080 x 720
    "landscape": (12.0, 10.0),     # 1440 x 1200
}

# The paper's colours: Fig. 4 red / cyan / magenta / black for lambda = 1 / 10 / 100 / 1000,
# Fig. 6 red / cyan / magenta / green; the fine-tuned reference is dashed.
_STYLE = {
    "3.1-lambda1": dict(color="#d62728"),
    "3.1-lambda10": dict(color="#00a6b8"),
    "3.1-lambda100": dict(color="#c020c0"),
    "3.1-lambda1000": dict(color="#000000"),
    "3.2-lambda1": dict(color="#d62728"),
    "3.2-lambda10": dict(color="#00a6b8"),
    "3.2-lambda100": dict(color="#c020c0"),
    "improved": dict(color="#2ca02c"),
    "fine-tuned": dict(color="#555555", linestyle=(0, (6, 3)), linewidth=2.2),
}
_FALLBACK = ["#1f77b4", "#ff7f0e", "#8c564b", "#bcbd22", "#17becf", "#7f7f7f", "#9467bd"]
_HBAR_OMEGA = r"$\hbar\omega$"
_NO_DATA_COLOR = "0.45"


class FigureError(RuntimeError):
    """Raised by make_all when some figures failed; ``written`` lists those that did not."""

    def __init__(self, message: str, written: list, failures: list):
        super().__init__(message)
        self.written = written
        self.failures = failures


# ----------------------------------------------------------------------------- helpers

def _list(x: Any) -> list:
    return x if isinstance(x, list) else []


def _dict(x: Any) -> dict:
    return x if isinstance(x, dict) else {}


def _floats(values: Any) -> np.ndarray:
    """A list of numbers (None / non-numbers -> NaN) as a float array."""
    out = []
    for v in _list(values):
        try:
            out.append(float(v) if v is not None else math.nan)
        except (TypeError, ValueError):
            out.append(math.nan)
    return np.asarray(out, dtype=float)


def _series(k: Any, *ys: Any):
    """(k, y1, y2, ...) truncated to a common length, restricted to finite k > 0 (log axis)."""
    arrays = [_floats(k)] + [_floats(y) for y in ys]
    n = min(len(a) for a in arrays)
    arrays = [a[:n] for a in arrays]
    keep = np.isfinite(arrays[0]) & (arrays[0] > 0)
    return [a[keep] for a in arrays]


def _figure_tags(entry: dict) -> set:
    return {t.strip() for t in str(entry.get("figure", "")).split(",") if t.strip()}


def _style(eid: str, i: int) -> dict:
    st = dict(linewidth=1.8, linestyle="-")
    st.update(_STYLE.get(eid, {"color": _FALLBACK[i % len(_FALLBACK)]}))
    return st


def _label(entry: dict) -> str:
    return str(entry.get("label") or entry.get("id") or "?")


def _k_text(k: Any) -> str:
    """10^5 for powers of ten >= 100, else the integer with thin separators."""
    try:
        k = int(k)
    except (TypeError, ValueError):
        return "?"
    if k >= 100:
        e = round(math.log10(k))
        if 10 ** e == k:
            return rf"$10^{{{e}}}$"
    return f"{k:,}".replace(",", "\u2009")


def _g_text(g: Any) -> str:
    try:
        g = float(g)
    except (TypeError, ValueError):
        return ""
    if abs(g - _core.PAPER_COUPLING) < 1e-9:
        return "g = π/√15.6 ≈ 0.795"
    if abs(g - math.pi / 4) < 1e-9:
        return "g = π/4"
    return f"g = {g:.4g}"


def _run_note(results: dict) -> str:
    cfg = _dict(results.get("config"))
    bits = []
    if cfg.get("quick"):
        bits.append("--quick run: shortened, not the paper's numbers")
    if cfg.get("interrupted"):
        bits.append("interrupted run")
    if cfg.get("qbopt_version"):
        bits.append(f"qbopt {cfg['qbopt_version']}")
    return "\n[" + "; ".join(bits) + "]" if bits else ""


def _new_figure(name: str) -> Figure:
    fig = Figure(figsize=SIZES[name], dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str) -> str:
    """Writes fig as PNG atomically: a temporary file in the same directory, then os.replace."""
    path = os.fspath(path)
    d, base = os.path.split(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, f".{base}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        with open(tmp, "xb") as fh:   # created with the umask's permissions, unlike mkstemp
            fig.savefig(fh, format="png", dpi=DPI)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _no_data(ax, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
            fontsize=12, color=_NO_DATA_COLOR, style="italic")


def _optimization(results: dict, eid: str) -> dict:
    for o in _list(results.get("optimizations")):
        if isinstance(o, dict) and o.get("id") == eid:
            return o
    return {}


def _batch_starts(results: dict, trajectories: Sequence[dict]) -> list:
    """Collisions after which a new batch starts (cumulative counts of all but the last batch)."""
    starts = set()
    for t in trajectories:
        params = _list(_optimization(results, str(t.get("id"))).get("params"))
        total = 0
        for p in params[:-1]:
            try:
                total += int(_dict(p).get("count"))
            except (TypeError, ValueError):
                break
            starts.add(total)
    return sorted(starts) or [500]


# ----------------------------------------------------------- Figs. 4 and 6 (W(k), P(k))

def _trajectory_figure(results: dict, path: str, tag: str, title: str, batch_lines: bool) -> Optional[str]:
    trajs = [t for t in _list(results.get("trajectories"))
             if isinstance(t, dict) and tag in _figure_tags(t)]
    drawable = []
    for t in trajs:
        k, w, p = _series(t.get("k"), t.get("ergotropy"), t.get("purity"))
        nz = _dict(t.get("noise"))
        has_noise = bool(nz) and len(_series(nz.get("k"), nz.get("ergotropy_mean"))[0]) > 0
        if (len(k) and (np.isfinite(w).any() or np.isfinite(p).any())) or has_noise:
            drawable.append(t)
    if not drawable:
        return None

    fig = _new_figure(f"fig{tag}")
    ax_w, ax_p = fig.subplots(1, 2)
    handles, sigmas, ntraj, bands = [], set(), set(), False
    kmin, kmax, wmax = math.inf, 0.0, 0.0
    for i, t in enumerate(drawable):
        st = _style(str(t.get("id")), i)
        eid = str(t.get("id"))
        z = 3 if eid == "fine-tuned" else 2
        k, w, p = _series(t.get("k"), t.get("ergotropy"), t.get("purity"))
        nz = _dict(t.get("noise"))
        if nz:
            nk, wm, ws, pm, ps = _series(nz.get("k"), nz.get("ergotropy_mean"), nz.get("ergotropy_std"),
                                         nz.get("purity_mean"), nz.get("purity_std"))
            if len(nk):
                ws, ps = np.nan_to_num(ws), np.nan_to_num(ps)
                ax_w.fill_between(nk, np.maximum(wm - ws, 0), wm + ws, color=st["color"], alpha=0.18,
                                  linewidth=0, zorder=1)
                ax_p.fill_between(nk, np.clip(pm - ps, 0, 1), np.clip(pm + ps, 0, 1), color=st["color"],
                                  alpha=0.18, linewidth=0, zorder=1)
                kmin, kmax, bands = min(kmin, nk.min()), max(kmax, nk.max()), True
                if np.isfinite(wm + ws).any():
                    wmax = max(wmax, np.nanmax(wm + ws))
                if nz.get("sigma") is not None:
                    sigmas.add(float(nz["sigma"]))
                if nz.get("trajectories") is not None:
                    ntraj.add(int(nz["trajectories"]))
        if len(k):
            ax_w.plot(k, w, zorder=z, **st)
            ax_p.plot(k, p, zorder=z, **st)
            kmin, kmax = min(kmin, k.min()), max(kmax, k.max())
            if np.isfinite(w).any():
                wmax = max(wmax, np.nanmax(w))
        handles.append(Line2D([], [], label=_label(t), **st))

    if bands:
        runs = (f" of {min(ntraj)}–{max(ntraj)}" if len(ntraj) > 1 else f" of {next(iter(ntraj))}") if ntraj else ""
        sig = (" σ = " + ", ".join(f"{s:g}" for s in sorted(sigmas))) if sigmas else ""
        handles.append(Patch(facecolor="0.5", alpha=0.35,
                             label=f"shaded: mean ± std{runs} runs with noise{sig} on each (c, q)"))
    if batch_lines:
        starts = _batch_starts(results, drawable)
        for ax in (ax_w, ax_p):
            for s in starts:
                ax.axvline(s, color="0.3", linestyle=":", linewidth=1.5, zorder=0)
        handles.append(Line2D([], [], color="0.3", linestyle=":", linewidth=1.5,
                              label="batch 2 starts (k = " + ", ".join(str(s) for s in starts) + ")"))

    if not math.isfinite(kmin):
        kmin, kmax = 1.0, 10.0
    for ax in (ax_w, ax_p):
        ax.set_xscale("log")
        ax.set_xlim(kmin, max(kmax, kmin * 10))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("number of collisions k")
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", axis="x", alpha=0.07)
    ax_w.set_ylim(0, max(1.0, wmax) * 1.06)
    ax_p.set_ylim(0, 1.04)
    ax_w.set_ylabel(f"ergotropy W [{_HBAR_OMEGA}]")
    ax_p.set_ylabel(r"purity P = Tr $\rho^2$")
    ax_w.set_title("(a) ergotropy W(k)", loc="left", fontsize=12)
    ax_p.set_title("(b) purity P(k)", loc="left", fontsize=12)
    # The legend goes in a row of its own under the panels, as many columns as the labels allow
    # (about 7.5 px per character at 10 pt on a 1440 px wide figure).
    widest = max(len(h.get_label()) for h in handles)
    ncol = max(1, min(len(handles), int(1300 // (7.5 * widest + 70))))
    nrows = math.ceil(len(handles) / ncol)
    gs2 = fig.add_gridspec(2, 2, height_ratios=[1.0, 0.055 * nrows + 0.02])
    ax_w.set_subplotspec(gs2[0, 0])
    ax_p.set_subplotspec(gs2[0, 1])
    ax_leg = fig.add_subplot(gs2[1, :])
    ax_leg.set_axis_off()
    ax_leg.legend(handles=handles, loc="center", ncol=ncol, frameon=False, fontsize=10,
                  handlelength=3.0, columnspacing=2.0)
    fig.suptitle(title + _run_note(results), fontsize=13)
    return _save(fig, path)


def fig4(results: dict, path: str) -> Optional[str]:
    """Fig. 4: W(k) and P(k) of the single-batch optima (Sec. 3.1) and the fine-tuned reference.

    Draws the trajectories whose "figure" contains "4" ("fine-tuned" dashed), with the noise
    ensembles as shaded mean +- std bands. Returns path, or None if there is nothing to draw.
    """
    g = _g_text(_dict(results.get("config")).get("g")) or "g = π/√15.6"
    return _trajectory_figure(results, path, "4",
                              f"Fig. 4 — one stream of identical qubits (Sec. 3.1), {g}",
                              batch_lines=False)


def fig6(results: dict, path: str) -> Optional[str]:
    """Fig. 6: W(k) and P(k) of the two-batch optima and the improved strategy (Sec. 3.2).

    Draws the trajectories whose "figure" contains "6", a dotted line where batch 2 starts.
    Returns path, or None if there is nothing to draw.
    """
    g = _g_text(_dict(results.get("config")).get("g")) or "g = π/√15.6"
    return _trajectory_figure(results, path, "6",
                              f"Fig. 6 — two batches {{(c₁, q₁), (c₂, q₂)}} and the improved strategy "
                              f"(Sec. 3.2), {g}", batch_lines=True)


# ------------------------------------------------------ Figs. 5 and 7 (populations, Wigner)

_INSET_W, _INSET_BOTTOM = 0.40, 0.48   # log-scale inset: width and bottom, in axes fractions


def _inset_place(pv: np.ndarray, x_lo: float, x_hi: float):
    """Left edge (axes fraction) of the log-scale inset where it hides the fewest bars, and the
    y-axis top that keeps every bar under it below the inset (its tick labels included)."""
    top = float(pv.max()) * 1.08
    best = None
    for x0 in (0.57, 0.31, 0.12):
        lo = x_lo + (x0 - 0.09) * (x_hi - x_lo)     # 0.09: the inset's tick labels
        hi = x_lo + (x0 + _INSET_W) * (x_hi - x_lo)
        under = pv[(np.arange(len(pv)) >= math.floor(lo)) & (np.arange(len(pv)) <= math.ceil(hi))]
        h = float(under.max()) if len(under) else 0.0
        if best is None or h < best[1] - 1e-12:
            best = (x0, h)
    x0, h = best
    return x0, max(top, h / (_INSET_BOTTOM - 0.04))


def _populations_panel(ax, state: dict, color: str, letter: str) -> None:
    p = _floats(state.get("populations"))
    if not len(p) or not np.isfinite(p).any() or np.nanmax(p) <= 0:
        _no_data(ax, f"({letter}) no populations")
        return
    p = np.nan_to_num(p)
    big = np.nonzero(p > 1e-6)[0]
    nmax = min(len(p), max(int(big[-1]) + 2 if len(big) else 0, 10))   # up to the last p_n > 1e-6
    n, pv = np.arange(nmax), p[:nmax]
    x_lo, x_hi = -0.8, nmax - 0.2
    ax.bar(n, pv, width=0.85, color=color, alpha=0.85, zorder=2)
    ax.set_xlim(x_lo, x_hi)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Fock level n")
    ax.set_ylabel(r"population $\rho_{nn}$")
    ax.grid(True, axis="y", alpha=0.35, zorder=0)
    stats = [f"E = ⟨n⟩ = {float(np.sum(np.arange(len(p)) * p)):.2f} {_HBAR_OMEGA}"]
    for key, name, unit in (("ergotropy", "W", " " + _HBAR_OMEGA), ("purity", "P", "")):
        try:
            stats.append(f"{name} = {float(state[key]):.3f}{unit}")
        except (KeyError, TypeError, ValueError):
            pass
    ax.set_title(f"({letter}) {_label(state)}\nFock populations after k = {_k_text(state.get('k'))} "
                 f"collisions\n" + ",   ".join(stats), loc="left", fontsize=11)

    # Log-scale inset: shows the small bumps of highly excited levels (the instability's mark).
    x0, top = _inset_place(pv, x_lo, x_hi)
    ax.set_ylim(0, top)
    ins = ax.inset_axes([x0, _INSET_BOTTOM, _INSET_W, 0.97 - _INSET_BOTTOM - 0.05])
    pos = pv > 0
    ins.bar(n[pos], pv[pos], width=0.85, color=color, alpha=0.85)
    ins.set_yscale("log")
    ins.set_ylim(3e-7, 2.0)
    ins.set_yticks([1e-6, 1e-4, 1e-2, 1.0])
    ins.set_xlim(x_lo, x_hi)
    ins.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ins.tick_params(labelsize=8)
    ins.set_title("same, log scale", fontsize=9, pad=2)
    ins.grid(True, axis="y", alpha=0.3)


def _wigner_panel(fig: Figure, ax, state: dict, letter: str) -> None:
    wig = _dict(state.get("wigner"))
    x, pp = _floats(wig.get("x")), _floats(wig.get("p"))
    rows = _list(wig.get("w"))
    try:
        w = np.asarray([[math.nan if v is None else float(v) for v in _list(r)] for r in rows], dtype=float)
    except (TypeError, ValueError):
        w = np.zeros((0, 0))
    if w.ndim != 2 or w.shape != (len(pp), len(x)) or len(x) < 2 or len(pp) < 2 or not np.isfinite(w).any():
        why = "no Wigner function" if not rows else f"Wigner data of shape {w.shape} (expected {len(pp)} x {len(x)})"
        _no_data(ax, f"({letter}) {why}")
        return
    a = float(np.nanmax(np.abs(w))) or 1.0
    # Gouraud (smooth) on fine grids; a coarse grid (--quick: 31 points) shows its cells as they are.
    shading = "gouraud" if min(len(x), len(pp)) >= 60 else "nearest"
    mesh = ax.pcolormesh(x, pp, np.nan_to_num(w), shading=shading, cmap="RdBu_r",
                         norm=Normalize(vmin=-a, vmax=a), rasterized=True)
    cb = fig.colorbar(mesh, ax=ax, shrink=0.92, pad=0.02)
    cb.set_label("W(x, p)")
    # A square window centred at the origin holding everything above 1 % of the maximum.
    sig = np.abs(np.nan_to_num(w)) > 0.01 * a
    jj, ii = np.nonzero(sig)
    r = max(float(np.max(np.abs(x[ii]))), float(np.max(np.abs(pp[jj])))) + 1.5 if len(ii) else 0.0
    r = max(r, 4.0)
    ax.set_xlim(max(-r, x.min()), min(r, x.max()))
    ax.set_ylim(max(-r, pp.min()), min(r, pp.max()))
    ax.set_aspect("equal")
    ax.axhline(0, color="0.6", linewidth=0.6, zorder=1)
    ax.axvline(0, color="0.6", linewidth=0.6, zorder=1)
    ax.set_xlabel(r"x   ($\alpha = (x + i\,p)/\sqrt{2}$)")
    ax.set_ylabel("p")
    jm, im = np.unravel_index(np.nanargmax(w), w.shape)
    wmin = float(np.nanmin(w))
    neg = f"min W = {wmin:.2g}" if wmin < -1e-4 * a else "W ≥ 0 on the grid"
    ax.set_title(f"({letter}) Wigner function W(x, p) of the same state\nmaximum at (x, p) = "
                 f"({x[im]:.1f}, {pp[jm]:.1f}),   {neg}", loc="left", fontsize=11)


def _state_figure(results: dict, path: str, name: str, tags: Sequence[str], title: str) -> Optional[str]:
    by_tag = {}
    for s in _list(results.get("states")):
        if isinstance(s, dict) and (_list(s.get("populations")) or _list(_dict(s.get("wigner")).get("w"))):
            for t in _figure_tags(s):
                by_tag.setdefault(t, s)
    if not any(t in by_tag for t in tags):
        return None
    fig = _new_figure(name)
    axes = fig.subplots(len(tags), 2, gridspec_kw=dict(width_ratios=[1.15, 1.0]), squeeze=False)
    for row, tag in enumerate(tags):
        # Four panels, four letters: (a) (b) on the first row, (c) (d) on the second.
        letter, wletter = "abcd"[2 * row], "abcd"[2 * row + 1]
        st = by_tag.get(tag)
        if st is None:
            _no_data(axes[row, 0], f"({letter}) no state for Fig. {tag} in this run")
            _no_data(axes[row, 1], "")
            continue
        color = _style(str(st.get("id")), row)["color"]
        _populations_panel(axes[row, 0], st, color, letter)
        _wigner_panel(fig, axes[row, 1], st, wletter)
    fig.suptitle(title + _run_note(results), fontsize=13)
    return _save(fig, path)


def fig5(results: dict, path: str) -> Optional[str]:
    """Fig. 5: Fock populations and Wigner function of the states "5a" (lambda = 10) and "5b" (1000).

    Returns path, or None if the results hold neither state.
    """
    return _state_figure(results, path, "fig5", ("5a", "5b"),
                         "Fig. 5 — battery state after the long run, one stream of identical qubits (Sec. 3.1)")


def fig7(results: dict, path: str) -> Optional[str]:
    """Fig. 7: as Fig. 5 for the states "7a" (two batches, lambda = 100) and "7b" (improved strategy).

    Returns path, or None if the results hold neither state.
    """
    return _state_figure(results, path, "fig7", ("7a", "7b"),
                         "Fig. 7 — battery state after the long run, two batches and improved strategy (Sec. 3.2)")


# ------------------------------------------------------------------------- loss histories

def loss_history(results: dict, path: str) -> Optional[str]:
    """Loss (Eq. 11) vs iteration, one panel per optimization (title = its id).

    Returns path, or None if no optimization recorded any history.
    """
    opts = [o for o in _list(results.get("optimizations")) if isinstance(o, dict)]
    if not any(np.isfinite(_floats(o.get("history"))).any() for o in opts):
        return None
    n = len(opts)
    ncols = 4 if n > 6 else 3 if n > 4 else 2 if n > 1 else 1   # 8 optimizations: 4 x 2
    nrows = math.ceil(n / ncols)
    fig = _new_figure("loss_history")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, o in enumerate(opts):
        ax = axes[i // ncols, i % ncols]
        eid = str(o.get("id", f"#{i + 1}"))
        h = _floats(o.get("history"))
        if not np.isfinite(h).any():
            _no_data(ax, f"{eid}\nno history recorded")
            continue
        it = np.arange(len(h))
        color = _style(eid, i)["color"]
        if color == "#555555":
            color = "#1f77b4"
        ax.plot(it, h, color=color, linewidth=1.6, marker="o" if len(h) <= 40 else None, markersize=3.5)
        finite = h[np.isfinite(h)]
        lo, hi, last = float(finite.min()), float(finite.max()), float(finite[-1])
        # A penalty-dominated start (lambda up to 1000) would flatten the interesting part:
        # switch to a symmetric log scale when the range dwarfs the final value.
        if hi - lo > 50 and hi - lo > 20 * (abs(last) + 1):
            ax.set_yscale("symlog", linthresh=10.0 ** math.ceil(math.log10(max(abs(last), 1.0))))
            ax.set_ylabel("loss L (symlog)")
        else:
            ax.set_ylabel("loss L (Eq. 11)")
        ax.set_xlabel("iteration")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(eid, fontsize=12)
        ax.grid(True, alpha=0.35)
        if len(h) == 1:
            ax.set_xlim(-1, 1)
        info = [f"final L = {last:.4g}"]
        for key, name, unit in (("ergotropy", "W", " " + _HBAR_OMEGA), ("lambda", "λ", "")):
            if isinstance(o.get(key), (int, float)) and not isinstance(o.get(key), bool):
                info.append(f"{name} = {o[key]:.4g}{unit}")
        ax.text(0.97, 0.95, "\n".join(info), transform=ax.transAxes, ha="right", va="top", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.3", facecolor="white", alpha=0.85, edgecolor="0.7"))
    for j in range(n, nrows * ncols):
        axes[j // ncols, j % ncols].set_axis_off()
    fig.suptitle("Optimization histories: loss L (Eq. 11) per L-BFGS-B iteration" + _run_note(results),
                 fontsize=13)
    return _save(fig, path)


def lossy(results: dict, path: str) -> Optional[str]:
    """Cavity loss (results["lossy"]): (a) W after n collisions of the paper's optima against
    kappa_tau, for n_th = 0 (solid) and 0.1 (dashed); (b) W(k) at n_th = 0 for each kappa_tau of
    the improved strategy; (c) the per-qubit protocol (c_k, q_k, g_k) in the lossy cavity."""
    L = results.get("lossy")
    if not L or not L.get("degradation"):
        return None
    fig = _new_figure("lossy")
    axes = fig.subplots(1, 3)
    ids = []
    for r in L["degradation"]:
        if r["id"] not in ids:
            ids.append(r["id"])
    floor = 1e-5  # where kappa_tau = 0 is drawn on the log axis
    for i, pid in enumerate(ids):
        color = f"C{i}"
        for n_th, ls in ((0.0, "-"), (0.1, "--")):
            rows = [r for r in L["degradation"] if r["id"] == pid and r["n_th"] == n_th]
            x = [max(r["kappa_tau"], floor) for r in rows]
            y = [r["ergotropy"] for r in rows]
            axes[0].plot(x, y, ls, marker="o", color=color,
                         label=f"{pid}, n_th = {n_th:g}")
    axes[0].set_xscale("log")
    axes[0].set_xlabel(r"$\kappa\tau$ (0 drawn at $10^{-5}$)")
    axes[0].set_ylabel(f"W after {L['collisions']} collisions")
    axes[0].set_title("(a) the paper's optima in a lossy cavity")
    axes[0].legend(fontsize=8)
    last = ids[-1]
    for j, r in enumerate(r for r in L["degradation"] if r["id"] == last and r["n_th"] == 0.0):
        t = r["trajectory"]
        axes[1].plot(t["k"], t["ergotropy"], color=f"C{j}", label=fr"$\kappa\tau$ = {r['kappa_tau']:g}")
    axes[1].set_xscale("log")
    axes[1].set_xlabel("k (collisions)")
    axes[1].set_ylabel("W")
    axes[1].set_title(f"(b) {last}, n_th = 0")
    axes[1].legend(fontsize=8)
    P = L.get("per_qubit")
    if P:
        k = np.arange(1, len(P["c"]) + 1)
        axes[2].plot(k, P["c"], label="c")
        axes[2].plot(k, P["q"], label="q")
        axes[2].plot(k, P["g"], label="g")
        axes[2].set_xlabel("qubit k")
        axes[2].set_title(f"(c) per-qubit control, loss {P['loss']:.4f} vs {P['two_batch_loss']:.4f}")
        axes[2].legend(fontsize=8)
    else:
        axes[2].set_axis_off()
    return _save(fig, path)


def stability_map(results: dict, path: str) -> Optional[str]:
    """results["stability_map"]: log10(lifetime) over (c, q) (grey where no decay mode was
    found), the paper's optima (their last batch) as markers in their Fig. 4/6 colours: circles
    Sec. 3.1, squares Sec. 3.2, a star for the improved strategy."""
    S = results.get("stability_map")
    if not S or not S.get("lifetime"):
        return None
    c, q = _floats(S["c"]), _floats(S["q"])
    life = np.array([[np.nan if x is None else float(x) for x in row] for row in S["lifetime"]])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(life > 0, np.log10(life), np.nan)
    fig = _new_figure("stability_map")
    ax = fig.subplots()
    ax.set_facecolor("0.8")  # cells without a lifetime
    finite = z[np.isfinite(z)]
    norm = Normalize(vmin=float(finite.min()), vmax=float(finite.max())) if finite.size else None
    mesh = ax.pcolormesh(c, q, np.ma.masked_invalid(z), shading="nearest", cmap="viridis", norm=norm)
    fig.colorbar(mesh, ax=ax, label=r"$\log_{10}$ lifetime  $-1/\ln|\lambda_1|$ (collisions)")
    for i, o in enumerate(S.get("optima", [])):
        st = _style(o["id"], i)
        life_text = "-" if o.get("lifetime") is None else f"{o['lifetime']:.2g}"
        marker = "o" if o["id"].startswith("3.1") else "s" if o["id"].startswith("3.2") else "*"
        ax.plot([o["c"]], [o["q"]], marker=marker, markersize=10 if marker == "*" else 8, markeredgecolor="white",
                markeredgewidth=1.5, linestyle="none", color=st.get("color", "C0"),
                label=f"{o['id']} ({o['c']:.3f}, {o['q']:.3f}): {life_text}")
    ax.set_xlabel("c (coherence)")
    ax.set_ylabel("q (ground-state population)")
    ax.set_xlim(float(c.min()), float(c.max()))
    ax.set_ylim(float(q.min()), float(q.max()))
    ax.set_title(f"Lifetime of the one-step map, N = {S.get('nc')}, {_g_text(S.get('g'))}")
    if S.get("optima"):
        ax.legend(fontsize=7, loc="upper left", framealpha=0.85)
    return _save(fig, path)


def _path_xy(land: dict, opt: Optional[dict]):
    """The optimizer's path over the landscape's batch: (c values, q values), or None."""
    if not opt or not opt.get("path"):
        return None
    b = int(land.get("config", {}).get("batch", 0)) + 1
    slots = list(opt.get("slots", []))
    try:
        ic, iq = slots.index(f"batch {b} c"), slots.index(f"batch {b} q")
    except ValueError:
        return None
    pts = np.asarray(opt["path"], dtype=float)
    return pts[:, ic], pts[:, iq]


def landscape_figure(land: dict, path: str, opt: Optional[dict] = None) -> str:
    """Heatmaps of ``qbopt.landscape(...)``: (a) the loss, (b) the ergotropy W, (c) the penalty
    and (d) log10 of the lifetime -1/ln|lambda_1| (when computed), each over (c, q) of the moved
    batch. ``opt``: an optimize result with its "path" (``run_task({"command": "optimize",
    ..., "path": True})`` or ``qbopt optimize --path --out``), drawn on every panel from its
    start (circle) to its end (star) when its free slots include that batch's c and q."""
    c = np.asarray(land["c"], dtype=float).ravel()
    q = np.asarray(land["q"], dtype=float).ravel()
    with np.errstate(divide="ignore", invalid="ignore"):
        life = np.asarray(land["lifetime"], dtype=float) if "lifetime" in land else None
        life = None if life is None else np.where(life > 0, np.log10(life), np.nan)
    panels = [("(a) loss", land["loss"], "viridis"),
              ("(b) ergotropy $W_n$ (" + _HBAR_OMEGA + ")", land["ergotropy"], "magma"),
              ("(c) penalty", land["penalty"], "cividis"),
              (r"(d) $\log_{10}$ lifetime $-1/\ln|\lambda_1|$", life, "viridis")]
    xy = _path_xy(land, opt)
    fig = _new_figure("landscape")
    axes = fig.subplots(2, 2).ravel()
    for ax, (title, z, cmap) in zip(axes, panels):
        if z is None:
            _no_data(ax, "lifetime not computed (landscape(..., lifetime=True))")
            continue
        z = np.ma.masked_invalid(np.asarray(z, dtype=float))
        ax.set_facecolor("0.8")  # cells without a value
        mesh = ax.pcolormesh(c, q, z, shading="nearest", cmap=cmap)
        fig.colorbar(mesh, ax=ax)
        if xy is not None:
            ax.plot(xy[0], xy[1], "-o", color="white", markersize=3, linewidth=1.2,
                    markeredgecolor="black", markeredgewidth=0.5, label="optimizer path")
            ax.plot(xy[0][:1], xy[1][:1], "o", color="#d62728", markersize=8, label="start")
            ax.plot(xy[0][-1:], xy[1][-1:], "*", color="#d62728", markersize=13,
                    markeredgecolor="white", label="end")
        ax.set_xlim(float(c.min()), float(c.max()))
        ax.set_ylim(float(q.min()), float(q.max()))
        ax.set_xlabel("c (coherence)")
        ax.set_ylabel("q (ground-state population)")
        ax.set_title(title)
    if xy is not None:
        axes[0].legend(fontsize=8, loc="upper right", framealpha=0.85)
    cfg = land.get("config", {})
    fig.suptitle(f"Loss landscape of batch {int(cfg.get('batch', 0)) + 1}, "
                 f"N = {cfg.get('nc')}, lambda = {cfg.get('lambda')}, loss {cfg.get('loss')}")
    return _save(fig, path)


# ------------------------------------------------------------------------------ driver

_ALL: Sequence[tuple] = (("fig4", fig4), ("fig5", fig5), ("fig6", fig6), ("fig7", fig7),
                         ("loss_history", loss_history), ("lossy", lossy),
                         ("stability_map", stability_map))


def make_all(results: dict, out_dir: str) -> list:
    """Draws every figure that has data into out_dir (created if needed); returns the written paths.

    A figure that fails does not stop the others; if any failed, FigureError is raised at the
    end (its ``written`` attribute lists the files that were written).
    """
    if not isinstance(results, dict):
        raise TypeError(f"results must be the dict loaded from results.json, not {type(results).__name__}")
    os.makedirs(out_dir, exist_ok=True)
    written, failures = [], []
    for name, fn in _ALL:
        try:
            p = fn(results, os.path.join(out_dir, name + ".png"))
        except Exception as e:  # noqa: BLE001 - reported below, the other figures still drawn
            failures.append((name, e))
            continue
        if p:
            written.append(p)
    if failures:
        msg = "; ".join(f"{n}: {type(e).__name__}: {e}" for n, e in failures)
        raise FigureError(f"{len(failures)} figure(s) failed: {msg}", written, failures)
    return written


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m qbopt.figures",
                                 description="Draw the figures of `qbopt reproduce` from its results.json.")
    ap.add_argument("results", metavar="RESULTS_JSON", help="results.json written by `qbopt reproduce` ('-': stdin)")
    ap.add_argument("out_dir", metavar="OUT_DIR", help="directory for the PNGs (created if needed)")
    a = ap.parse_args(argv)
    try:
        if a.results == "-":
            results = json.load(sys.stdin)
        else:
            with open(a.results, encoding="utf-8") as f:
                results = json.load(f)
    except (OSError, ValueError) as e:
        print(f"qbopt.figures: error: cannot read {a.results}: {e}", file=sys.stderr)
        return 2
    if not isinstance(results, dict):
        print(f"qbopt.figures: error: {a.results} does not hold a JSON object", file=sys.stderr)
        return 2
    try:
        written = make_all(results, a.out_dir)
    except FigureError as e:
        for p in e.written:
            print(p)
        print(f"qbopt.figures: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"qbopt.figures: error: {e}", file=sys.stderr)
        return 1
    for p in written:
        print(p)
    if not written:
        print("qbopt.figures: nothing to draw (no trajectories, states or histories)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

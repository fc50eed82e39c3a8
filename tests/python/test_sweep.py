"""qbopt.sweep, qbopt.run_task and qbopt.landscape: the CLI's sweep engine from Python."""
import json
import os
import signal
import struct
import subprocess
import threading
import time

import numpy as np
import pytest

import qbopt
from qbopt import figures

LOSS_SWEEP = {"command": "loss", "nc": 20, "batch": ["0.0,0.0,10,fixed", "0.4,0.2,15"],
              "sweep": {"lambda": [1, 10], "eta": [0.1, 0.3]}}
LOSS_TOML = """command = "loss"
nc = 20
batch = ["0.0,0.0,10,fixed", "0.4,0.2,15"]
[sweep]
lambda = [1, 10]
eta = [0.1, 0.3]
"""
# ~40 optimize tasks of ~0.05-0.1 s each: long enough to interrupt midway.
SLOW_SWEEP = {"command": "optimize", "nc": 30, "max_iterations": 8,
              "batch": ["0.0,0.0,20,fixed", "0.4,0.2,30"],
              "sweep": {"lambda": [1, 3, 10, 30], "seed": list(range(1, 11))}}


def _strip(x):
    """A record without its timings (they differ from run to run)."""
    if isinstance(x, dict):
        return {k: _strip(v) for k, v in x.items() if k != "seconds"}
    if isinstance(x, list):
        return [_strip(v) for v in x]
    return x


def test_sweep_dict_equals_cli_toml(cli, tmp_path):
    # The dict and the TOML file with the same content: the same lines as `qbopt sweep`
    # (the same engine), the axes in the dict's order (eta fastest).
    (tmp_path / "s.toml").write_text(LOSS_TOML)
    subprocess.run([cli, "sweep", str(tmp_path / "s.toml"), "--out", str(tmp_path / "cli.jsonl")],
                   check=True, capture_output=True)
    cli_lines = sorted((json.loads(l) for l in open(tmp_path / "cli.jsonl")),
                       key=lambda d: d["task"])
    r = qbopt.sweep(LOSS_SWEEP, threads=2)
    assert r.status == "complete" and r.tasks == 4 and r.ran == 4 and r.out is None
    assert [_strip(d) for d in r] == [_strip(d) for d in cli_lines]
    assert [(d["config"]["lambda"], d["config"]["eta"]) for d in r] == \
        [(1, 0.1), (1, 0.3), (10, 0.1), (10, 0.3)]
    # Each result is the loss qbopt.loss computes (the same evaluator): equal to the last bit.
    one = qbopt.loss(["0.0,0.0,10,fixed", "0.4,0.2,15"], nc=20, lam=10, eta=0.3)
    assert r[3]["result"]["loss"] == one["loss"]
    assert r.column("loss")[3] == one["loss"]
    # The TOML path gives the same records.
    assert [_strip(d) for d in qbopt.sweep(str(tmp_path / "s.toml"))] == [_strip(d) for d in r]


def test_sweep_spectrum_tasks_match_spectrum():
    r = qbopt.sweep({"command": "spectrum", "nc": 16, "count": 4, "qubit": "0.3,0.2",
                     "sweep": {"grid": {"c": {"from": 0.2, "to": 0.6, "points": 2},
                                        "q": {"from": 0.1, "to": 0.3, "points": 2}}}})
    assert len(r) == 4
    one = qbopt.spectrum((0.6, 0.3), nc=16, count=4)
    # The same code computes both: the lifetime agrees to rounding (1e-12 relative).
    assert r[3]["result"]["lifetime"] == pytest.approx(one["lifetime"], rel=1e-12)
    assert r[3]["result"]["config"]["qubit"] == {"c": 0.6, "q": 0.3}


def test_sweep_progress_stop_then_resume(tmp_path):
    out = tmp_path / "r.jsonl"
    calls = []

    def stop_early(done, pending):
        calls.append((done, pending))
        return done < 3  # stop once 3 lines are written

    r = qbopt.sweep(SLOW_SWEEP, out=out, threads=1, progress=stop_early)
    assert r.status == "interrupted" and 3 <= len(r) < 40, (r.status, len(r))
    assert calls and all(p == 40 for _, p in calls)
    kept = len(r)
    seen = []
    r2 = qbopt.sweep(SLOW_SWEEP, out=out, threads=2, progress=lambda d, p: seen.append(d))
    assert r2.status == "complete" and r2.ran == 40 - kept and len(r2) == 40
    assert [d["task"] for d in r2] == list(range(40))  # every task exactly once
    assert seen[-1] == 40 - kept


def test_sweep_ctrl_c_keeps_finished_lines(tmp_path):
    # SIGINT to this process while the sweep runs: KeyboardInterrupt within a second, the
    # finished lines stay in `out`, and the same call resumes to every task exactly once.
    out = tmp_path / "r.jsonl"
    fired = []

    def interrupt():
        while not (out.exists() and out.read_text().count("\n") >= 2):
            time.sleep(0.01)
        fired.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=interrupt, daemon=True)
    t.start()
    with pytest.raises(KeyboardInterrupt):
        qbopt.sweep(SLOW_SWEEP, out=out, threads=1)
    latency = time.monotonic() - fired[0]
    assert latency < 1.0, f"KeyboardInterrupt {latency:.2f} s after SIGINT"
    text = out.read_text()
    assert text.endswith("\n") and 2 <= text.count("\n") < 40
    r = qbopt.sweep(SLOW_SWEEP, out=out, threads=2)
    assert r.status == "complete" and [d["task"] for d in r] == list(range(40))


def test_sweep_bad_config_names_the_key(tmp_path):
    with pytest.raises(ValueError, match="lamda"):
        qbopt.sweep({**LOSS_SWEEP, "sweep": {"lamda": [1, 2]}})
    with pytest.raises(ValueError, match=r"task 1 \(lambda = -1\)"):
        qbopt.sweep({**LOSS_SWEEP, "sweep": {"lambda": [1, -1]}})
    with pytest.raises(ValueError, match="threads"):
        qbopt.sweep(LOSS_SWEEP, threads=0)
    with pytest.raises(ValueError, match="not a file"):
        qbopt.sweep(str(tmp_path / "missing.toml"))
    # A results file of another sweep is refused (restart=True starts over).
    out = tmp_path / "r.jsonl"
    qbopt.sweep(LOSS_SWEEP, out=out)
    with pytest.raises(ValueError, match="configuration changed"):
        qbopt.sweep({**LOSS_SWEEP, "nc": 21}, out=out)
    assert len(qbopt.sweep({**LOSS_SWEEP, "nc": 21}, out=out, restart=True)) == 4


def test_run_task_optimize_path():
    r = qbopt.run_task({"command": "optimize", "nc": 20, "batch": ["0.2,0.6,40"],
                        "path": True, "max_iterations": 30})
    assert r["slots"] == ["batch 1 c", "batch 1 q"]
    assert len(r["path"]) == len(r["history"]) >= 3
    assert r["path"][0] == [0.2, 0.6]  # the starting point, as given
    # Each path point is where its history loss was evaluated (the same code: to rounding).
    for p, h in zip(r["path"], r["history"]):
        assert qbopt.loss([(p[0], p[1], 40)], nc=20)["loss"] == pytest.approx(h, abs=1e-12)
    assert "path" not in qbopt.run_task({"command": "optimize", "nc": 20, "batch": ["0.2,0.6,40"],
                                         "max_iterations": 2})


BATCHES = ["0.0,0.0,10,fixed", "0.5,0.3,20"]


def test_landscape_equals_loss_and_spectrum():
    c, q = np.linspace(0, 1, 4), np.array([0.1, 0.5, 0.9])
    L = qbopt.landscape(BATCHES, c=c, q=q, nc=20, lam=3, eta=0.3, lifetime=True, count=4)
    for key in ("loss", "ergotropy", "penalty", "lifetime"):
        assert L[key].shape == (3, 4)
    assert L["config"]["batch"] == 1 and L["config"]["command"] == "landscape"
    for j, qj in enumerate(q):
        for i, ci in enumerate(c):
            one = qbopt.loss(["0.0,0.0,10,fixed", (ci, qj, 20)], nc=20, lam=3, eta=0.3)
            # The same evaluator on the same schedule: equal up to rounding; 1e-12 (absolute,
            # losses are O(1)) leaves room only for a different summation order.
            assert L["loss"][j, i] == pytest.approx(one["loss"], abs=1e-12)
            assert L["ergotropy"][j, i] == pytest.approx(one["ergotropy"], abs=1e-12)
            assert L["penalty"][j, i] == pytest.approx(one["penalty"], abs=1e-12)
    sp = qbopt.spectrum((c[2], q[1]), nc=20, count=4)
    assert L["lifetime"][1, 2] == pytest.approx(sp["lifetime"], rel=1e-12)


def test_landscape_threads_and_batch_index():
    c, q = np.linspace(0, 1, 5), np.linspace(0, 1, 3)
    one = qbopt.landscape(BATCHES, c=c, q=q, nc=20, threads=1)
    two = qbopt.landscape(BATCHES, c=c, q=q, nc=20, threads=2, batch=1)
    for key in ("loss", "ergotropy", "penalty"):
        np.testing.assert_array_equal(one[key], two[key])  # each point computed alone
    assert "lifetime" not in one
    first = qbopt.landscape(BATCHES, c=c, q=q, nc=20, batch=0)
    assert not np.array_equal(first["loss"], one["loss"])
    with pytest.raises(ValueError, match="batch"):
        qbopt.landscape(BATCHES, c=c, q=q, nc=20, batch=2)
    with pytest.raises(ValueError, match=r"c values must lie in \[0, 1\]"):
        qbopt.landscape(BATCHES, c=[0.5, 1.5], q=q, nc=20)


def _png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_landscape_figure_with_path(tmp_path):
    b = ["0.2,0.6,40"]
    L = qbopt.landscape(b, c=np.linspace(0, 1, 6), q=np.linspace(0, 1, 5), nc=16, lifetime=True)
    opt = qbopt.run_task({"command": "optimize", "nc": 16, "batch": b, "path": True,
                          "max_iterations": 10})
    assert figures._path_xy(L, opt) is not None
    path = figures.landscape_figure(L, str(tmp_path / "land.png"), opt)
    assert _png_size(path) == (1440, 1200)
    # Without a lifetime or a path the figure is still drawn.
    L.pop("lifetime")
    assert _png_size(figures.landscape_figure(L, str(tmp_path / "plain.png"))) == (1440, 1200)

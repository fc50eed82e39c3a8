"""Ctrl-C and progress callbacks, truncation warnings, load/save of results."""
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import qbopt

# A child Python that starts a long call and reports how it ended.
CHILD = r"""
import sys, time, qbopt
print("ready", flush=True)
try:
    if sys.argv[1] == "simulate":
        qbopt.simulate([(0.4, 0.17, 10**7)], nc=200, samples=5)
    elif sys.argv[1] == "spectrum":
        qbopt.spectrum((0.39, 0.168), nc=600, count=4)
    elif sys.argv[1] == "loss":
        qbopt.loss([(0.4, 0.17, 50000)], nc=200, gradient=True)
    else:
        r = qbopt.optimize([(0.4, 0.17, 3000)], nc=150, starts=8)
        print("status", r.status, r.loss, flush=True)
except KeyboardInterrupt:
    print("KeyboardInterrupt", flush=True)
    sys.exit(42)
print("finished", flush=True)
"""


@pytest.mark.parametrize("call", ["simulate", "spectrum", "loss", "optimize"])
def test_ctrl_c_stops_within_a_second(call):
    """simulate, spectrum and loss raise KeyboardInterrupt; optimize returns its best point so far with
    status "interrupted" (as the CLI writes its result and exits 130)."""
    env = dict(os.environ)
    p = subprocess.Popen([sys.executable, "-c", CHILD, call], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.8)  # well inside the call (each takes several seconds)
    t0 = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    elapsed = time.monotonic() - t0
    print(f"{call}: stopped {elapsed * 1000:.0f} ms after SIGINT")
    if call == "optimize":
        assert p.returncode == 0, (p.returncode, out, err)
        assert "status interrupted" in out and "finished" in out, out
    else:
        assert p.returncode == 42, (p.returncode, out, err)
        assert "KeyboardInterrupt" in out
    # The hook runs Python's handlers every 0.1 s; 1 s leaves room for a loaded machine.
    assert elapsed < 1.0, elapsed


def test_simulate_progress_can_stop():
    seen = []

    def progress(k, n):
        seen.append((k, n))
        return k < 5000

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", qbopt.TruncationWarning)
        r = qbopt.simulate([(0.4, 0.17, 100000)], nc=20, samples=5, progress=progress)
    assert seen[0][1] == 100000 and all(a[0] < b[0] for a, b in zip(seen, seen[1:]))
    assert 5000 <= r["final"]["k"] < 100000 and r["interrupted"] is True
    assert r["trajectory"]["k"][-1] == r["final"]["k"]
    full = qbopt.simulate([(0.4, 0.17, 300)], nc=90, samples=5, progress=lambda k, n: None)
    assert "interrupted" not in full and full["final"]["k"] == 300


def test_optimize_callback_can_stop():
    calls = []
    r = qbopt.optimize([(0.4, 0.17, 100)], nc=60, starts=3,
                       callback=lambda s, i, loss: calls.append((s, i, loss)) or False)
    # Starts run in parallel: the first call may come from either of the first two.
    assert calls[0][0] in (0, 1) and calls[0][1] == 1
    assert r["status"] == "interrupted"
    # Every start is recorded; which ones never began depends on the threads' timing (the
    # serial case, with "not started" starts, is Interrupt.OptimizeRecordsEveryStart).
    assert len(r["starts"]) == 3
    assert all(len(s["initial"]) == 2 for s in r["starts"])


def test_truncation_warning_and_leakage_everywhere():
    assert issubclass(qbopt.TruncationWarning, UserWarning)
    with pytest.warns(qbopt.TruncationWarning, match="nc"):
        qbopt.simulate([(0.5, 0.2, 200)], nc=5, samples=5)
    with pytest.warns(qbopt.TruncationWarning):
        qbopt.loss([(0.5, 0.2, 200)], nc=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", qbopt.TruncationWarning)
        b = [(0.3, 0.1, 20)]
        for r in (qbopt.simulate(b, nc=40), qbopt.loss(b, nc=40), qbopt.state(b, nc=40),
                  qbopt.optimize(b, nc=40, max_iterations=2)):
            assert 0 <= abs(r["leakage"]) < 1e-6


def test_load_reads_cli_json_as_python_layout(cli, tmp_path):
    args = ["--nc", "40", "--batch", "0.3,0.15,30"]
    subprocess.run([cli, "simulate", *args, "--samples", "8", "--out", str(tmp_path / "s.json")],
                   check=True, capture_output=True)
    subprocess.run([cli, "state", *args, "--out", str(tmp_path / "st.json")], check=True,
                   capture_output=True)
    s = qbopt.load(tmp_path / "s.json")
    py = qbopt.simulate([(0.3, 0.15, 30)], nc=40, samples=8)
    for key in ("k", "energy", "ergotropy"):
        assert isinstance(s["trajectory"][key], np.ndarray)
        np.testing.assert_allclose(s["trajectory"][key], py["trajectory"][key], atol=1e-13)
    assert s["trajectory"]["k"].dtype.kind == "i"
    assert isinstance(s["final"]["populations"], np.ndarray)
    st = qbopt.load(tmp_path / "st.json")
    pst = qbopt.state([(0.3, 0.15, 30)], nc=40)
    assert st["rho"].dtype == complex
    np.testing.assert_allclose(st["rho"], pst["rho"], atol=1e-15)
    # to_qutip / wigner accept the loaded dict, the raw CLI dict and an array alike.
    raw = json.loads((tmp_path / "st.json").read_text())
    pytest.importorskip("qutip")
    for x in (st, raw, pst, pst["rho"]):
        assert np.abs(qbopt.to_qutip(x).full() - pst["rho"]).max() < 1e-15
    np.testing.assert_allclose(qbopt.wigner(raw, [0.0, 1.0]), qbopt.wigner(pst, [0.0, 1.0]),
                               atol=1e-15)


def test_save_round_trips_atomically(tmp_path):
    r = qbopt.state([(0.3, 0.15, 30)], nc=40, wigner_grid=(-2, 2, 5))
    path = tmp_path / "r.json"
    qbopt.save(r, path)
    assert os.listdir(tmp_path) == ["r.json"]  # no temporary left behind
    back = qbopt.load(path)
    np.testing.assert_array_equal(back["rho"], r["rho"])
    np.testing.assert_array_equal(back["wigner"]["w"], r["wigner"]["w"])
    assert back["config"] == json.loads(json.dumps(r["config"]))
    o = qbopt.optimize([(0.3, 0.15, 30)], nc=40, max_iterations=2)
    qbopt.save(o, path)
    assert qbopt.load(path)["loss"] == o["loss"]
    with pytest.raises(TypeError):
        qbopt.save({"x": object()}, path)
    assert os.listdir(tmp_path) == ["r.json"]


def test_memory_estimate_refuses_with_value_error():
    # N = 5000: a state is 191 MiB; even the sparsest checkpointing needs ~12.7 GiB.
    with pytest.raises(ValueError, match="fewest"):
        qbopt.loss([(0.4, 0.17, 1000)], nc=5000, gradient=True, max_memory=256 << 20)
    with pytest.raises(ValueError, match="E_k"):
        qbopt.simulate([(0.4, 0.17, 10**8)], nc=20, max_memory=64 << 20)
    with pytest.raises(ValueError, match="max_memory"):
        qbopt.optimize([(0.4, 0.17, 1000)], nc=5000, max_memory=256 << 20)
    # Within the budget it runs (and checkpoints more sparsely than the fast plan).
    r = qbopt.loss([(0.4, 0.17, 2000)], nc=150, gradient=True, max_memory=20 << 20)
    ref = qbopt.loss([(0.4, 0.17, 2000)], nc=150, gradient=True)
    np.testing.assert_allclose(r["gradient"], ref["gradient"], rtol=1e-12, atol=1e-12)

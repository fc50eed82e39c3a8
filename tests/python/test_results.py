"""Result objects (qbopt.results), initial= continuation, and defaults shared with the CLI."""
import inspect
import json
import subprocess

import numpy as np
import pytest

import qbopt

B = [(0.39, 0.168, 300)]
S = [(0.39, 0.168, 30)]  # leaks 5e-12 at nc = 20 (300 collisions need nc = 80)
NC = 80  # 600 collisions of (0.39, 0.168) leak 1e-9 of the probability at N = 80 (2e-14 at 300)


def run(cli, *args):
    return subprocess.run([cli, *args], capture_output=True, text=True, check=True)


def keys(x):
    """The nested key layout of a JSON document: dicts by key, lists by their first entry."""
    if isinstance(x, dict):
        return {k: keys(v) for k, v in x.items()}
    if isinstance(x, list) and x and isinstance(x[0], (dict, list)):
        return [keys(x[0])]
    return None


# ---- initial= ------------------------------------------------------------------------------

def test_continuation_equals_one_run_from_array_qobj_and_result():
    qutip = pytest.importorskip("qutip")
    half = qbopt.state(B, nc=NC)
    one = qbopt.state([(0.39, 0.168, 600)], nc=NC)
    assert half.leakage < 1e-12 and one.leakage < 2e-9
    for initial in (half, half.rho, qutip.Qobj(half.rho), half.to_dict()):
        more = qbopt.state(B, nc=NC, initial=initial)
        err = float(np.abs(more.rho - one.rho).max())
        print(f"{type(initial).__name__}: max |rho_300+300 - rho_600| = {err:.1e}, "
              f"|dE| = {abs(more.energy - one.energy):.1e}")
        # The same collisions on the same state (the phases (-i)^(m-n) are exact products, the
        # JSON layout keeps 17 digits); 1e-12 leaves room for a different summation order in
        # the first collisions after the restart (the stencil's top level starts at N-1).
        assert err < 1e-12
        for key in ("energy", "ergotropy", "purity"):
            assert abs(more[key] - one[key]) < 1e-12, key
        assert more.k == 300
    sim = qbopt.simulate(B, nc=NC, samples=3, initial=half)
    assert abs(sim.energy - one.energy) < 1e-12
    assert sim.energy_all[0] == pytest.approx(half.energy, abs=1e-13)  # E_0 is the initial's
    # A simulation's own result continues too (it keeps its final rho).
    again = qbopt.simulate(B, nc=NC, samples=3, initial=qbopt.simulate(B, nc=NC, samples=3))
    assert abs(again.energy - one.energy) < 1e-12


def test_continuation_from_a_cli_state_file(cli, tmp_path):
    path = tmp_path / "s.json"
    run(cli, "state", "--nc", str(NC), "--batch", "0.39,0.168,300", "--out", str(path))
    one = qbopt.state([(0.39, 0.168, 600)], nc=NC)
    for initial in (str(path), path, qbopt.load(path), json.loads(path.read_text())):
        more = qbopt.state(B, nc=NC, initial=initial)
        assert float(np.abs(more.rho - one.rho).max()) < 1e-12  # as above
    assert qbopt.state(B, nc=NC, initial=path).config["initial"] == str(path)
    # And back: Python's state file continues in the CLI.
    py = qbopt.state(B, nc=NC)
    py.save(tmp_path / "py.json")
    run(cli, "simulate", "--nc", str(NC), "--batch", "0.39,0.168,300", "--initial",
        str(tmp_path / "py.json"), "--samples", "2", "--out", str(tmp_path / "c.json"))
    c = qbopt.load(tmp_path / "c.json")
    assert abs(c.energy - one.energy) < 1e-12


def test_loss_optimize_and_noise_take_initial():
    half = qbopt.state(B, nc=NC)
    one = qbopt.state([(0.39, 0.168, 600)], nc=NC)
    lo = qbopt.loss(B, nc=NC, lam=10, eta=0.5, gradient=True, initial=half)
    assert abs(lo.energy - one.energy) < 1e-12 and abs(lo.ergotropy - one.ergotropy) < 1e-12
    op = qbopt.optimize([(0.3, 0.2, 100)], nc=NC, max_iterations=2, initial=half)
    at_best = qbopt.simulate(op.params, nc=NC, samples=2, initial=half)
    assert abs(op.energy - at_best.energy) < 1e-12
    assert op.config["initial"].startswith("<StateResult")
    ne = qbopt.noise_ensemble(B, sigma=0.0, trajectories=2, nc=NC, samples=3, initial=half)
    ref = qbopt.simulate(B, nc=NC, samples=3, initial=half)
    np.testing.assert_allclose(ne.ergotropy_mean, ref.trajectory.ergotropy, atol=1e-12)


def _dm(diag, off=None):
    rho = np.diag(np.asarray(diag, dtype=complex))
    if off is not None:
        rho[1, 0], rho[0, 1] = off, np.conj(off)
    return rho


@pytest.mark.parametrize("bad, match", [
    (np.zeros((2, 2, 2)), "shape"),
    (np.ones(3), "shape"),
    (np.zeros((2, 3)), "shape"),
    (_dm([0.5, 0.5], off=0.3j) + np.array([[0, 0.1], [0, 0]]), "Hermitian"),
    (_dm([0.5, 0.5], off=0.3), "phase form"),     # |+><+|-like: real off-diagonal at m-n=1
    (_dm([1.0, 1.0]), "Tr rho"),
    (_dm([0.999, 0.0]), "Tr rho"),
    (_dm([1.5, -0.5]), "positive"),
    (_dm([0.5, 0.5], off=-0.8j), "positive"),   # |rho_10| > sqrt(rho_00 rho_11)
    (np.eye(90) / 90, "nc = 80"),
    (np.full((2, 2), np.nan), "finite"),
    ("no-such-file.json", "No such file"),
    ([["a", "b"], ["c", "d"]], "initial"),
])
def test_bad_initial_raises_value_error_naming_it(bad, match):
    err = FileNotFoundError if isinstance(bad, str) else ValueError
    with pytest.raises(err, match=match) as e:
        qbopt.simulate(B, nc=NC, initial=bad)
    if err is ValueError:
        assert "initial" in str(e.value)


def test_initial_without_rho_is_refused(cli, tmp_path):
    run(cli, "simulate", "--nc", "20", "--batch", "0.3,0.1,10", "--out", str(tmp_path / "s.json"))
    with pytest.raises(ValueError, match="initial: this SimulateResult has no rho"):
        qbopt.state(B, nc=NC, initial=tmp_path / "s.json")


# ---- result objects --------------------------------------------------------------------------

def test_each_function_returns_its_result_class():
    r = {
        qbopt.SimulateResult: qbopt.simulate(S, nc=20, samples=4),
        qbopt.LossResult: qbopt.loss(S, nc=20, gradient=True),
        qbopt.OptimizeResult: qbopt.optimize(S, nc=20, max_iterations=2),
        qbopt.StateResult: qbopt.state(S, nc=20, wigner_grid=(-2, 2, 5)),
        qbopt.SpectrumResult: qbopt.spectrum((0.39, 0.168), nc=20, count=3),
        qbopt.NoiseResult: qbopt.noise_ensemble(S, sigma=0.01, trajectories=2, nc=20, samples=3),
    }
    for cls, res in r.items():
        assert type(res) is cls and isinstance(res, dict)
        text = repr(res)
        print(text)
        assert text.startswith(cls.__name__ + "(") and len(text.splitlines()) <= 6
        assert "array(" not in text and "[[" not in text  # shapes, never array dumps
        json.dumps(res.to_dict())  # plain lists and numbers
    sim = r[qbopt.SimulateResult]
    assert sim.energy == sim["final"]["energy"] and sim.trajectory.k is sim["trajectory"]["k"]
    assert "final.energy" not in repr(sim) and "energy " in repr(sim)
    st = r[qbopt.StateResult]
    assert st.rho is st["rho"] and st.wigner.w.shape == (5, 5) and st.config.nc == 20
    with pytest.raises(AttributeError, match="no key 'enrgy'"):
        st.enrgy


@pytest.mark.parametrize("command, extra, call", [
    ("simulate", ["--samples", "5"], lambda: qbopt.simulate(S, nc=20, samples=5)),
    ("loss", ["--gradient"], lambda: qbopt.loss(S, nc=20, gradient=True)),
    ("optimize", ["--max-iterations", "2"], lambda: qbopt.optimize(S, nc=20, max_iterations=2)),
    ("state", ["--wigner", "-2,2,5"], lambda: qbopt.state(S, nc=20, wigner_grid=(-2, 2, 5))),
])
def test_to_dict_is_the_cli_layout_and_load_gives_the_class(cli, tmp_path, command, extra, call):
    out = tmp_path / "c.json"
    run(cli, command, "--nc", "20", "--batch", "0.39,0.168,30", *extra, "--out", str(out))
    ref = json.loads(out.read_text())
    py = call()
    assert keys(py.to_dict()) == keys(ref)
    loaded = qbopt.load(out)
    assert type(loaded) is type(py)
    assert keys(loaded.to_dict()) == keys(ref)
    py.save(tmp_path / "p.json")
    assert keys(json.loads((tmp_path / "p.json").read_text())) == keys(ref)
    assert type(qbopt.load(tmp_path / "p.json")) is type(py)
    assert loaded.loss == pytest.approx(py.loss, abs=1e-12) if command in ("loss", "optimize") \
        else loaded.energy == pytest.approx(py.energy, abs=1e-12)


def test_spectrum_to_dict_and_load(cli, tmp_path):
    out = tmp_path / "sp.json"
    run(cli, "spectrum", "--qubit", "0.39,0.168", "--nc", "20", "--count", "3", "--out", str(out))
    ref = json.loads(out.read_text())
    py = qbopt.spectrum((0.39, 0.168), nc=20, count=3)
    assert keys(py.to_dict()) == keys(ref)
    back = qbopt.load(out)
    assert type(back) is qbopt.SpectrumResult and back.eigenvalues.dtype == complex
    np.testing.assert_allclose(back.eigenvalues, py.eigenvalues, atol=1e-13)
    assert back.to_dict()["eigenvalues"] == ref["eigenvalues"]  # exactly what the file holds


def test_load_csv_and_sweep(cli, tmp_path):
    run(cli, "simulate", "--nc", "20", "--batch", "0.39,0.168,30", "--samples", "4", "--out",
        str(tmp_path / "s.csv"))
    s = qbopt.load(tmp_path / "s.csv")
    assert type(s) is qbopt.SimulateResult and list(s.trajectory.k) == [1, 3, 10, 30]
    py = qbopt.simulate(S, nc=20, samples=4)
    np.testing.assert_allclose(s.trajectory.energy, py.trajectory.energy, rtol=1e-6)  # %g
    (tmp_path / "sw.toml").write_text(
        'command = "loss"\nnc = 20\nbatch = ["0.39,0.168,30"]\n[sweep]\nlambda = [1, 2]\n')
    run(cli, "sweep", str(tmp_path / "sw.toml"), "--out", str(tmp_path / "sw.jsonl"))
    lines = qbopt.load(tmp_path / "sw.jsonl")
    assert len(lines) == 2 and all(type(x["result"]) is qbopt.LossResult for x in lines)


def test_to_qutip_takes_result_dict_path_and_array(tmp_path):
    pytest.importorskip("qutip")
    st = qbopt.state(S, nc=20)
    st.save(tmp_path / "s.json")
    for x in (st, st.to_dict(), tmp_path / "s.json", str(tmp_path / "s.json"), st.rho,
              qbopt.simulate(S, nc=20)):
        assert np.abs(qbopt.to_qutip(x).full() - st.rho).max() < 1e-15


def test_save_is_atomic_and_keeps_python_only_keys_out(tmp_path):
    r = qbopt.simulate(S, nc=20, samples=3)
    r.save(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert {"energy_all", "rho"} & set(data) == set() and "seconds" in data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


# ---- defaults ----------------------------------------------------------------------------------

def test_python_defaults_are_the_clis(cli, tmp_path):
    """Without the options, the CLI's and Python's configs agree (one source: the C++ structs)."""
    for command, call in (("simulate", lambda: qbopt.simulate([(0.39, 0.168, 10)])),
                          ("loss", lambda: qbopt.loss([(0.39, 0.168, 10)])),
                          ("optimize", lambda: qbopt.optimize([(0.39, 0.168, 10)]))):
        run(cli, command, "--batch", "0.39,0.168,10", "--out", str(tmp_path / "d.json"))
        ref = json.loads((tmp_path / "d.json").read_text())["config"]
        assert call().to_dict()["config"] == ref, command
    d = qbopt.DEFAULTS
    sig = inspect.signature(qbopt.optimize).parameters
    assert sig["nc"].default == d["nc"] == 150 and sig["lam"].default == d["lambda"]
    assert sig["max_iterations"].default == d["max_iterations"] == 200
    assert inspect.signature(qbopt.spectrum).parameters["count"].default == d["count"]
    assert inspect.signature(qbopt.noise_ensemble).parameters["trajectories"].default == \
        d["noise"]["trajectories"]
    assert "nc: 'int' = 150" in str(inspect.signature(qbopt.simulate))  # help() shows numbers


def test_loss_keyword_and_its_older_name():
    a = qbopt.loss(S, nc=20, loss="ergotropy", lam=0)
    b = qbopt.loss(S, nc=20, name="ergotropy", lam=0)
    assert a.loss == b.loss == -a.ergotropy and a.config["loss"] == "ergotropy"
    with pytest.raises(ValueError, match="disagree"):
        qbopt.loss(S, nc=20, loss="energy", name="ergotropy")


def test_max_memory_takes_the_clis_text():
    with pytest.raises(ValueError, match="max_memory"):
        qbopt.loss([(0.4, 0.17, 1000)], nc=5000, gradient=True, max_memory="256M")
    with pytest.raises(ValueError, match="max_memory"):
        qbopt.simulate(S, nc=20, max_memory="lots")


def test_opt_in_progress_bar_and_iteration_lines(capsys):
    """progress=True draws a bar on stderr ending at n/n; callback=True prints the CLI's
    --progress lines, one per iteration; the results equal those of silent runs."""
    quiet = qbopt.simulate([(0.3, 0.2, 9000)], nc=40, samples=3)
    loud = qbopt.simulate([(0.3, 0.2, 9000)], nc=40, samples=3, progress=True)
    err = capsys.readouterr().err
    assert "simulate [" in err and "9000/9000" in err and err.endswith("\n"), err[-200:]
    assert loud.energy == quiet.energy
    r = qbopt.optimize([(0.3, 0.3, 30)], nc=30, max_iterations=5, callback=True)
    lines = [x for x in capsys.readouterr().err.splitlines() if x.startswith("start 1  iteration")]
    assert len(lines) == r.iterations, (lines, r.iterations)

"""The Python API against the CLI on the same inputs, QuTiP hand-off, and bad input."""
import json
import subprocess

import numpy as np
import pytest

import qbopt

BATCHES = [(0.2, 0.1, 150), (0.4, 0.17, 100)]
ARGS = ["--g", "0.8", "--nc", "60", "--batch", "0.2,0.1,150", "--batch", "0.4,0.17,100"]


def run(cli, *args):
    return subprocess.run([cli, *args], capture_output=True, text=True, check=True)


def test_simulate_matches_cli(cli, tmp_path):
    out = tmp_path / "s.json"
    run(cli, "simulate", *ARGS, "--samples", "12", "--out", str(out))
    ref = json.loads(out.read_text())
    py = qbopt.simulate(BATCHES, g=0.8, nc=60, samples=12)
    for key in ("k", "energy", "ergotropy", "purity", "leakage"):
        np.testing.assert_allclose(py["trajectory"][key], ref["trajectory"][key], rtol=0, atol=1e-13)
    np.testing.assert_allclose(py["final"]["populations"], ref["final"]["populations"], atol=1e-15)
    assert len(py["energy_all"]) == 251


def test_loss_and_gradient_match_cli(cli, tmp_path):
    out = tmp_path / "l.json"
    run(cli, "loss", *ARGS, "--lambda", "3", "--eta", "0.3", "--gradient", "--out", str(out))
    ref = json.loads(out.read_text())
    py = qbopt.loss(BATCHES, g=0.8, nc=60, lam=3, eta=0.3, gradient=True)
    assert py["loss"] == pytest.approx(ref["loss"], abs=1e-14)
    np.testing.assert_allclose(py["gradient"], ref["gradient"], atol=1e-12)


def test_optimize_matches_cli(cli, tmp_path):
    out = tmp_path / "o.json"
    run(cli, "optimize", *ARGS, "--lambda", "3", "--eta", "0.3", "--max-iterations", "5", "--out", str(out))
    ref = json.loads(out.read_text())
    py = qbopt.optimize(BATCHES, g=0.8, nc=60, lam=3, eta=0.3, max_iterations=5)
    assert py["loss"] == pytest.approx(ref["loss"], abs=1e-12)
    assert [p["c"] for p in py["params"]] == pytest.approx([p["c"] for p in ref["params"]], abs=1e-12)
    assert py["evaluations"] == ref["evaluations"]


def test_state_matches_cli_and_goes_to_qutip(cli, tmp_path):
    out = tmp_path / "st.json"
    run(cli, "state", *ARGS, "--wigner", "-4,4,9", "--out", str(out))
    ref = json.loads(out.read_text())
    st = qbopt.state(BATCHES, g=0.8, nc=60, wigner_grid=(-4, 4, 9))
    rho_ref = np.array(ref["rho"]["re"]) + 1j * np.array(ref["rho"]["im"])
    np.testing.assert_allclose(st["rho"], rho_ref, atol=1e-15)
    np.testing.assert_allclose(st["wigner"]["w"], ref["wigner"]["w"], atol=1e-14)
    q = qbopt.to_qutip(st)
    assert q.shape == (60, 60) and q.isherm
    assert abs(q.tr() - (1 - st["leakage"])) < 1e-12  # this short N leaks a little


def test_three_lines_to_qutip():
    import qbopt as qb
    st = qb.state([(0.39, 0.168, 500)], nc=80)
    rho = qb.to_qutip(st)
    import qutip
    assert isinstance(rho, qutip.Qobj)


@pytest.mark.parametrize("call", [
    lambda: qbopt.simulate([(1.5, 0.1, 10)]),
    lambda: qbopt.simulate([(0.1, -0.1, 10)]),
    lambda: qbopt.simulate([(0.1, 0.1, 0)]),
    lambda: qbopt.simulate([(0.1, 0.1, 2.5)]),
    lambda: qbopt.simulate([(0.1, 0.1)]),
    lambda: qbopt.simulate([]),
    lambda: qbopt.simulate([(0.1, 0.1, 10)], nc=1),
    lambda: qbopt.simulate([(0.1, 0.1, 10)], g=float("nan")),
    lambda: qbopt.loss([(0.1, 0.1, 10)], lam=-1),
    lambda: qbopt.loss([(0.1, 0.1, 10)], eta=0),
    lambda: qbopt.loss([(0.1, 0.1, 10)], loss="nope"),
    lambda: qbopt.optimize([(0.1, 0.1, 10)], starts=0),
    lambda: qbopt.state([(0.1, 0.1, 10)], wigner_grid=(1, -1, 5)),
    lambda: qbopt.noise_ensemble([(0.1, 0.1, 10)], sigma=-1),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_batch_flags_and_counts_are_checked():
    # Regression: bool('free') used to be True, and a dict count of 2.7 was truncated to 2.
    r = qbopt.optimize([(0.3, 0.1, 50, "free")], nc=30, max_iterations=2)
    assert r["params"][0]["fixed"] is False and r["evaluations"] > 0
    r = qbopt.optimize([{"c": 0.3, "q": 0.1, "count": 50, "fixed": "fixed"}], nc=30)
    assert r["params"][0]["fixed"] is True
    for bad in ([(0.3, 0.1, 50, "false")], [{"c": 0.3, "q": 0.1, "count": 2.7}],
                [{"c": 0.3, "q": 0.1, "count": 5, "fxied": True}]):
        with pytest.raises(ValueError):
            qbopt.simulate(bad, nc=30)


def test_noise_ensemble_is_reproducible():
    a = qbopt.noise_ensemble([(0.39, 0.168, 300)], sigma=0.05, trajectories=3, seed=7, nc=60, samples=10)
    b = qbopt.noise_ensemble([(0.39, 0.168, 300)], sigma=0.05, trajectories=3, seed=7, nc=60, samples=10)
    c = qbopt.noise_ensemble([(0.39, 0.168, 300)], sigma=0.05, trajectories=3, seed=8, nc=60, samples=10)
    np.testing.assert_array_equal(a["ergotropy_mean"], b["ergotropy_mean"])
    assert not np.array_equal(a["ergotropy_mean"], c["ergotropy_mean"])
    assert np.all(a["ergotropy_std"] > 0)
    # sigma = 0 collapses the ensemble onto the noiseless trajectory.
    z = qbopt.noise_ensemble([(0.39, 0.168, 300)], sigma=0.0, trajectories=2, seed=7, nc=60, samples=10)
    ref = qbopt.simulate([(0.39, 0.168, 300)], nc=60, samples=10)
    np.testing.assert_allclose(z["ergotropy_mean"], ref["trajectory"]["ergotropy"], atol=1e-12)
    np.testing.assert_allclose(z["ergotropy_std"], 0, atol=1e-7)

"""Battery models from Python: the lossy micromaser against the CLI, parameters by name, and bad
model input raising ValueError."""
import json
import subprocess

import numpy as np
import pytest

import qbopt

LOSSY = {"kappa_tau": 0.01, "n_th": 0.1, "arrivals": "poisson"}
ARGS = ["--model", "lossy", "--param", "kappa_tau=0.01", "--param", "n_th=0.1",
        "--param", "arrivals=poisson", "--nc", "50",
        "--batch", "c=0.3,q=0.12,count=80,g=0.7", "--batch", "0.4,0.17,60"]
BATCHES = [{"c": 0.3, "q": 0.12, "count": 80, "g": 0.7}, (0.4, 0.17, 60)]


def test_models_lists_micromaser_and_lossy():
    names = {m["name"]: m for m in qbopt.models()}
    assert {"micromaser", "lossy"} <= set(names)
    lossy = {p["name"]: p for p in names["lossy"]["parameters"]}
    assert lossy["arrivals"]["choices"] == ["regular", "poisson"]
    assert lossy["g"]["default"] == pytest.approx(qbopt.DEFAULT_G)


def test_lossy_loss_and_gradient_match_cli(cli, tmp_path):
    out = tmp_path / "l.json"
    subprocess.run([cli, "loss", *ARGS, "--gradient", "--out", str(out)], check=True,
                   capture_output=True)
    ref = json.loads(out.read_text())
    py = qbopt.loss(BATCHES, nc=50, gradient=True, model="lossy", params=LOSSY)
    assert py["loss"] == pytest.approx(ref["loss"], abs=1e-14)
    assert py["config"]["model"] == ref["config"]["model"]
    assert py["config"]["batches"] == ref["config"]["batches"]
    # A batch with its own g has a 3-entry gradient row, the other 2.
    assert [len(r) for r in py["gradient"]] == [3, 2]
    for a, b in zip(py["gradient"], ref["gradient"]):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert py["model_gradient"] == pytest.approx(ref["model_gradient"], abs=1e-12)


def test_batches_as_cli_strings():
    a = qbopt.simulate(["c=0.3,q=0.12,count=80,g=0.7", "0.4,0.17,60"], nc=40, model="lossy",
                       params=LOSSY, samples=5)
    b = qbopt.simulate(BATCHES, nc=40, model="lossy", params=LOSSY, samples=5)
    np.testing.assert_array_equal(a["trajectory"]["energy"], b["trajectory"]["energy"])


def test_zero_damping_is_the_lossless_model():
    a = qbopt.simulate([(0.4, 0.17, 300)], nc=60, samples=5)
    b = qbopt.simulate([(0.4, 0.17, 300)], nc=60, samples=5, model="lossy",
                       params={"kappa_tau": 0.0, "n_th": 0.5})
    np.testing.assert_allclose(a["final"]["populations"], b["final"]["populations"], atol=1e-15)


@pytest.mark.parametrize("call", [
    lambda: qbopt.simulate([(0.1, 0.1, 10)], model="nope"),
    lambda: qbopt.simulate([(0.1, 0.1, 10)], model="lossy", params={"kapa": 1}),
    lambda: qbopt.simulate([(0.1, 0.1, 10)], model="lossy", params={"kappa_tau": -1}),
    lambda: qbopt.simulate([(0.1, 0.1, 10)], model="lossy", params={"arrivals": "sometimes"}),
    lambda: qbopt.simulate([(0.1, 0.1, 10)], model="lossy", params={"kappa_tau": "fast"}),
    lambda: qbopt.simulate([{"c": 0.1, "q": 0.1, "count": 10, "h": 1}]),
    lambda: qbopt.simulate([(0.1, 0.1, 10)], nc=2.5),
    lambda: qbopt.optimize([(0.1, 0.1, 10)], free_g="sideways"),
])
def test_bad_model_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_optimize_free_g_per_batch():
    r = qbopt.optimize([(0.3, 0.1, 30), (0.4, 0.15, 30)], nc=30, loss="ergotropy", lam=0,
                       free_g="batch", g_range=(0.6, 1.0), max_iterations=5, model="lossy",
                       params={"kappa_tau": 1e-3})
    assert all("g" in p and 0.6 <= p["g"] <= 1.0 for p in r["params"])
    assert r["slots"] == ["batch 1 c", "batch 1 q", "batch 1 g", "batch 2 c", "batch 2 q", "batch 2 g"]
    assert r["history"][-1] <= r["history"][0]

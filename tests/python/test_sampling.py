"""Sampling of trajectories (sampling=, at=) and intermediate states (states_at=) from Python:
the same k and numbers as the CLI and as separate runs, and bad input as ValueError."""
import json
import subprocess

import numpy as np
import pytest

import qbopt

BATCHES = [(0.3, 0.15, 10), (0.5, 0.2, 10)]
ARGS = ["--nc", "30", "--batch", "0.3,0.15,10", "--batch", "0.5,0.2,10"]
# The same collisions in the same order (and the CLI's 17 printed digits read back exactly):
# equal to rounding, which is none; 1e-13 allows ~1e-16 per collision of a reordered sum.
SAME_RUN_TOL = 1e-13


def test_linear_and_explicit_sampling(cli, tmp_path):
    lin = qbopt.simulate(BATCHES, nc=30, samples=6, sampling="linear")
    assert lin["trajectory"]["k"].tolist() == [0, 4, 8, 12, 16, 20]
    assert lin["config"]["sampling"] == "linear" and lin["config"]["samples"] == 6
    at = qbopt.simulate(BATCHES, nc=30, at=[20, 0, 7, 7])
    assert at["trajectory"]["k"].tolist() == [0, 7, 20]
    assert at["config"]["at"] == [0, 7, 20] and "samples" not in at["config"]
    out = tmp_path / "at.json"
    subprocess.run([cli, "simulate", *ARGS, "--at", "20,0,7,7", "--out", str(out)], check=True,
                   capture_output=True)
    ref = json.loads(out.read_text())
    assert ref["config"]["at"] == at["config"]["at"]
    for key in ("k", "energy", "ergotropy", "purity", "leakage"):
        np.testing.assert_allclose(at["trajectory"][key], ref["trajectory"][key], rtol=0,
                                   atol=SAME_RUN_TOL)
    # Each sampled energy is the energy of a separate run of k collisions.
    alone = qbopt.simulate([(0.3, 0.15, 7)], nc=30)["final"]["energy"]
    assert abs(at["trajectory"]["energy"][1] - alone) <= SAME_RUN_TOL
    assert abs(lin["trajectory"]["energy"][2] - qbopt.simulate([(0.3, 0.15, 8)], nc=30)["final"]["energy"]) <= SAME_RUN_TOL
    # The default stays log-spaced from k = 1.
    log = qbopt.simulate(BATCHES, nc=30, samples=5)
    assert log["config"]["sampling"] == "log" and log["trajectory"]["k"][0] == 1


def test_states_at_equal_separate_runs(cli, tmp_path):
    st = qbopt.state(BATCHES, nc=30, states_at=[20, 5, 0, 5], wigner_grid=(-3, 3, 5))
    assert st["config"]["states_at"] == [0, 5, 20]
    assert [e["k"] for e in st["states"]] == [0, 5, 20]
    s5 = qbopt.state([(0.3, 0.15, 5)], nc=30, wigner_grid=(-3, 3, 5))
    err = max(np.abs(st["states"][1]["rho"] - s5["rho"]).max(),
              np.abs(st["states"][2]["rho"] - st["rho"]).max(),
              np.abs(st["states"][1]["wigner"]["w"] - s5["wigner"]["w"]).max())
    print("kept vs separate runs, max |diff|:", err)
    assert err <= SAME_RUN_TOL
    assert st["states"][0]["populations"][0] == 1 and st["states"][0]["energy"] == 0
    # The CLI's states, entry by entry.
    out = tmp_path / "s.json"
    subprocess.run([cli, "state", *ARGS, "--states-at", "20,5,0,5", "--out", str(out)], check=True,
                   capture_output=True)
    ref = qbopt.load(out)
    for a, b in zip(st["states"], ref["states"]):
        assert a["k"] == b["k"]
        assert np.abs(a["rho"] - b["rho"]).max() <= SAME_RUN_TOL
    # Without states_at the result has no "states".
    assert "states" not in qbopt.state(BATCHES, nc=30)


@pytest.mark.parametrize("kwargs, words", [
    ({"states_at": [5, 21]}, "states_at 21"),
    ({"states_at": [-1]}, "states_at -1"),
    ({"states_at": []}, "states_at is empty"),
    ({"states_at": [2.5]}, "states_at 2.5"),
    ({"states_at": "5"}, "states_at '5' must be a list"),
])
def test_states_at_bad_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        qbopt.state(BATCHES, nc=30, **kwargs)


@pytest.mark.parametrize("kwargs, words", [
    ({"at": [0, 21]}, "at 21"),
    ({"at": []}, "at is empty"),
    ({"at": ["x"]}, "at 'x'"),
    ({"sampling": "lin"}, "sampling 'lin' must be log or linear"),
])
def test_sampling_bad_input(kwargs, words):
    with pytest.raises(ValueError, match=words):
        qbopt.simulate(BATCHES, nc=30, **kwargs)


def test_final_block_is_the_end_of_the_run_whatever_the_samples():
    """With at=[5, 10] on 30 collisions the samples stop at k = 10 but the run does not: "final"
    is k = 30, as the CLI writes it (one layout, cli/json_io.hpp's trajectory_json); it once
    reported the last sample's k."""
    r = qbopt.simulate([(0.39, 0.168, 30)], nc=30, at=[5, 10])
    full = qbopt.simulate([(0.39, 0.168, 30)], nc=30)
    assert list(r.trajectory.k) == [5, 10]
    assert r.final.k == 30 and r.final.energy == full.final.energy

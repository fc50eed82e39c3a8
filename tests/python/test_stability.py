"""qbopt.spectrum and the eq11-spectral loss against the CLI's JSON (issue 8)."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import qbopt


def run(cli, *args):
    return subprocess.run([cli, *args], capture_output=True, text=True, check=True)


def phases(n):
    """(-i)^(m-n): the density-matrix basis of State::density_matrix."""
    m = np.arange(n)
    return (-1j) ** ((m[:, None] - m[None, :]) % 4)


@pytest.mark.parametrize("qubit, cli_qubit, g", [
    ((0.39, 0.168), "0.39,0.168", None),
    ({"c": 0.39, "q": 0.168, "g": 0.7}, "c=0.39,q=0.168,g=0.7", None),
    ("0.2,0.4", "0.2,0.4", 0.9),
])
def test_spectrum_matches_cli(cli, tmp_path, qubit, cli_qubit, g):
    out = tmp_path / "s.json"
    args = ["spectrum", "--qubit", cli_qubit, "--nc", "40", "--count", "5", "--out", str(out)]
    if g is not None:
        args += ["--g", str(g)]
    run(cli, *args)
    ref = json.loads(out.read_text())
    py = qbopt.spectrum(qubit, g=g, nc=40, count=5)
    assert py["config"] == ref["config"]
    ev = np.array([complex(re, im) for re, im in ref["eigenvalues"]])
    err = np.max(np.abs(py["eigenvalues"] - ev))
    print(f"eigenvalues: max |python - CLI| = {err:.2e}")
    assert py["eigenvalues"].dtype == complex and err < 1e-13
    assert py["lifetime"] == pytest.approx(ref["lifetime"], rel=1e-12)
    assert py["matvecs"] == ref["matvecs"] and py["converged"] == ref["converged"]
    assert len(py["eigenvectors"]) == len(ev)
    for lam, v in zip(py["eigenvalues"], py["eigenvectors"]):
        assert v.shape == (40, 40) and v.dtype == complex
        assert np.linalg.norm(v) == pytest.approx(1, abs=1e-12)
        # Back in the r representation a real eigenvalue's eigenvector is real symmetric.
        r = v / phases(40)
        assert np.max(np.abs(r - r.T)) < 1e-14
        if lam.imag == 0:
            assert np.max(np.abs(r.imag)) < 1e-14
    assert len(py["steady_states"]) == len(ref["steady_states"])
    for s, t in zip(py["steady_states"], ref["steady_states"]):
        np.testing.assert_allclose(s["populations"], t["populations"], atol=1e-14)
        np.testing.assert_allclose(np.diag(s["rho"]).real, t["populations"], atol=1e-14)
        assert np.trace(s["rho"]).real == pytest.approx(1, abs=1e-12)
        assert np.max(np.abs(s["rho"] - s["rho"].conj().T)) < 1e-14


def test_spectrum_steady_state_at_n150_is_a_density_matrix():
    py = qbopt.spectrum((0.39, 0.168), nc=150, count=4)
    assert py["converged"] and py["steady_states"], py["eigenvalues"]
    rho = py["steady_states"][0]["rho"]
    w = np.linalg.eigvalsh((rho + rho.conj().T) / 2)
    print(f"steady state: trace {np.trace(rho).real:.15f}, smallest eigenvalue {w.min():.2e}")
    assert w.min() > -1e-8


# A child Python computing the N = 150 spectrum (two trapping chambers: eigenvalue 1 twice).
DEGENERATE_CHILD = r"""
import numpy as np, qbopt
py = qbopt.spectrum((0.39, 0.168), nc=150, count=4)
rho = py["steady_states"][0]["rho"]
w = np.linalg.eigvalsh((rho + rho.conj().T) / 2)
print(len(py["steady_states"]), w.min(), *np.abs(py["eigenvalues"]), flush=True)
"""


def test_spectrum_does_not_read_uninitialized_memory():
    """The lift of the second eigenvalue-1 vector solves a singular system; it once read
    coefficients Eigen never wrote (the test above then failed about once in six suite runs,
    depending on what the allocator handed back). glibc's perturb fills every fresh block with
    the byte perturb ^ 0xff (tcache off so that no block escapes it): deterministic garbage,
    which made the second eigenvalue NaN before the fix (fill byte 0x5a)."""
    perturb = 0xA5
    env = dict(os.environ)
    env["GLIBC_TUNABLES"] = f"glibc.malloc.tcache_count=0:glibc.malloc.perturb={perturb}"
    p = subprocess.run([sys.executable, "-c", DEGENERATE_CHILD], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    count, smallest, *moduli = (float(x) for x in p.stdout.split())
    print(f"perturb {perturb}: {count:.0f} steady states, smallest eigenvalue {smallest:.2e}")
    # Two chambers, each steady state a density matrix up to the eigensolver's 1e-10 residuals.
    assert count == 2 and smallest > -1e-8
    # |lambda_1| = |lambda_2| = 1 to the unit tolerance 1e-9; all four finite.
    assert all(np.isfinite(moduli)) and abs(moduli[0] - 1) < 1e-9 and abs(moduli[1] - 1) < 1e-9


def test_spectrum_bad_input():
    with pytest.raises(ValueError, match="count"):
        qbopt.spectrum((0.3, 0.1), nc=10, count=100)
    with pytest.raises(ValueError, match="qubit"):
        qbopt.spectrum((0.3, 0.1, 5), nc=10)


def test_spectral_loss_matches_cli(cli, tmp_path):
    out = tmp_path / "l.json"
    run(cli, "loss", "--loss", "eq11-spectral", "--lambda", "1e4", "--nc", "50", "--batch", "0.3,0.15,20",
        "--batch", "0.2,0.4,30", "--gradient", "--out", str(out))
    ref = json.loads(out.read_text())
    py = qbopt.loss([(0.3, 0.15, 20), (0.2, 0.4, 30)], nc=50, lam=1e4, loss="eq11-spectral",
                    gradient=True)
    print(f"loss python {py['loss']!r} CLI {ref['loss']!r}")
    assert py["loss"] == pytest.approx(ref["loss"], abs=1e-14)
    assert py["penalty"] == pytest.approx(ref["penalty"], rel=1e-13)
    np.testing.assert_allclose(py["gradient"], ref["gradient"], atol=1e-12)
    assert py["spectral"]["decay_rate"] == pytest.approx(ref["spectral"]["decay_rate"], rel=1e-13)
    assert py["spectral"]["lifetime"] == pytest.approx(ref["spectral"]["lifetime"], rel=1e-13)
    assert py["config"]["loss"] == "eq11-spectral"


def test_spectral_optimize_runs(cli, tmp_path):
    r = qbopt.optimize([(0.5, 0.2, 200)], nc=40, lam=1e4, loss="eq11-spectral", max_iterations=3)
    assert r["config"]["loss"] == "eq11-spectral" and np.isfinite(r["loss"]) and r["penalty"] > 0
    # The optimum's slow mode, as the CLI writes it.
    run(cli, "optimize", "--loss", "eq11-spectral", "--lambda", "1e4", "--nc", "40", "--batch",
        "0.5,0.2,200", "--max-iterations", "3", "--out", str(tmp_path / "o.json"))
    ref = json.loads((tmp_path / "o.json").read_text())
    assert set(r.to_dict()) == set(ref)
    # Same optimum, same spectrum: the Arnoldi iteration's tolerance is 1e-10 relative.
    assert r.spectral["decay_rate"] == pytest.approx(ref["spectral"]["decay_rate"], rel=1e-8)
    with pytest.raises(ValueError, match="eq11-spectra"):
        qbopt.loss([(0.5, 0.2, 10)], nc=10, loss="eq11-spectra")

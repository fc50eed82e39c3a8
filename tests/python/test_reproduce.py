"""`qbopt reproduce --quick`: every file, every table row, valid PNG figures."""
import json
import math
import struct
import subprocess

import pytest

import qbopt

FIGURES = ["fig4.png", "fig5.png", "fig6.png", "fig7.png", "loss_history.png", "stability_map.png"]


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def out(tmp_path_factory, cli):
    d = tmp_path_factory.mktemp("reproduce")
    r = subprocess.run([cli, "reproduce", "--quick", "--out", str(d)], capture_output=True, text=True)
    print(r.stdout, r.stderr)
    assert r.returncode == 0
    return d


def test_every_file(out):
    for name in ["report.md", "results.json", *FIGURES]:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not list(out.glob("*.tmp*"))


def test_report_has_every_row(out):
    md = (out / "report.md").read_text()
    # One row per paper scenario: its lambda and the paper's optimum, e.g. "| 1 | (0.310, 0.145)".
    scenarios = qbopt.scenarios()
    assert len(scenarios) == 8
    for s in scenarios:
        row = f"| {s['lambda']:g} | " + ", ".join(f"({c:.3f}, {q:.3f})" for c, q in s["paper"])
        assert row in md, row
    for fig in FIGURES:
        assert f"({fig})" in md


def test_results_json_has_every_number_with_its_config(out):
    r = json.loads((out / "results.json").read_text())
    assert r["config"]["quick"] is True and "qbopt_version" in r["config"] and "seed" in r["config"]
    assert len(r["optimizations"]) == 8
    assert {t["id"] for t in r["trajectories"]} >= {"3.1-lambda1", "improved", "fine-tuned"}
    assert {s["figure"] for s in r["states"]} == {"5a", "5b", "7a", "7b"}


def test_figures_are_valid_pngs_of_the_expected_size(out):
    from qbopt import figures
    for name in FIGURES:
        w, h = png_size(out / name)
        print(name, w, h)
        inches = figures.SIZES[name[:-4]]
        assert (w, h) == (round(inches[0] * figures.DPI), round(inches[1] * figures.DPI))


def test_stability_map(out):
    """The stability stage: a 7 x 7 lifetime grid in quick mode, the paper's optima with their
    lifetimes ranked as their lambda (a longer lifetime for a larger lambda in Sec. 3.1)."""
    import json as _json
    s = _json.loads((out / "results.json").read_text())["stability_map"]
    assert len(s["c"]) == 7 and len(s["q"]) == 7 and s["nc"] == 80
    assert len(s["lifetime"]) == 7 and all(len(row) == 7 for row in s["lifetime"])
    assert all(x is None or x > 0 for row in s["lifetime"] for x in row)
    sec31 = [o["lifetime"] for o in s["optima"] if o["id"].startswith("3.1")]
    print("Sec. 3.1 optima lifetimes:", sec31)
    assert len(sec31) == 4 and sec31 == sorted(sec31)


def test_scenarios_are_the_catalogue():
    """qbopt.scenarios() is the C++ catalogue: its ids have the figures' colours, its starts are
    accepted by optimize() as they are, and g is the paper's."""
    from qbopt import figures
    ids = [s["id"] for s in qbopt.scenarios()]
    assert ids[0] == "3.1-lambda1" and ids[-1] == "improved" and len(set(ids)) == 8
    assert set(ids) <= set(figures._STYLE)
    for s in qbopt.scenarios():
        assert s["g"] == qbopt.DEFAULT_G and len(s["paper"]) == len(s["start"])
    s = qbopt.scenarios()[-1]
    r = qbopt.loss(s["start"], nc=s["nc"], lam=s["lambda"], eta=s["eta"])
    assert math.isfinite(r["loss"]) and r["loss"] < 0

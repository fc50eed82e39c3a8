"""Docs that run: the doctest examples of every public function and result class, and the
tutorial docs/python.md executed in order (its ```sh blocks with the qbopt under test, its
``>>>`` blocks as doctests sharing one namespace) in a scratch directory. ```console blocks
(installation) are not run; tests/test_pip_install.sh runs that recipe."""
import doctest
import os
import pathlib
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

import qbopt
import qbopt.results

DOCS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "python.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@pytest.mark.parametrize("module", [qbopt, qbopt.results, sys.modules["qbopt.sweep"]],
                         ids=lambda m: m.__name__)
def test_docstring_examples(module):
    res = doctest.testmod(module, extraglobs={"qbopt": qbopt, "np": np}, optionflags=FLAGS,
                          verbose=False)
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples failed (output above)"
    assert res.attempted >= 5


def test_every_public_function_and_result_class_has_an_example():
    names = [n for n in qbopt.__all__ if callable(getattr(qbopt, n))
             and not isinstance(getattr(qbopt, n), type)]
    missing = [n for n in names if n != "save" and n != "models"
               and ">>>" not in (getattr(qbopt, n).__doc__ or "")]
    assert not missing, f"no example in the docstring of {missing}"
    for cls in (qbopt.Result, qbopt.SimulateResult, qbopt.LossResult, qbopt.OptimizeResult,
                qbopt.StateResult, qbopt.SpectrumResult, qbopt.NoiseResult):
        assert ">>>" in cls.__doc__ and ("Keys" in cls.__doc__ or cls is qbopt.Result), cls


def blocks(text):
    """(kind, first line number, body) of every fenced block of the Markdown text."""
    for m in re.finditer(r"^```(\w*)\n(.*?)^```$", text, flags=re.S | re.M):
        yield m.group(1), text.count("\n", 0, m.start()) + 2, m.group(2)


def test_tutorial_runs_as_written(cli, tmp_path, monkeypatch):
    text = DOCS.read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    parser, globs = doctest.DocTestParser(), {}
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    ran = {"sh": 0, "pycon": 0}
    for kind, line, body in blocks(text):
        if kind == "sh":
            for cmd in body.splitlines():
                if not cmd.strip():
                    continue
                args = shlex.split(cmd)
                assert args[0] == "qbopt", f"docs/python.md:{line}: only qbopt commands run"
                p = subprocess.run([cli, *args[1:]], capture_output=True, text=True)
                assert p.returncode == 0, f"docs/python.md:{line}: {cmd}\n{p.stderr}"
                ran["sh"] += 1
        elif kind == "pycon":
            test = parser.get_doctest(body, globs, f"python.md:{line}", str(DOCS), line - 1)
            result = runner.run(test, clear_globs=False)
            globs = test.globs  # DocTest copies its globals: carry them to the next block
            assert result.failed == 0, f"docs/python.md:{line}: an example failed (output above)"
            ran["pycon"] += 1
    assert ran["sh"] >= 3 and ran["pycon"] >= 6, ran
    assert sorted(os.listdir(tmp_path)) == ["l.json", "more.json", "s.json"]

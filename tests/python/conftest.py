"""Shared fixtures: the qbopt CLI path (QBOPT_CLI, set by ctest) and a scratch directory."""
import os
import shutil

import pytest


@pytest.fixture(scope="session")
def cli():
    path = os.environ.get("QBOPT_CLI") or shutil.which("qbopt")
    if not path:
        pytest.fail("QBOPT_CLI is not set and qbopt is not on PATH")
    return path

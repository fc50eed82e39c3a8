#!/usr/bin/env bash
# `pip install` into a fresh venv, offline, as README documents: builds qbopt._core with CMake
# through setup.py, installs the package, imports it from elsewhere and runs a tiny simulation.
# Works on a copy of the sources so the tree under test gets no build-pip/ or egg-info.
# Usage: test_pip_install.sh SOURCE_DIR EXPECTED_VERSION
set -euo pipefail
src=$1
version=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/qbopt-pip.XXXXXX")
trap 'rm -rf "$dir"' EXIT
mkdir "$dir/src" "$dir/run"
tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=./out --exclude='*.egg-info' \
    --exclude=__pycache__ -cf - . | tar -C "$dir/src" -xf -
/usr/bin/python3 -m venv --system-site-packages "$dir/venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
unset PYTHONPATH
"$dir/venv/bin/pip" install --no-build-isolation --no-index --no-cache-dir -q "$dir/src"
cd "$dir/run"
"$dir/venv/bin/python" - "$version" "$dir/venv" <<'PY'
import sys
import qbopt
version, venv = sys.argv[1], sys.argv[2]
assert qbopt.__version__ == version, (qbopt.__version__, version)
assert qbopt.__file__.startswith(venv), qbopt.__file__  # the installed copy, not a build tree
assert qbopt._core.__file__.startswith(venv), qbopt._core.__file__
e = qbopt.simulate([(0.39, 0.168, 100)], nc=40)["final"]["energy"]
assert 0.0 < e < 40.0, e
print(f"PASS: qbopt {qbopt.__version__} installed by pip, E(100 collisions) = {e:.6f}")
PY

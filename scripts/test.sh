#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test (C++ with GoogleTest,
# the CLI, and the Python package with pytest), all through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build=${QBOPT_BUILD_DIR:-build}
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"

#!/usr/bin/env bash
# The main job: installs what is missing, builds, installs qbopt (CLI, library, Python package
# for /usr/bin/python3), and reproduces the seed paper into out/paper (report.md, figures,
# results.json). Extra arguments go to `qbopt reproduce` (e.g. --quick).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build=${QBOPT_BUILD_DIR:-build}
cmake --install "$build" >/dev/null
"$build"/qbopt reproduce --out out/paper "$@"

#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the paper's Sec. 3.1 lambda = 10
# optimum for 10^5 collisions, printing E, W, P at log-spaced k.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
build=${QBOPT_BUILD_DIR:-build}
mkdir -p out
"$build"/qbopt simulate --nc 150 --batch 0.390,0.168,100000 --samples 20 --out out/lambda10.json

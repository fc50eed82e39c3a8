#!/usr/bin/env bash
# Runs every benchmark side by side with its peers and prints the tables recorded in README.
# Usage: bench/run.sh [build-dir]   (after scripts/build.sh; takes about 3 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
py=/usr/bin/python3
echo "## Collision (Google Benchmark) vs NumPy peers"
$py bench/peers_collision.py --build "$build"
echo "## One collision on 1 and 2 threads (the split forced; by default it is timed at first use)"
"$build"/bench/qbopt_bench --benchmark_filter=BM_CollisionThreads --benchmark_min_time=0.3
echo "## Loss vs loss + exact gradient, side by side (N = 150, n = 1000 and 4000)"
"$build"/bench/qbopt_bench_gradient --benchmark_filter=BM_GradientRatio --benchmark_min_time=2
echo "## Loss + gradient: checkpoint strides, lossy model"
"$build"/bench/qbopt_bench_gradient --benchmark_filter='Every|Lossy' --benchmark_min_time=0.5
echo "## Optimization: the paper's table, SciPy L-BFGS-B with finite differences vs qbopt"
$py bench/peers_optimize.py --build "$build" --table
echo "## Wigner function vs qutip.wigner"
PYTHONPATH="$build/python" $py bench/peers_wigner.py

#!/usr/bin/env bash
# Sweep throughput: the 100 tasks of bench/sweep-100.toml on one core (taskset -c 0, one
# thread) against 2 threads, and (when mpirun exists and qbopt was built with MPI) 1 rank on one
# core against 2 ranks; then optimize --starts 8 the same way.
# Usage: bench/sweep_throughput.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
qbopt=${1:-build}/qbopt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wall() {  # wall seconds of a command
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
speedup() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
one=(taskset -c 0)  # the baseline: one core, so no task gets a second one either
t1=$(wall "${one[@]}" "$qbopt" sweep bench/sweep-100.toml --out "$tmp/a.jsonl" --threads 1)
t2=$(wall "$qbopt" sweep bench/sweep-100.toml --out "$tmp/b.jsonl" --threads 2)
printf 'sweep, 100 tasks: 1 core %.2f s, 2 threads %.2f s: %sx\n' "$t1" "$t2" "$(speedup "$t1" "$t2")"
if command -v mpirun >/dev/null && "$qbopt" sweep --help | grep -q threads; then
  mpi=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
  r1=$(wall "${one[@]}" "${mpi[@]}" -np 1 "$qbopt" sweep bench/sweep-100.toml --out "$tmp/c.jsonl" --threads 1)
  r2=$(wall "${mpi[@]}" -np 2 "$qbopt" sweep bench/sweep-100.toml --out "$tmp/d.jsonl" --threads 1)
  printf 'sweep, 100 tasks: 1 rank on 1 core %.2f s, 2 ranks %.2f s: %sx (mpirun start-up included)\n' \
    "$r1" "$r2" "$(speedup "$r1" "$r2")"
fi
opt=(optimize examples/paper-3.1-lambda10.toml --starts 8 --max-iterations 20)
o1=$(wall "${one[@]}" "$qbopt" "${opt[@]}" --threads 1)
o2=$(wall "$qbopt" "${opt[@]}" --threads 2)
printf 'optimize --starts 8: 1 core %.2f s, 2 threads %.2f s: %sx\n' "$o1" "$o2" "$(speedup "$o1" "$o2")"

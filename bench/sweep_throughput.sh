#!/usr/bin/env bash
# Sweep throughput: the 100 tasks of bench/sweep-100.toml on one core (one thread) against 2
# threads, and (when mpirun exists and qbopt was built with MPI) 1 rank on one core against 2
# ranks; then optimize --starts 8 the same way. The one-core baseline runs on vCPU 0 and on
# vCPU 1 in turn and the speed-up is against their mean: on a VM whose vCPUs differ in speed
# from hour to hour, a baseline on one of them measured that vCPU, not the parallel run.
# Usage: bench/sweep_throughput.sh [build-dir]
set -euo pipefail
shopt -s inherit_errexit  # a failing run inside $(...) stops the script
cd "$(dirname "$0")/.."
qbopt=${1:-build}/qbopt
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
wall() {  # wall seconds of a command
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >"${WALL_OUT:-/dev/null}"  # the command's output, kept where WALL_OUT says
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
# "a b c": the mean of the one-core times a, b against the parallel time c.
speedup() { awk -v a="$1" -v b="$2" -v c="$3" 'BEGIN { printf "%.2f", (a + b) / 2 / c }'; }
# Wall seconds of the command (its output file is removed first) on vCPU $1 alone.
on_cpu() {
  local cpu=$1 out=$2
  shift 2
  [[ $out == "$tmp"/* ]] || { echo "on_cpu: $out is outside $tmp" >&2; exit 1; }
  rm -f "$out"
  wall taskset -c "$cpu" "$@"
}
sweep=(sweep bench/sweep-100.toml --out "$tmp/a.jsonl")
a0=$(on_cpu 0 "$tmp/a.jsonl" "$qbopt" "${sweep[@]}" --threads 1)
a1=$(on_cpu 1 "$tmp/a.jsonl" "$qbopt" "${sweep[@]}" --threads 1)
rm -f "$tmp/a.jsonl"
t2=$(wall "$qbopt" "${sweep[@]}" --threads 2)
printf 'sweep, 100 tasks: 1 core %.2f s (vCPU 0) / %.2f s (vCPU 1), 2 threads %.2f s: %sx\n' \
  "$a0" "$a1" "$t2" "$(speedup "$a0" "$a1" "$t2")"
if command -v mpirun >/dev/null && "$qbopt" sweep --help | grep -q threads; then
  mpi=(mpirun --allow-run-as-root --oversubscribe --bind-to none)
  msweep=(sweep bench/sweep-100.toml --out "$tmp/c.jsonl" --threads 1)
  # The sweep's own time ("N of M tasks run in T s", from the first task handed
  # out to the last line written) leaves out mpirun's start-up and MPI_Init/Finalize, about
  # 0.5 s here whatever the sweep's size: throughput, against the wall time of the command.
  # The summary line is on standard output, kept in $tmp/summary (WALL_OUT).
  own() {
    local t
    t=$(sed -n 's/.*tasks run in \([0-9.]*\) s.*/\1/p' "$tmp/summary")
    [ -n "$t" ] || { echo "no summary line from the sweep" >&2; exit 1; }
    echo "$t"
  }
  WALL_OUT="$tmp/summary"
  r0=$(on_cpu 0 "$tmp/c.jsonl" "${mpi[@]}" -np 1 "$qbopt" "${msweep[@]}")
  s0=$(own)
  r1=$(on_cpu 1 "$tmp/c.jsonl" "${mpi[@]}" -np 1 "$qbopt" "${msweep[@]}")
  s1=$(own)
  rm -f "$tmp/c.jsonl"
  r2=$(wall "${mpi[@]}" -np 2 "$qbopt" "${msweep[@]}")
  s2=$(own)
  unset WALL_OUT
  printf 'sweep, 100 tasks: 1 rank on 1 core %.2f s (vCPU 0) / %.2f s (vCPU 1), 2 ranks %.2f s: %sx (mpirun start-up included)\n' \
    "$r0" "$r1" "$r2" "$(speedup "$r0" "$r1" "$r2")"
  printf 'sweep, 100 tasks, the sweep'"'"'s own time: 1 rank %.2f s / %.2f s, 2 ranks %.2f s: %sx\n' \
    "$s0" "$s1" "$s2" "$(speedup "$s0" "$s1" "$s2")"
fi
opt=(optimize examples/paper-3.1-lambda10.toml --starts 8 --max-iterations 20)
o0=$(on_cpu 0 "$tmp/none" "$qbopt" "${opt[@]}" --threads 1)
o1=$(on_cpu 1 "$tmp/none" "$qbopt" "${opt[@]}" --threads 1)
o2=$(wall "$qbopt" "${opt[@]}" --threads 2)
printf 'optimize --starts 8: 1 core %.2f s (vCPU 0) / %.2f s (vCPU 1), 2 threads %.2f s: %sx\n' \
  "$o0" "$o1" "$o2" "$(speedup "$o0" "$o1" "$o2")"

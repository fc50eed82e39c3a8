"""Checks sweep results: every task 0..n-1 exactly once, and (given two files) the same lines
up to the timings.  Usage: sweep_compare.py A.jsonl [B.jsonl] --tasks N"""
import argparse
import json
import sys

TIMING = {"seconds"}  # wall-clock fields differ from run to run


def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if k not in TIMING}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x


def load(path, n):
    with open(path) as f:
        text = f.read()
    assert text.endswith("\n"), f"{path}: partial last line"
    lines = [strip(json.loads(l)) for l in text.splitlines()]
    tasks = sorted(d["task"] for d in lines)
    assert tasks == list(range(n)), f"{path}: tasks {tasks}"
    assert all("result" in d and "error" not in d for d in lines), f"{path}: a task failed"
    return sorted(lines, key=lambda d: d["task"])


ap = argparse.ArgumentParser()
ap.add_argument("files", nargs="+")
ap.add_argument("--tasks", type=int, required=True)
a = ap.parse_args()
sets = [load(f, a.tasks) for f in a.files]
for other, path in zip(sets[1:], a.files[1:]):
    for x, y in zip(sets[0], other):
        if x != y:
            sys.exit(f"task {x['task']} differs between {a.files[0]} and {path}")
print(f"{a.tasks} tasks, each exactly once" + (", identical" if len(sets) > 1 else ""))

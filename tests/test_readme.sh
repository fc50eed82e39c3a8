#!/usr/bin/env bash
# Docs that run: every `build/qbopt ...` command and every Python block of README.md is
# executed (in a scratch directory, with the qbopt under test), so the worked example cannot rot.
set -euo pipefail
qbopt=$1
readme=$2
pythonpath=$3
dir=$(mktemp -d "${TMPDIR:-/tmp}/qbopt-readme.XXXXXX")
trap 'rm -rf "$dir"' EXIT
cp -r "$(dirname "$readme")/examples" "$dir/"
cd "$dir"
count=0
while IFS= read -r line; do
  cmd=${line/#build\/qbopt/$qbopt}
  echo "+ ${line}"
  eval "$cmd" >/dev/null
  count=$((count + 1))
done < <(grep -E '^build/qbopt ' "$readme")
[ "$count" -ge 5 ] || { echo "FAIL: only $count README commands found" >&2; exit 1; }
# Python blocks: the lines between ```python and ```.
awk '/^```python$/{on=1; next} /^```$/{on=0} on' "$readme" >readme_example.py
[ -s readme_example.py ] || { echo "FAIL: no Python block in README" >&2; exit 1; }
PYTHONPATH=$pythonpath /usr/bin/python3 readme_example.py
echo "PASS: $count README commands and the Python example ran"

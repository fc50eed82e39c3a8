#!/usr/bin/env bash
# CLI tests of `qbopt`, one case per ctest test:  test_cli.sh QBOPT CASE
# Every case runs in a fresh scratch directory, removed on exit; bad-input cases check that
# it is still empty afterwards (no output file, no temporary file).
set -uo pipefail

qbopt=$1
case_name=$2
python=/usr/bin/python3  # the Debian interpreter (json is in the standard library)

dir=$(mktemp -d "${TMPDIR:-/tmp}/qbopt-cli-test.XXXXXX")   # where outputs go
logs=$(mktemp -d "${TMPDIR:-/tmp}/qbopt-cli-log.XXXXXX")   # captured stdout/stderr
trap 'rm -rf "$dir" "$logs"' EXIT
cd "$dir" || exit 1

fail() {
  echo "FAIL [$case_name]: $*" >&2
  for f in stdout stderr; do
    [ -f "$logs/$f" ] && { echo "--- $f:" >&2; cat "$logs/$f" >&2; }
  done
  exit 1
}

# run ARGS...: runs qbopt, exit code in $rc.
run() {
  "$qbopt" "$@" >"$logs/stdout" 2>"$logs/stderr"
  rc=$?
}

# bad EXPECTED ARGS...: `qbopt simulate ARGS` must exit 2 with exactly one stderr line that
# contains EXPECTED (the offending value), and leave nothing behind.
bad() {
  local expected=$1
  shift
  run "${cmd:-simulate}" "$@"
  [ "$rc" -eq 2 ] || fail "exit code $rc, expected 2"
  local lines
  lines=$(wc -l <"$logs/stderr")
  [ "$lines" -eq 1 ] || fail "stderr has $lines lines, expected exactly 1"
  grep -qF -- "$expected" "$logs/stderr" || fail "stderr does not name the offending value '$expected'"
  echo "stderr: $(cat "$logs/stderr")"
  local left
  left=$(ls -A "$dir")
  [ -z "$left" ] || fail "files left behind: $left"
  echo "PASS [$case_name]"
  exit 0
}

out=$dir/out.json  # output path of the bad-input runs: must not appear
ok_batch=(--batch 0.3,0.1,10)

case $case_name in
  help)
    run --help
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    grep -q "simulate" "$logs/stdout" || fail "--help does not list the simulate command"
    ;;
  version)
    run --version
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    grep -Eq '^qbopt [0-9]+\.[0-9]+\.[0-9]+' "$logs/stdout" || fail "unexpected --version output"
    ;;
  bad_c_above_one) bad "1.5" --batch 1.5,0.1,10 --out "$out" ;;
  bad_q_negative) bad "-0.1" --batch 0.3,-0.1,10 --out "$out" ;;
  bad_c_not_number) bad "abc" --batch abc,0.1,10 --out "$out" ;;
  bad_count_zero) bad "'0'" --batch 0.3,0.1,0 --out "$out" ;;
  bad_count_fraction) bad "2.5" --batch 0.3,0.1,2.5 --out "$out" ;;
  bad_nc_one) bad "--nc" --nc 1 "${ok_batch[@]}" --out "$out" ;;
  bad_g_nan) bad "nan" --g nan "${ok_batch[@]}" --out "$out" ;;
  bad_g_inf) bad "inf" --g inf "${ok_batch[@]}" --out "$out" ;;
  bad_batch_two_fields) bad "0.3,0.1" --batch 0.3,0.1 --out "$out" ;;
  bad_batch_semicolons) bad "0.3;0.1;10" --batch "0.3;0.1;10" --out "$out" ;;
  bad_batch_fourth) bad "maybe" --batch 0.3,0.1,10,maybe --out "$out" ;;
  bad_out_unwritable)
    [ -e /nonexistent-dir ] && fail "/nonexistent-dir exists on this machine"
    bad "/nonexistent-dir/x.json" "${ok_batch[@]}" --out /nonexistent-dir/x.json
    ;;
  bad_out_extension) bad "x.txt" "${ok_batch[@]}" --out "$dir/x.txt" ;;
  # loss / optimize / state: the same contract.
  loss_negative_lambda) cmd=loss bad "-1" "${ok_batch[@]}" --lambda -1 --out "$out" ;;
  loss_eta_zero) cmd=loss bad "eta" "${ok_batch[@]}" --eta 0 --out "$out" ;;
  loss_eta_above_one) cmd=loss bad "1.5" "${ok_batch[@]}" --eta 1.5 --out "$out" ;;
  loss_unknown_name) cmd=loss bad "nope" "${ok_batch[@]}" --loss nope --out "$out" ;;
  loss_unknown_spectral) cmd=loss bad "eq11-spectra" "${ok_batch[@]}" --loss eq11-spectra --out "$out" ;;
  optimize_malformed_toml)
    printf 'lambda = [1,\n' >"$logs/bad.toml"
    cmd=optimize bad "bad.toml" "$logs/bad.toml" --out "$out"
    ;;
  optimize_unknown_key)
    printf 'lamda = 1\n' >"$logs/bad.toml"
    cmd=optimize bad "lamda" "$logs/bad.toml" --out "$out"
    ;;
  optimize_starts_zero) cmd=optimize bad "starts" "${ok_batch[@]}" --starts 0 --out "$out" ;;
  state_bad_wigner) cmd=state bad "--wigner" "${ok_batch[@]}" --wigner 3,-3,10 --out "$out" ;;
  # Regression tests from the review: each of these used to crash, hang or exit 1.
  optimize_huge_lambda) cmd=optimize bad "1e+307" "${ok_batch[@]}" --lambda 1e307 --out "$out" ;;
  bad_count_huge) bad "1e12" --batch 0.3,0.1,1e12 --out "$out" ;;
  bad_nc_huge) bad "2147483647" --nc 2147483647 "${ok_batch[@]}" --out "$out" ;;
  bad_c_hex) bad "0x1" --batch 0x1,0.1,10 --out "$out" ;;
  bad_out_directory)
    mkdir "$logs/d.json"
    bad "d.json" "${ok_batch[@]}" --out "$logs/d.json"
    ;;
  optimize_batch_table_unknown_key)
    printf '[[batch]]\nc = 0.3\nq = 0.1\ncount = 20\nfxied = true\n' >"$logs/bad.toml"
    cmd=optimize bad "fxied" "$logs/bad.toml" --out "$out"
    ;;
  optimize_negative_seed) cmd=optimize bad "-1" "${ok_batch[@]}" --seed -1 --out "$out" ;;
  reproduce_bad_collisions) cmd=reproduce bad "--collisions" --collisions 0 --out "$dir/r" ;;
  model_unknown) cmd=loss bad "nope" --model nope "${ok_batch[@]}" --out "$out" ;;
  model_unknown_param) cmd=loss bad "kapa" --model lossy --param kapa=0.1 "${ok_batch[@]}" --out "$out" ;;
  model_param_out_of_bounds) cmd=loss bad "-0.1" --model lossy --param kappa_tau=-0.1 "${ok_batch[@]}" --out "$out" ;;
  model_param_word) cmd=loss bad "fast" --model lossy --param kappa_tau=fast "${ok_batch[@]}" --out "$out" ;;
  model_param_bad_choice) cmd=optimize bad "sometimes" --model lossy --param arrivals=sometimes "${ok_batch[@]}" --out "$out" ;;
  model_param_no_equals) cmd=state bad "kappa_tau" --model lossy --param kappa_tau "${ok_batch[@]}" --out "$out" ;;
  batch_keyword_unknown_field) bad "h" --batch c=0.3,q=0.1,count=10,h=0.5 --out "$out" ;;
  batch_keyword_missing_count) bad "count=" --batch c=0.3,q=0.1 --out "$out" ;;
  batch_keyword_bad_g) bad "abc" --batch c=0.3,q=0.1,count=10,g=abc --out "$out" ;;
  optimize_free_g_word) cmd=optimize bad "sideways" "${ok_batch[@]}" --free-g sideways --out "$out" ;;
  model_toml_unknown_param)
    printf 'nc = 30\nbatch = ["0.3,0.1,10"]\n[model]\nname = "lossy"\nkapa_tau = 0.1\n' >"$logs/bad.toml"
    cmd=loss bad "kapa_tau" "$logs/bad.toml" --out "$out"
    ;;
  lossy_loss_json)
    # [model] table in TOML, --param on the command line overriding it, keyword batches with
    # an own g: the gradient rows and model_gradient of the issue's layout.
    printf 'nc = 40\n[model]\nname = "lossy"\nkappa_tau = 0.5\nn_th = 0.1\narrivals = "poisson"\n' >cfg.toml
    run loss cfg.toml --param kappa_tau=0.01 --batch c=0.3,q=0.15,count=20,g=0.8 --batch 0.4,0.2,30 --gradient --out l.json
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    "$python" - l.json <<'EOF' || fail "lossy loss JSON check failed"
import json, math, sys
d = json.load(open(sys.argv[1]))
m = d["config"]["model"]
assert m == {"name": "lossy", "g": m["g"], "kappa_tau": 0.01, "n_th": 0.1, "arrivals": "poisson"}, m
assert d["config"]["batches"][0]["g"] == 0.8 and "g" not in d["config"]["batches"][1]
g = d["gradient"]
assert len(g[0]) == 3 and len(g[1]) == 2, g
assert set(d["model_gradient"]) == {"g", "kappa_tau", "n_th"}, d["model_gradient"]
assert all(math.isfinite(v) for v in d["model_gradient"].values())
assert math.isfinite(d["leakage"])
print("lossy loss JSON ok:", g, d["model_gradient"])
EOF
    ;;
  models)
    run models --json
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    "$python" -c 'import json,sys; m={x["name"]: x for x in json.load(sys.stdin)}; assert {"micromaser","lossy"} <= set(m); assert [p["name"] for p in m["lossy"]["parameters"]] == ["g","kappa_tau","n_th","arrivals"]' <"$logs/stdout" || fail "models --json"
    ;;
  loss_json)
    run loss --nc 40 --batch 0.3,0.15,20 --batch 0.5,0.2,30,fixed --lambda 2 --eta 0.5 --gradient --out l.json
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    "$python" - l.json <<'EOF' || fail "loss JSON check failed"
import json, math, sys
d = json.load(open(sys.argv[1]))
assert set(d) >= {"config", "loss", "ergotropy", "penalty", "gradient"}, sorted(d)
g = d["gradient"]
assert len(g) == 2 and all(len(x) == 2 and all(math.isfinite(v) and v != 0 for v in x) for x in g), g
assert d["config"]["lambda"] == 2 and d["config"]["eta"] == 0.5
print("loss JSON ok:", d["loss"], g)
EOF
    ;;
  loss_spectral)
    # eq11-spectral: Eq. (11)'s first term plus lambda * (-ln|lambda_1|) of the last batch's map.
    # The penalty must be lambda / lifetime of `qbopt spectrum` for that qubit, and the gradient
    # must differ from eq11's (lambda = 0) in the last batch's row only.
    run loss --loss eq11-spectral --lambda 1e4 --nc 50 --batch 0.3,0.15,20 --batch 0.2,0.4,30 --gradient --out s.json
    [ "$rc" -eq 0 ] || fail "eq11-spectral: exit code $rc"
    grep -q "lifetime" "$logs/stdout" || fail "no lifetime line on stdout"
    run loss --loss eq11 --lambda 0 --nc 50 --batch 0.3,0.15,20 --batch 0.2,0.4,30 --gradient --out e.json
    [ "$rc" -eq 0 ] || fail "eq11: exit code $rc"
    run spectrum --qubit 0.2,0.4 --nc 50 --out sp.json
    [ "$rc" -eq 0 ] || fail "spectrum: exit code $rc"
    "$python" - s.json e.json sp.json <<'EOF' || fail "spectral loss JSON check failed"
import json, math, sys
s, e, sp = (json.load(open(f)) for f in sys.argv[1:4])
assert s["config"]["loss"] == "eq11-spectral" and s["config"]["lambda"] == 1e4, s["config"]
pen = 1e4 / sp["lifetime"]
err = abs(s["penalty"] - pen) / pen
print(f"penalty {s['penalty']:.10g} vs lambda / lifetime {pen:.10g}: relative {err:.2e}")
assert err < 1e-8, err
err = abs(s["loss"] - (e["loss"] + pen)) / abs(s["loss"])
print(f"loss = eq11(lambda 0) + penalty: relative {err:.2e}")
assert err < 1e-8, err
assert abs(s["spectral"]["decay_rate"] * sp["lifetime"] - 1) < 1e-8, s["spectral"]
g, g0 = s["gradient"], e["gradient"]
first = max(abs(a - b) for a, b in zip(g[0], g0[0]))
last = max(abs(a - b) for a, b in zip(g[1], g0[1]))
print(f"gradient change: first batch {first:.2e}, last batch {last:.2e}")
assert first == 0 and last > 1e-3, (g, g0)
assert all(math.isfinite(v) for row in g for v in row), g
assert s["model_gradient"]["g"] != e["model_gradient"]["g"], (s["model_gradient"], e["model_gradient"])
EOF
    ;;
  optimize_toml_and_flags)
    printf 'nc = 40\nlambda = 5\neta = 0.5\n[[batch]]\nc = 0.0\nq = 0.0\ncount = 20\nfixed = true\n[[batch]]\nc = 0.4\nq = 0.2\ncount = 30\n' >cfg.toml
    run optimize cfg.toml --lambda 7 --max-iterations 3 --out o.json
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    "$python" - o.json <<'EOF' || fail "optimize JSON check failed"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ["config", "params", "loss", "ergotropy", "penalty", "iterations", "evaluations", "seconds", "history"]:
    assert k in d, k
c = d["config"]
assert c["lambda"] == 7, "the flag must override the file"
assert c["eta"] == 0.5 and c["nc"] == 40, c
p = d["params"]
assert p[0] == {"c": 0.0, "q": 0.0, "count": 20, "fixed": True}, p[0]
assert 0 <= p[1]["c"] <= 1 and 0 <= p[1]["q"] <= 1 and not p[1]["fixed"]
assert d["history"][-1] <= d["history"][0]
print("optimize JSON ok:", p, d["loss"])
EOF
    ;;
  json)
    run simulate --g 0.795 --nc 40 --batch 0.3,0.15,20 --batch 0.5,0.2,30 --samples 12 --out r.json
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    [ -s r.json ] || fail "no r.json"
    "$python" - r.json <<'EOF' || fail "JSON layout check failed"
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) >= {"config", "trajectory", "final"}, sorted(d)
t, f = d["trajectory"], d["final"]
keys = ["k", "energy", "ergotropy", "purity", "leakage"]
assert set(t) == set(keys), sorted(t)
n = len(t["k"])
assert all(len(t[x]) == n for x in keys), "trajectory arrays differ in length"
ks = t["k"]
assert ks[0] == 1 and ks[-1] == 50, ks
assert all(a < b for a, b in zip(ks, ks[1:])), ks
assert 2 <= n <= 12, n
assert set(f) >= set(keys) | {"populations"}, sorted(f)
assert f["k"] == 50, f["k"]
assert len(f["populations"]) == 40, len(f["populations"])
# Values are printed with 17 digits: only summation rounding of ~40 terms separates them.
ROUNDING_TOL = 1e-12
assert abs(sum(f["populations"]) + f["leakage"] - 1) < ROUNDING_TOL
assert abs(f["energy"] - t["energy"][-1]) < ROUNDING_TOL
c = d["config"]
assert c["nc"] == 40 and c["collisions"] == 50 and len(c["batches"]) == 2, c
assert c["batches"][1] == {"c": 0.5, "q": 0.2, "count": 30, "fixed": False}, c["batches"]
print("JSON ok:", n, "samples, final E =", f["energy"], "W =", f["ergotropy"])
EOF
    ;;
  csv)
    run simulate --nc 40 --batch 0.3,0.15,37 --samples 8 --out r.csv
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    [ "$(head -1 r.csv)" = "k,energy,ergotropy,purity,leakage" ] || fail "CSV header: $(head -1 r.csv)"
    "$python" - r.csv <<'EOF' || fail "CSV content check failed"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))
body = rows[1:]
assert all(len(r) == 5 for r in body), body
ks = [int(r[0]) for r in body]
assert ks[0] == 1 and ks[-1] == 37 and all(a < b for a, b in zip(ks, ks[1:])), ks
assert len(ks) <= 8, ks
[float(x) for r in body for x in r[1:]]
print("CSV ok:", len(body), "rows")
EOF
    ;;
  strict)
    # N = 5 with 200 coherent collisions: the truncation leaks.
    run simulate --nc 5 --batch 0.5,0.2,200 --samples 5
    [ "$rc" -eq 0 ] || fail "without --strict: exit code $rc, expected 0"
    grep -qi "warning" "$logs/stderr" || fail "no warning on stderr"
    grep -qF -- "--nc" "$logs/stderr" || fail "the warning does not mention --nc"
    echo "warning: $(cat "$logs/stderr")"
    run simulate --nc 5 --batch 0.5,0.2,200 --samples 5 --strict
    [ "$rc" -eq 3 ] || fail "with --strict: exit code $rc, expected 3"
    # and no warning when N is large enough
    run simulate --nc 60 --batch 0.5,0.2,20 --samples 5 --strict
    [ "$rc" -eq 0 ] || fail "leak-free run with --strict: exit code $rc"
    [ ! -s "$logs/stderr" ] || fail "leak-free run wrote to stderr"
    ;;
  *)
    fail "unknown case"
    ;;
esac
echo "PASS [$case_name]"

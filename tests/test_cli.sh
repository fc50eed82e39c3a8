#!/usr/bin/env bash
# CLI tests of `qbopt`, one case per ctest test:  test_cli.sh QBOPT CASE
# Every case runs in a fresh scratch directory, removed on exit; bad-input cases check that
# it is still empty afterwards (no output file, no temporary file).
set -uo pipefail

qbopt=$1
case_name=$2
examples=${QBOPT_EXAMPLES:-$(dirname "$0")/../examples}  # the sweep cases run examples/sweep-small.toml
examples=$(cd "$examples" && pwd)
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
  state_bad_wigner) cmd=state bad "--wigner '3,-3,10'" "${ok_batch[@]}" --wigner 3,-3,10 --out "$out" ;;
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
  spectrum_bad_qubit) cmd=spectrum bad "1.5" --qubit 1.5,0.1 --nc 20 --out "$out" ;;
  spectrum_qubit_word) cmd=spectrum bad "abc" --qubit abc,0.1 --nc 20 --out "$out" ;;
  spectrum_count_zero) cmd=spectrum bad "--count" --qubit 0.3,0.1 --nc 20 --count 0 --out "$out" ;;
  spectrum_json)
    # The layout of the issue, on a fine-tuned coupling with known steady states: g = pi/2 on
    # N = 20 traps at n = 4 and 16: one steady state per closed chamber (0..3 and 4..15; the
    # third, 16..19, leaks through the truncation and is not stationary).
    run spectrum --g 1.5707963267948966 --nc 20 --qubit c=0.5,q=0.2 --count 6 --out s.json
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    "$python" - s.json <<'EOF' || fail "spectrum JSON check failed"
import json, math, sys
d = json.load(open(sys.argv[1]))
assert set(d) >= {"config", "eigenvalues", "lifetime", "steady_states", "matvecs", "converged"}, sorted(d)
ev = [complex(a, b) for a, b in d["eigenvalues"]]
assert len(ev) == 6 and all(abs(ev[i]) >= abs(ev[i + 1]) - 1e-12 for i in range(5)), ev
ss = d["steady_states"]
assert len(ss) == 2, len(ss)
lo, hi = sorted(ss, key=lambda s: s["energy"])
assert sum(lo["populations"][:4]) > 1 - 1e-9 and sum(hi["populations"][4:16]) > 1 - 1e-9, ss
for s in ss:
    assert abs(sum(s["populations"]) - 1) < 1e-9 and abs(s["eigenvalue"][0] - 1) < 1e-9
assert d["config"]["model"]["name"] == "micromaser" and d["config"]["qubit"] == {"c": 0.5, "q": 0.2}
assert d["converged"] is True
print("spectrum JSON ok:", [round(abs(e), 6) for e in ev], d["lifetime"])
EOF
    ;;
  initial_missing_rho)
    echo '{"populations": [1, 0]}' >"$logs/s.json"
    bad "rho" --nc 20 "${ok_batch[@]}" --initial "$logs/s.json" --out "$out"
    ;;
  initial_too_many_levels)
    run state --nc 30 --batch 0.3,0.1,20 --out "$logs/s.json"
    [ "$rc" -eq 0 ] || fail "state exit code $rc"
    bad "nc = 20" --nc 20 "${ok_batch[@]}" --initial "$logs/s.json" --out "$out"
    ;;
  initial_leaky)
    # A state that leaked 1.5e-6 out of N = 60 (more than the 1e-6 of the warning) is refused.
    run state --nc 60 --batch 0.39,0.168,300 --out "$logs/s.json"
    [ "$rc" -eq 1 ] || [ "$rc" -eq 0 ] || fail "state exit code $rc"
    bad "Tr rho = 0.99999" --nc 80 "${ok_batch[@]}" --initial "$logs/s.json" --out "$out"
    ;;
  initial_continuation)
    # 300 collisions, saved by `qbopt state`, then 300 more with --initial: the same state as
    # one run of 600 (the same arithmetic, up to the 17 digits of the JSON round trip). N = 80:
    # at N = 60 the saved state leaks 1.5e-6, and --initial refuses a trace below 1 - 1e-6.
    run state --nc 80 --batch 0.39,0.168,300 --out s.json
    [ "$rc" -eq 0 ] || fail "state exit code $rc"
    run simulate --nc 80 --batch 0.39,0.168,300 --initial s.json --samples 3 --out a.json
    [ "$rc" -eq 0 ] || fail "continued simulate exit code $rc"
    run simulate --nc 80 --batch 0.39,0.168,600 --samples 3 --out b.json
    [ "$rc" -eq 0 ] || fail "simulate exit code $rc"
    run loss --nc 80 --batch 0.39,0.168,300 --initial s.json --lambda 10 --eta 0.5 --gradient --out l.json
    [ "$rc" -eq 0 ] || fail "continued loss exit code $rc"
    "$python" - a.json b.json l.json <<'EOF' || fail "continuation check failed"
import json, sys
a, b, l = (json.load(open(p)) for p in sys.argv[1:4])
assert a["config"]["initial"] == "s.json"
fa, fb = a["final"], b["final"]
for key in ("energy", "ergotropy", "purity"):
    assert abs(fa[key] - fb[key]) < 1e-12, (key, fa[key], fb[key])
assert max(abs(x - y) for x, y in zip(fa["populations"], fb["populations"])) < 1e-14
assert abs(l["energy"] - fb["energy"]) < 1e-12 and abs(l["ergotropy"] - fb["ergotropy"]) < 1e-12
print("continuation ok:", fa["energy"], fb["energy"], l["loss"])
EOF
    ;;
  models)
    run models --json
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    "$python" -c 'import json,sys; m={x["name"]: x for x in json.load(sys.stdin)}; assert {"micromaser","lossy"} <= set(m); assert [p["name"] for p in m["lossy"]["parameters"]] == ["g","kappa_tau","n_th","arrivals"]' <"$logs/stdout" || fail "models --json"
    ;;
  # Empty values are bad input, not 0 (CLI11 reads "" as 0 without the shared validator).
  empty_g) bad "--g: ''" --g "" "${ok_batch[@]}" --out "$out" ;;
  empty_lambda) cmd=loss bad "--lambda: ''" "${ok_batch[@]}" --lambda "" --out "$out" ;;
  empty_nc) bad "--nc: ''" --nc "" "${ok_batch[@]}" --out "$out" ;;
  reproduce_empty_sigma) cmd=reproduce bad "--sigma: ''" --sigma "" --out "$dir/r" ;;
  empty_param) bad "--param 'kappa_tau=': missing value after '='" --model lossy --param kappa_tau= "${ok_batch[@]}" --out "$out" ;;
  toml_empty_g)
    printf 'g = ""\nbatch = ["0.3,0.1,10"]\n' >"$logs/e.toml"
    bad "key 'g'" "$logs/e.toml" --out "$out"
    ;;
  g_underflow) bad "'1e-400' is out of the range of double" --g 1e-400 "${ok_batch[@]}" --out "$out" ;;
  seed_2_64) cmd=optimize bad "'18446744073709551616' is out of the range" --seed 18446744073709551616 "${ok_batch[@]}" --out "$out" ;;
  # Config paths: a regular readable file only.
  config_directory) cmd=loss bad "config '$logs' is not a regular file" "$logs" "${ok_batch[@]}" --out "$out" ;;
  config_dev_zero) cmd=loss bad "config '/dev/zero' is not a regular file" /dev/zero "${ok_batch[@]}" --out "$out" ;;
  config_dev_urandom) cmd=optimize bad "config '/dev/urandom' is not a regular file" /dev/urandom "${ok_batch[@]}" --out "$out" ;;
  config_missing) bad "config '$logs/none.toml' does not exist" "$logs/none.toml" --out "$out" ;;
  # Debian's toml++ 3.3.0 reaches undefined behaviour (__builtin_unreachable) on non-ASCII text
  # outside strings and comments, e.g. a 29-byte file starting with U+FE7F (EF B9 BF): such
  # text is refused before the parser sees it (cli/config.cpp), also by the sanitize preset.
  toml_fe7f_optimize)
    printf '\xef\xb9\xbfbatch = ["0.30, 0.1, 10"]\n' >"$logs/fe7f.toml"
    [ "$(wc -c <"$logs/fe7f.toml")" -eq 29 ] || fail "the regression file must be 29 bytes"
    cmd=optimize bad "config '$logs/fe7f.toml' is not valid TOML: a non-ASCII character outside a string or comment (line 1)" "$logs/fe7f.toml" --out "$out"
    ;;
  toml_fe7f_simulate)
    printf '\xef\xb9\xbfbatch = ["0.30, 0.1, 10"]\n' >"$logs/fe7f.toml"
    bad "is not valid TOML: a non-ASCII character outside a string or comment (line 1)" "$logs/fe7f.toml" --out "$out"
    ;;
  toml_non_ascii_key)
    printf 'nc = 30\n\xc3\xa9 = 1\n' >"$logs/e.toml"
    bad "non-ASCII character outside a string or comment (line 2)" "$logs/e.toml" --out "$out"
    ;;
  sweep_non_ascii)
    printf 'command = "loss"\nbatch = ["0.3,0.1,10"]\n[sweep]\nlambda = [1, 2]\xe3\x81\x82\n' >"$logs/bad.toml"
    cmd=sweep bad "sweep '$logs/bad.toml' is not valid TOML: a non-ASCII character outside a string or comment (line 4)" "$logs/bad.toml" --out "$dir/r.jsonl"
    ;;
  # Flags in TOML take booleans only.
  toml_flag_number)
    printf 'strict = 5\nbatch = ["0.3,0.1,10"]\n' >"$logs/f.toml"
    cmd=loss bad "key 'strict' must be true or false" "$logs/f.toml" --out "$out"
    ;;
  toml_free_g_number)
    printf 'free_g = 5\nbatch = ["0.3,0.1,10"]\n' >"$logs/f.toml"
    cmd=optimize bad "'5'" "$logs/f.toml" --out "$out"
    ;;
  # Echoed user text: control characters escaped, long values cut, still one line.
  error_control_chars) bad '\x01' --batch $'0.3\x01,0.1,10' --out "$out" ;;
  error_long_value)
    long=$(printf 'x%.0s' $(seq 5000))
    bad "..." --batch "$long,0.1,10" --out "$out"
    ;;
  unknown_flag_suggestion) bad "did you mean --batch?" --bach 0.3,0.1,10 --out "$out" ;;
  help_defaults)
    for sub in simulate loss optimize state; do
      run "$sub" --help
      [ "$rc" -eq 0 ] || fail "$sub --help: exit code $rc"
      grep -qF -- "--nc INT=150" "$logs/stdout" || fail "$sub --help lacks the default of --nc"
      grep -qF -- "--model TEXT=micromaser" "$logs/stdout" || fail "$sub --help lacks the default of --model"
      grep -qF -- ".json" "$logs/stdout" || fail "$sub --help lacks the --out rule"
    done
    run simulate --help
    grep -qF -- ".csv" "$logs/stdout" || fail "simulate --help does not say --out may be .csv"
    run loss --help
    grep -qF -- "--lambda FLOAT=1" "$logs/stdout" || fail "loss --help lacks the default of --lambda"
    grep -qF -- "--eta FLOAT=0.2" "$logs/stdout" || fail "loss --help lacks the default of --eta"
    run optimize --help
    grep -qF -- "--seed UINT=1" "$logs/stdout" || fail "optimize --help lacks the default of --seed"
    grep -qF -- "(rad)" "$logs/stdout" || fail "optimize --help lacks the unit of --g-range"
    ;;
  batch_fixed_with_space)
    run simulate --nc 30 --batch "0.4,0.17,10 , fixed" --out s.json
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    "$python" -c 'import json; b=json.load(open("s.json"))["config"]["batches"][0]; assert b["fixed"] is True, b' || fail "the batch is not fixed"
    ;;
  simulate_and_state_config)
    printf 'nc = 30\nbatch = ["0.3,0.1,10"]\n' >cfg.toml
    run simulate cfg.toml --out s.json
    [ "$rc" -eq 0 ] || fail "simulate: exit code $rc"
    run state cfg.toml --nc 35 --out st.json
    [ "$rc" -eq 0 ] || fail "state: exit code $rc"
    "$python" - <<'EOF' || fail "config not applied"
import json
s, t = json.load(open("s.json")), json.load(open("st.json"))
assert s["config"]["nc"] == 30 and s["config"]["collisions"] == 10, s["config"]
assert t["config"]["nc"] == 35 and len(t["populations"]) == 35, "the flag must override the file"
EOF
    ;;
  # Non-ASCII text where TOML allows it (comments, the four kinds of strings, a leading byte
  # order mark) still parses.
  toml_non_ascii_allowed)
    "$python" - <<'EOF'
open("cfg.toml", "w", encoding="utf-8").write(
    "\ufeff# \ufe7f \u00e9\nnc = 30 # \u3042\nbatch = [\"0.3,0.1,10\"] # \"\u00e9\n"
    "s1 = \"\u00e9\\\"\ufe7f\"\ns2 = '\u00e9'\n"
    "s3 = \"\"\"\n\u00e9\\\"\"\"\ufe7f\"\"\"\"\ns4 = '''\u00e9\n'''''\n")
EOF
    run simulate cfg.toml --out s.json
    # The keys s1..s4 are unknown to simulate: reaching that error means the TOML parsed.
    [ "$rc" -eq 2 ] || fail "exit code $rc, expected 2"
    grep -q "not valid TOML" "$logs/stderr" && fail "valid TOML refused"
    grep -q "s1" "$logs/stderr" || fail "the file should have parsed up to the unknown key s1"
    ;;
  # SIGINT: exit 130 within 1 s, with the status recorded (optimize) or no file (loss).
  optimize_sigint)
    "$qbopt" optimize --nc 150 --batch 0.4,0.17,3000 --starts 8 --out o.json >"$logs/stdout" 2>"$logs/stderr" &
    pid=$!
    sleep 2
    t0=$(date +%s%N)
    kill -INT "$pid"
    wait "$pid"
    rc=$?
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    echo "optimize: exit $rc ${ms} ms after SIGINT"
    [ "$rc" -eq 130 ] || fail "exit code $rc, expected 130"
    [ "$ms" -lt $((1000 * ${QBOPT_TEST_SLOWDOWN:-1})) ] || fail "took ${ms} ms to stop"
    "$python" - <<'EOF' || fail "interrupted optimize JSON check failed"
import json
d = json.load(open("o.json"))
assert d["status"] == "interrupted", d["status"]
assert len(d["starts"]) == 8, len(d["starts"])
# Starts run in parallel: one may legitimately finish before the signal. Every start records its
# initial point; those not finished say "interrupted", and those never begun say "not started".
assert all(len(s["initial"]) == 2 for s in d["starts"]), d["starts"]
assert all(s["status"] in ("converged", "max_iterations", "line_search_failed", "interrupted")
           for s in d["starts"]), d["starts"]
assert sum(s["status"] == "interrupted" for s in d["starts"]) >= 1, d["starts"]
assert all(s["status"] == "interrupted" and s["loss"] is None
           for s in d["starts"] if s["message"] == "not started"), d["starts"]
assert sum(s["message"] == "not started" for s in d["starts"]) >= 1, "8 starts cannot all begin in 2 s"
assert len({tuple(s["initial"]) for s in d["starts"]}) == 8, "initial points must differ"
EOF
    [ -z "$(ls -A | grep -v '^o.json$')" ] || fail "files left behind: $(ls -A)"
    ;;
  loss_sigint)
    for grad in --gradient ""; do
      "$qbopt" loss --nc 400 --batch 0.4,0.17,40000 $grad --out l.json >"$logs/stdout" 2>"$logs/stderr" &
      pid=$!
      sleep 1
      t0=$(date +%s%N)
      kill -INT "$pid"
      wait "$pid"
      rc=$?
      ms=$(( ($(date +%s%N) - t0) / 1000000 ))
      echo "loss $grad: exit $rc ${ms} ms after SIGINT"
      [ "$rc" -eq 130 ] || fail "loss $grad: exit code $rc, expected 130"
      [ "$ms" -lt $((1000 * ${QBOPT_TEST_SLOWDOWN:-1})) ] || fail "loss $grad: took ${ms} ms to stop"
      grep -q "interrupted" "$logs/stderr" || fail "no 'interrupted' on stderr"
      [ -z "$(ls -A)" ] || fail "files left behind: $(ls -A)"
    done
    ;;
  sigkill_leaves_nothing)
    "$qbopt" simulate --nc 400 --batch 0.4,0.17,40000 --out s.json >"$logs/stdout" 2>"$logs/stderr" &
    pid=$!
    sleep 1
    kill -KILL "$pid"
    wait "$pid"
    [ -z "$(ls -A)" ] || fail "files left behind after SIGKILL: $(ls -A)"
    ;;
  # Memory: estimated before the run, refused over --max-memory with the estimate.
  memory_gradient) cmd=loss bad "the fewest this gradient can do with" --gradient --nc 5000 --batch 0.4,0.17,1000 --max-memory 256M --out "$out" ;;
  memory_simulate) bad "of E_k for 100000000 collisions" --batch 0.4,0.17,100000000 --max-memory 256M --out "$out" ;;
  memory_wigner) cmd=state bad "4001 x 4001 Wigner grid" --nc 100 --batch 0.4,0.17,100 --wigner -5,5,4001 --max-memory 512M --out "$out" ;;
  memory_bad_size) bad "--max-memory '12x'" "${ok_batch[@]}" --max-memory 12x --out "$out" ;;
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
  # Sweeps: malformed files fail before any work, with one line naming the problem.
  sweep_bad_unknown_key)
    printf 'command = "loss"\nbatch = ["0.3,0.1,10"]\n[sweep]\nlamda = [1, 2]\n' >"$logs/bad.toml"
    cmd=sweep bad "lamda" "$logs/bad.toml" --out "$dir/r.jsonl"
    ;;
  sweep_bad_empty_list)
    printf 'command = "loss"\nbatch = ["0.3,0.1,10"]\n[sweep]\nlambda = []\n' >"$logs/bad.toml"
    cmd=sweep bad "empty" "$logs/bad.toml" --out "$dir/r.jsonl"
    ;;
  sweep_bad_value_in_one_task)
    printf 'command = "loss"\nbatch = ["0.3,0.1,10"]\n[sweep]\nnc = [20, 30]\nlambda = [1, -1]\n' >"$logs/bad.toml"
    cmd=sweep bad "task 1 (nc = 20, lambda = -1)" "$logs/bad.toml" --out "$dir/r.jsonl"
    ;;
  sweep_bad_command)
    printf 'command = "state"\nbatch = ["0.3,0.1,10"]\n' >"$logs/bad.toml"
    cmd=sweep bad "state" "$logs/bad.toml" --out "$dir/r.jsonl"
    ;;
  sweep_bad_grid_batch)
    printf 'command = "loss"\nbatch = ["0.3,0.1,10"]\n[sweep.grid]\nc = {from = 0, to = 1, points = 3}\nq = {from = 0, to = 1, points = 3}\nbatch = 2\n' >"$logs/bad.toml"
    cmd=sweep bad "batch = 2" "$logs/bad.toml" --out "$dir/r.jsonl"
    ;;
  sweep_threads)
    # 1 and 2 threads give the same set of lines (up to the timings).
    run sweep "$examples/sweep-small.toml" --out t1.jsonl --threads 1
    [ "$rc" -eq 0 ] || fail "1 thread: exit code $rc"
    run sweep "$examples/sweep-small.toml" --out t2.jsonl --threads 2
    [ "$rc" -eq 0 ] || fail "2 threads: exit code $rc"
    "$python" "$(dirname "$0")/sweep_compare.py" t1.jsonl t2.jsonl --tasks 20 || fail "the lines differ"
    ;;
  sweep_grid)
    printf 'command = "loss"\nnc = 30\nbatch = ["0.0,0.0,10,fixed", "c=0.5,q=0.2,count=10"]\n[sweep.grid]\nc = {from = 0, to = 1, points = 3}\nq = {from = 0.1, to = 0.3, points = 2}\nbatch = 2\n[sweep]\nlambda = [1, 10]\n' >g.toml
    run sweep g.toml --out g.jsonl
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    "$python" - g.jsonl <<'EOF2' || fail "grid check failed"
import json, sys
lines = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda d: d["task"])
assert [d["task"] for d in lines] == list(range(12)), [d["task"] for d in lines]
# c outermost, then q, then lambda (the last axis varies fastest).
got = [(b[1]["c"], b[1]["q"], d["result"]["config"]["lambda"])
       for d in lines for b in [d["result"]["config"]["batches"]]]
want = [(c, q, l) for c in (0, 0.5, 1) for q in (0.1, 0.3) for l in (1, 10)]
assert all(abs(a[0] - b[0]) < 1e-15 and abs(a[1] - b[1]) < 1e-15 and a[2] == b[2] for a, b in zip(got, want)), got
assert lines[0]["config"]["qbopt_version"], lines[0]["config"]
print("grid ok")
EOF2
    ;;
  sweep_spectrum)
    # A spectrum sweep over a (c, q) grid of the qubit and g: each line's result is exactly
    # the JSON `qbopt spectrum --out` writes for that qubit (same code), in task order.
    printf 'command = "spectrum"\nnc = 16\ncount = 4\nqubit = "0.3,0.2"\n[sweep.grid]\nc = {from = 0.2, to = 0.6, points = 2}\nq = {from = 0.1, to = 0.3, points = 2}\n[sweep]\n"model.g" = [1.0, 1.5]\n' >s.toml
    run sweep s.toml --out s.jsonl --threads 2
    [ "$rc" -eq 0 ] || fail "exit code $rc"
    run spectrum --nc 16 --count 4 --qubit 0.6,0.1 --g 1.5 --out one.json
    [ "$rc" -eq 0 ] || fail "spectrum: exit code $rc"
    "$python" - s.jsonl one.json <<'EOF2' || fail "spectrum sweep check failed"
import json, sys
lines = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda d: d["task"])
assert [d["task"] for d in lines] == list(range(8)), [d["task"] for d in lines]
got = [(d["result"]["config"]["qubit"]["c"], d["result"]["config"]["qubit"]["q"],
        d["result"]["config"]["g"]) for d in lines]
assert got == [(c, q, g) for c in (0.2, 0.6) for q in (0.1, 0.3) for g in (1.0, 1.5)], got
one = json.load(open(sys.argv[2]))
assert lines[5]["result"] == one, "task 5 differs from qbopt spectrum --out"
assert all(d["result"]["lifetime"] > 0 for d in lines), [d["result"]["lifetime"] for d in lines]
print("spectrum sweep ok: lifetimes", [round(d["result"]["lifetime"], 3) for d in lines])
EOF2
    ;;
  sweep_resume)
    # Killed midway (SIGKILL, plus a torn last line), then rerun: every task exactly once.
    cp "$examples/sweep-small.toml" s.toml
    "$qbopt" sweep s.toml --out r.jsonl --threads 1 >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do
      [ -f r.jsonl ] && [ "$(wc -l <r.jsonl)" -ge 3 ] && break
      sleep 0.05
    done
    kill -KILL $pid 2>/dev/null
    wait $pid 2>/dev/null
    before=$(wc -l <r.jsonl)
    printf '{"task": 19, "hash": "00' >>r.jsonl   # what a kill during a write could leave
    echo "killed after $before lines"
    run sweep s.toml --out r.jsonl
    [ "$rc" -eq 0 ] || fail "rerun: exit code $rc"
    "$python" "$(dirname "$0")/sweep_compare.py" r.jsonl --tasks 20 || fail "not every task exactly once"
    # A changed sweep file is detected: exit 2, unless --restart.
    sed -i 's/lambda = \[1, 10\]/lambda = [1, 11]/' s.toml
    run sweep s.toml --out r.jsonl
    [ "$rc" -eq 2 ] || fail "changed sweep: exit code $rc, expected 2"
    grep -q "restart" "$logs/stderr" || fail "the error does not mention --restart"
    run sweep s.toml --out r.jsonl --restart
    [ "$rc" -eq 0 ] || fail "--restart: exit code $rc"
    "$python" "$(dirname "$0")/sweep_compare.py" r.jsonl --tasks 20 || fail "--restart: not every task once"
    ;;
  sweep_interrupt)
    # SIGINT: no more tasks are handed out, exit 130; the rerun completes the rest.
    cp "$examples/sweep-small.toml" s.toml
    "$qbopt" sweep s.toml --out r.jsonl --threads 1 >"$logs/stdout" 2>"$logs/stderr" &
    pid=$!
    for _ in $(seq 1 600); do
      [ -f r.jsonl ] && [ "$(wc -l <r.jsonl)" -ge 2 ] && break
      sleep 0.05
    done
    kill -INT $pid
    wait $pid
    rc=$?
    lines=$(wc -l <r.jsonl)
    if [ "$lines" -lt 20 ]; then
      [ "$rc" -eq 130 ] || fail "interrupted after $lines lines: exit code $rc, expected 130"
    fi
    echo "interrupted after $lines lines, exit $rc"
    run sweep s.toml --out r.jsonl
    [ "$rc" -eq 0 ] || fail "rerun: exit code $rc"
    "$python" "$(dirname "$0")/sweep_compare.py" r.jsonl --tasks 20 || fail "not every task exactly once"
    ;;
  sweep_mpi)
    # Two MPI ranks give the same lines as one process (registered only when built with MPI).
    mpirun=${QBOPT_MPIRUN:-mpirun}
    run sweep "$examples/sweep-small.toml" --out one.jsonl --threads 1
    [ "$rc" -eq 0 ] || fail "one process: exit code $rc"
    "$mpirun" --allow-run-as-root --oversubscribe -np 2 "$qbopt" sweep "$examples/sweep-small.toml" \
      --out two.jsonl >"$logs/stdout" 2>"$logs/stderr"
    rc=$?
    [ "$rc" -eq 0 ] || fail "mpirun -np 2: exit code $rc"
    grep -q "2 rank(s)" "$logs/stdout" || fail "mpirun did not run 2 ranks: $(cat "$logs/stdout")"
    "$python" "$(dirname "$0")/sweep_compare.py" one.jsonl two.jsonl --tasks 20 || fail "the lines differ"
    ;;
  optimize_parallel_starts)
    # The starts on 1 and 2 threads: the same starts, the same best result.
    args=(--nc 30 --batch 0.0,0.0,20,fixed --batch 0.4,0.2,30 --lambda 5 --starts 4 --seed 3 --max-iterations 15)
    run optimize "${args[@]}" --threads 1 --out o1.json
    [ "$rc" -eq 0 ] || fail "1 thread: exit code $rc"
    run optimize "${args[@]}" --threads 2 --out o2.json
    [ "$rc" -eq 0 ] || fail "2 threads: exit code $rc"
    "$python" - o1.json o2.json <<'EOF2' || fail "the results differ"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
for d in (a, b):
    d.pop("seconds")
assert len(a["starts"]) == 4 and a["starts"][0]["initial"] == [0.4, 0.2], a["starts"][0]
assert a == b, "1 and 2 threads differ"
print("same best loss", a["loss"], "from", [s["initial"] for s in a["starts"]])
EOF2
    ;;
  # List flags (--g-range, --wigner, --at, --states-at) and sampling: flag and value named.
  g_range_trailing_comma) cmd=optimize bad "--g-range '0.1,': entry 2 is empty" "${ok_batch[@]}" --free-g --g-range 0.1, --out "$out" ;;
  g_range_reversed) cmd=optimize bad "--g-range '2,1'" "${ok_batch[@]}" --free-g --g-range 2,1 --out "$out" ;;
  sweep_g_range_trailing_comma)
    printf 'command = "optimize"\nbatch = ["0.3,0.1,10"]\nfree_g = true\ng_range = "0.1,"\n' >"$logs/s.toml"
    cmd=sweep bad "--g-range '0.1,': entry 2 is empty" "$logs/s.toml" --out "$dir/r.jsonl"
    ;;
  wigner_empty_entry) cmd=state bad "--wigner '3,,10': entry 2 is empty" "${ok_batch[@]}" --wigner 3,,10 --out "$out" ;;
  wigner_empty) cmd=state bad "--wigner '': the list is empty" "${ok_batch[@]}" --wigner "" --out "$out" ;;
  param_word_names_flag) cmd=state bad "--param 'kappa_tau=fast'" --model lossy --param kappa_tau=fast "${ok_batch[@]}" --out "$out" ;;
  states_at_empty_entry) cmd=state bad "--states-at '5,,7': entry 2 is empty" "${ok_batch[@]}" --states-at 5,,7 --out "$out" ;;
  states_at_negative) cmd=state bad "--states-at -1: a collision count cannot be negative" "${ok_batch[@]}" --states-at -1 --out "$out" ;;
  states_at_beyond_n) cmd=state bad "--states-at 11: beyond the schedule's 10 collisions" "${ok_batch[@]}" --states-at 3,11 --out "$out" ;;
  states_at_empty) cmd=state bad "--states-at '': the list is empty" "${ok_batch[@]}" --states-at "" --out "$out" ;;
  states_at_word) cmd=state bad "--states-at '2,x': 'x' is not an integer" "${ok_batch[@]}" --states-at 2,x --out "$out" ;;
  states_at_toml_empty)
    printf 'batch = ["0.3,0.1,10"]\nstates_at = []\n' >"$logs/s.toml"
    cmd=state bad "--states-at '': the list is empty" "$logs/s.toml" --out "$out"
    ;;
  states_at_memory)
    # 1001 states of N = 1000 (86 MiB each as JSON): refused before the run by the estimate.
    cmd=state bad "1002 states kept and written" --nc 1000 --batch 0.3,0.1,1000 --states-at "$(seq -s, 0 1000)" --max-memory 1G --out "$out"
    ;;
  at_word) bad "--at 'abc': 'abc' is not an integer" "${ok_batch[@]}" --at abc --out "$out" ;;
  at_empty) bad "--at '': the list is empty" "${ok_batch[@]}" --at "" --out "$out" ;;
  at_beyond_n) bad "--at 11: beyond the schedule's 10 collisions" "${ok_batch[@]}" --at 0,11 --out "$out" ;;
  at_huge_entry) bad "--at '99999999999999999999': '99999999999999999999' is out of the range" "${ok_batch[@]}" --at 99999999999999999999 --out "$out" ;;
  at_with_samples) bad "--at '3' gives the sample points" "${ok_batch[@]}" --at 3 --samples 5 --out "$out" ;;
  sampling_unknown) bad "--sampling 'lin' must be log or linear" "${ok_batch[@]}" --sampling lin --out "$out" ;;
  samples_huge_memory)
    # 10^8 linear samples of 10^8 collisions: refused by the estimate, not allocated.
    bad "100000001 samples" --batch 0.4,0.17,100000000 --sampling linear --samples 2000000000 --max-memory 1G --out "$out"
    ;;
  states_at_json)
    # One run with --states-at 20,5,0,5 (and a Wigner grid) against separate runs of 5 and 20
    # collisions; then --initial: k counts the new collisions.
    run state --nc 30 --batch 0.3,0.15,10 --batch 0.5,0.2,10 --states-at 20,5,0,5 --wigner -3,3,5 --out s.json
    [ "$rc" -eq 0 ] || fail "state --states-at: exit code $rc"
    run state --nc 30 --batch 0.3,0.15,5 --wigner -3,3,5 --out s5.json
    [ "$rc" -eq 0 ] || fail "state of 5 collisions: exit code $rc"
    run state --nc 30 --batch 0.3,0.15,10 --batch 0.5,0.2,10 --out s20.json
    [ "$rc" -eq 0 ] || fail "state of 20 collisions: exit code $rc"
    printf 'nc = 30\nbatch = ["0.5,0.2,10"]\nstates_at = [3]\n' >c.toml
    run state c.toml --initial s5.json --out i.json
    [ "$rc" -eq 0 ] || fail "state --initial with states_at in TOML: exit code $rc"
    run state --nc 30 --batch 0.5,0.2,3 --initial s5.json --out i3.json
    [ "$rc" -eq 0 ] || fail "state --initial, 3 collisions: exit code $rc"
    run state --nc 30 --batch 0.3,0.15,10 --out plain.json
    [ "$rc" -eq 0 ] || fail "state without --states-at: exit code $rc"
    "$python" - <<'EOF2' || fail "states JSON check failed"
import json
d, s5, s20, i, i3, plain = (json.load(open(f)) for f in
                            ("s.json", "s5.json", "s20.json", "i.json", "i3.json", "plain.json"))
keys = {"k", "populations", "rho", "energy", "ergotropy", "purity", "leakage"}
# Without the flag the layout is unchanged: no "states", no "states_at".
assert "states" not in plain and "states_at" not in plain["config"], sorted(plain)
assert set(plain) == keys | {"config"}, sorted(plain)
assert d["config"]["states_at"] == [0, 5, 20], d["config"]
st = d["states"]
assert [e["k"] for e in st] == [0, 5, 20], [e["k"] for e in st]
assert all(set(e) == keys | {"wigner"} for e in st), [sorted(e) for e in st]
assert d["k"] == 20 and set(d) == keys | {"config", "states", "wigner"}, sorted(d)
def diff(a, b):
    return max(max(abs(x - y) for ra, rb in zip(a["rho"][p], b["rho"][p]) for x, y in zip(ra, rb))
               for p in ("re", "im"))
# The same collisions in the same order, printed with 17 digits (exact round trip): the kept
# states equal separate runs to rounding, which is none; 1e-13 allows ~1e-16 per collision.
SAME_RUN_TOL = 1e-13
errs = [diff(st[1], s5), diff(st[2], s20), diff(st[2], d), diff(i["states"][0], i3)]
w = max(abs(x - y) for ra, rb in zip(st[1]["wigner"]["w"], s5["wigner"]["w"]) for x, y in zip(ra, rb))
print("kept vs separate runs, max |rho diff|:", errs, " Wigner:", w)
assert max(errs) <= SAME_RUN_TOL and w <= SAME_RUN_TOL, (errs, w)
assert abs(st[1]["energy"] - s5["energy"]) <= SAME_RUN_TOL
# k = 0 is the initial state |0><0|.
assert st[0]["populations"][0] == 1 and st[0]["energy"] == 0, st[0]
# --initial: k counts the new collisions; the k = 0 state is the file's.
assert i["config"]["states_at"] == [3] and i["states"][0]["k"] == 3 and i["k"] == 10, i["config"]
EOF2
    ;;
  sampling_json)
    # --sampling linear and --at (in TOML) hit exactly the requested k, with the energies of
    # separate runs; the config records the sampling; the default stays log-spaced.
    run simulate --nc 30 --batch 0.3,0.15,10 --batch 0.5,0.2,10 --sampling linear --samples 6 --out lin.json
    [ "$rc" -eq 0 ] || fail "--sampling linear: exit code $rc"
    printf 'nc = 30\nbatch = ["0.3,0.15,10", "0.5,0.2,10"]\nat = [20, 0, 7, 7]\n' >at.toml
    run simulate at.toml --out at.csv
    [ "$rc" -eq 0 ] || fail "at in TOML, CSV: exit code $rc"
    run simulate at.toml --at 12,3 --out at.json
    [ "$rc" -eq 0 ] || fail "--at over TOML: exit code $rc"
    run simulate --nc 30 --batch 0.3,0.15,7 --samples 2 --out s7.json
    [ "$rc" -eq 0 ] || fail "7 collisions: exit code $rc"
    run simulate --nc 30 --batch 0.3,0.15,10 --batch 0.5,0.2,2 --samples 2 --out s12.json
    [ "$rc" -eq 0 ] || fail "12 collisions: exit code $rc"
    run simulate --nc 30 --batch 0.3,0.15,10 --batch 0.5,0.2,10 --out log.json
    [ "$rc" -eq 0 ] || fail "default sampling: exit code $rc"
    "$python" - <<'EOF2' || fail "sampling JSON check failed"
import csv, json
lin, at, s7, s12, log = (json.load(open(f)) for f in ("lin.json", "at.json", "s7.json", "s12.json", "log.json"))
assert lin["trajectory"]["k"] == [0, 4, 8, 12, 16, 20], lin["trajectory"]["k"]
assert lin["config"]["sampling"] == "linear" and lin["config"]["samples"] == 6, lin["config"]
assert "at" not in lin["config"]
assert at["trajectory"]["k"] == [3, 12], at["trajectory"]["k"]
assert at["config"]["at"] == [3, 12] and "samples" not in at["config"], at["config"]
rows = list(csv.reader(open("at.csv")))[1:]
assert [int(r[0]) for r in rows] == [0, 7, 20], rows
assert log["config"]["sampling"] == "log" and log["config"]["samples"] == 50, log["config"]
assert log["trajectory"]["k"][0] == 1 and log["trajectory"]["k"][-1] == 20
# The same collisions in the same order, 17 printed digits: equal to rounding, which is none.
SAME_RUN_TOL = 1e-13
errs = [abs(float(rows[1][1]) - s7["final"]["energy"]), abs(at["trajectory"]["energy"][1] - s12["final"]["energy"]),
        abs(lin["trajectory"]["energy"][3] - s12["final"]["energy"])]
print("sampled vs separate runs, |E diff|:", errs)
assert max(errs) <= SAME_RUN_TOL, errs
assert float(rows[0][1]) == 0.0  # k = 0: the initial state |0><0|
EOF2
    ;;
  *)
    fail "unknown case"
    ;;
esac
echo "PASS [$case_name]"

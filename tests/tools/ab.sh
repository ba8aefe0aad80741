#!/usr/bin/env bash
# tools/ab: two rounds of ledger_bench with the same build as A and B, each round on both cores
# (swapped the second time), must give two ratios and a median in ab.json and ab.md, and each run
# its own JSON; a wrong call must exit 2 and say why. Skipped (exit 77) with fewer than two cores.
#   ab.sh ROOT BUILD
set -euo pipefail
root=$1 build=$2
cores=$(python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
if [ "$cores" -lt 2 ]; then echo "tools/ab needs two cores; this test may use $cores"; exit 77; fi
tmp=$(mktemp -d /tmp/govcredit-test-ab.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ab=$root/tools/ab

"$ab" --a "$build" --b "$build" --rounds 2 --out "$tmp/out" -- ledger_bench --entries 3000 \
  || fail "tools/ab exited with $?"
python3 - "$tmp/out" << 'PY'
import json, os, sys
out = sys.argv[1]
s = json.load(open(out + "/ab.json"))
assert s["metric"] == "append_entries_per_s", s
assert [r["round"] for r in s["rounds"]] == [1, 2], s
r1, r2 = s["rounds"]
assert (r1["core_a"], r1["core_b"]) == (r2["core_b"], r2["core_a"]), "the cores must swap"
for r in s["rounds"]:
    assert r["a"] > 0 and r["b"] > 0 and abs(r["ratio"] - r["b"] / r["a"]) < 1e-9, r
    for side in "ab":
        j = json.load(open(f"{out}/raw/round{r['round']}-{side}.json"))
        assert j["append_entries_per_s"] == r[side] and j["entries"] == 3000, j
assert s["min_ratio"] <= s["median_ratio"] <= s["max_ratio"], s
md = open(out + "/ab.md").read()
assert md.count("\n| ") == 3 and "Median B / A" in md, md  # header + two rounds
print("tools/ab: two rounds, median B / A", round(s["median_ratio"], 3))
PY

expect_usage() {  # expect_usage WORDS... : exit status 2 and the message on stderr
  local want=$1; shift
  set +e
  err=$("$ab" "$@" 2>&1 >/dev/null)
  code=$?
  set -e
  [ "$code" -eq 2 ] || fail "tools/ab $* exited with $code, not 2"
  echo "$err" | grep -q "$want" || fail "tools/ab $* said: $err"
}
expect_usage "give the program after --" --a "$build" --b "$build"
expect_usage "not one of" --a "$build" --b "$build" -- kafka_bench
expect_usage "chosen by tools/ab" --a "$build" --b "$build" -- ledger_bench --dir /tmp/x
expect_usage "no such program" --a "$tmp/nowhere" --b "$build" -- ledger_bench
echo "tools/ab: usage errors named"

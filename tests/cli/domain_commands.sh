#!/usr/bin/env bash
# The domain subcommands end to end on the demo data: status (now and as of a date), explain,
# ranking, rollup, trail, lifecycle, rebuild, verify --projections, contact and erase; a domain
# rule violation through `append` (reason code, nothing appended).
set -u
bin=$1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
d="$tmp/data"

"$bin" demo --data "$d" --records 120 > "$tmp/demo.out" || fail "demo: $(cat "$tmp/demo.out")"
grep -q " 0 rejected" "$tmp/demo.out" || fail "demo rejected events: $(grep rejected "$tmp/demo.out")"
# the projections the demo's ingest wrote equal a rebuild in another process (whose hash tables
# are seeded differently: nothing written may depend on their order)
"$bin" verify --data "$d" --projections | grep -q "projections equal a rebuild" || fail "verify --projections after the ingest"

# status: JSON shape, and as-of a date before the agency's first record shows none.
"$bin" status --data "$d" --agency sh.city.finance --format json > "$tmp/st.json" || fail "status"
python3 - "$tmp/st.json" <<'PY' || fail "status JSON: $(cat "$tmp/st.json")"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["agency"] == "sh.city.finance" and j["name_zh"] == "上海市财政局", j
assert 0 <= j["score"] <= 100 and j["band"] in "ABCD"
assert sum(j["records"].values()) > 0
PY
"$bin" status --data "$d" --agency sh.city.finance --as-of 2011-01-01 --format json > "$tmp/st0.json" || fail "status --as-of"
python3 -c "import json,sys; j=json.load(open('$tmp/st0.json')); assert sum(j['records'].values())==0 and j['score']==100, j" || fail "as-of 2011-01-01 should show a clean agency"
"$bin" status --data "$d" --agency nope.agency >/dev/null 2>&1; [[ $? == 3 ]] || fail "unknown agency must exit 3"
"$bin" status --data "$d" --agency sh.city.finance --as-of yesterday >/dev/null 2>&1; [[ $? == 2 ]] || fail "bad --as-of must exit 2"

# explain: lines add up to the score; each seq has an inclusion proof.
"$bin" explain --data "$d" --agency sh.city.finance --as-of 2013-06-30 --format json > "$tmp/ex.json" || fail explain
seq=$(python3 - "$tmp/ex.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["rules"] == "2013.1", j["rules"]
total = sum(c["points"] for c in j["contributions"])
assert abs(total - j["score"]) < 0.01, (total, j["score"])
print([c["seq"] for c in j["contributions"] if "seq" in c][0])
PY
) || fail "explain JSON: $(head -c 400 "$tmp/ex.json")"
"$bin" proof inclusion --data "$d" --seq "$seq" >/dev/null || fail "no proof for explained seq $seq"
"$bin" explain --data "$d" --agency sh.city.finance --as-of 2012-06-30 | grep -q "rules 2011.1" || fail "2012 must be scored by rules 2011.1"

# ranking and rollup over every agency.
"$bin" ranking --data "$d" --format json > "$tmp/rank.json" || fail ranking
python3 -c "
import json; j=json.load(open('$tmp/rank.json'))['ranking']
assert len(j) == 40, len(j)
assert all(a['score'] >= b['score'] for a, b in zip(j, j[1:]))" || fail "ranking not sorted or incomplete"
"$bin" rollup --data "$d" | grep -q "黄浦区" || fail "rollup lacks the districts"

# trail and lifecycle
"$bin" trail --data "$d" --agency sh.city.finance --limit 5 | grep -q "agency.registered" || fail trail
rec=$(grep -m1 '"record.verified"' "$d/demo-events.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['payload']['record'])")
"$bin" lifecycle --data "$d" --record "$rec" | grep -q '"record.verified"' || fail "lifecycle of $rec"

# a domain rule violation: a second verification of the same record is rejected, not appended.
line=$(grep -m1 '"record.verified"' "$d/demo-events.jsonl")
size=$("$bin" verify --data "$d" | sed -n 's/^ok: \([0-9]*\) entries.*/\1/p')
python3 - "$line" > "$tmp/again.jsonl" <<'PY'
import json, sys
e = json.loads(sys.argv[1]); e["id"] = "0" * 31 + "1"; print(json.dumps(e, ensure_ascii=False))
PY
out=$("$bin" append --data "$d" "$tmp/again.jsonl" 2>&1); rc=$?
[[ $rc == 1 && $out == *"rejected: "* ]] || fail "a re-verification must be rejected (rc $rc): $out"
size2=$("$bin" verify --data "$d" | sed -n 's/^ok: \([0-9]*\) entries.*/\1/p')
[[ $size == "$size2" ]] || fail "a rejected event changed the log size ($size -> $size2)"

# a rebuild is refused (exit 3) while another process writes the shard
python3 - "$bin" "$d" <<'PY' || fail "rebuild under another writer must be refused with exit 3"
import fcntl, subprocess, sys
with open(sys.argv[2] + "/shard-0/writer.lock", "a") as f:
    fcntl.flock(f, fcntl.LOCK_EX)
    r = subprocess.run([sys.argv[1], "rebuild", "--data", sys.argv[2]], capture_output=True, text=True)
    assert r.returncode == 3 and "another process" in r.stderr, (r.returncode, r.stderr)
PY

# rebuild and projection verification agree
digest=$("$bin" rebuild --data "$d" | sed -n 's/.*digest \([0-9a-f]*\)$/\1/p')
[[ ${#digest} == 64 ]] || fail "rebuild printed no digest"
"$bin" verify --data "$d" --projections | grep -q "projections equal a rebuild (digest $digest)" || fail "verify --projections"

# contact details: readable with the vault key, then erased for good; the ledger still verifies
cid=$(grep -m1 '"complaint.filed"' "$d/demo-events.jsonl" | python3 -c "import json,sys; print(json.load(sys.stdin)['id'])")
"$bin" contact --data "$d" --complaint "$cid" | grep -q "联系人" || fail "contact before erase"
"$bin" erase --data "$d" --complaint "$cid" --yes | grep -q "erased" || fail erase
"$bin" contact --data "$d" --complaint "$cid" >/dev/null 2>&1; [[ $? == 3 ]] || fail "contact after erase must fail with exit 3"
"$bin" verify --data "$d" --signatures --projections | grep -q "^ok: " || fail "verify after erase"
echo "ok"

#!/usr/bin/env bash
# The auditor's toolkit end to end: an agency's bundle verified with the ledger key alone (and
# refused when an entry, a registry entry or the key is wrong); proofs checked offline against a
# signed checkpoint; two checkpoints of one growing log are consistent, two divergent stores
# signed with the same key are caught as a rewritten history; replay --as-of shows what the
# status command showed then; a copy of the log verified against a running server's checkpoint
# (equal, behind with a consistency proof, diverged). Usage: audit_commands.sh BINARY
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
A="$work/a"
"$bin" demo --data "$A" > /dev/null
python3 - "$work" "$A" << 'PY'
import json, sys
w, a = sys.argv[1], sys.argv[2]
for i in json.load(open(a + "/demo-identities.json")):
    open(f"{w}/{i['principal']}.pem", "w").write(i["private_key_pem"])
PY

# --- the ledger key ---
# ledger.pub, if lost (a crash between the two files), is written again from the key, which stays.
key_before=$(sha256sum < "$A/ledger.key")
rm "$A/ledger.pub"
expect_exit 0 checkpoint create --data "$A" --out "$work/again.note"
[[ -f "$A/ledger.pub" ]] || fail "ledger.pub was not written again"
[[ "$(sha256sum < "$A/ledger.key")" == "$key_before" ]] || fail "the ledger key changed"
# A replaced ledger key: the checkpoint of the same head is the stored one with the new key's
# signature added, so proofs check against the new ledger.pub and still against the old one.
mv "$A/ledger.key" "$work/old-ledger.key"
mv "$A/ledger.pub" "$work/old-ledger.pub"
expect_exit 0 checkpoint create --data "$A" --out "$work/rekeyed.note"
[[ "$(grep -c "^— " "$work/rekeyed.note")" == 2 ]] || fail "the checkpoint was not co-signed"
[[ "$(head -4 "$work/rekeyed.note")" == "$(head -4 "$work/again.note")" ]] ||
  fail "co-signing changed the checkpoint's body"
"$bin" proof inclusion --data "$A" --seq 0 --size "$(sed -n 2p "$work/rekeyed.note")" > "$work/incl0.json"
for pub in "$A/ledger.pub" "$work/old-ledger.pub"; do
  expect_exit 0 proof check "$work/incl0.json" --checkpoint "$work/rekeyed.note" --ledger-pub "$pub"
done
expect_exit 1 proof check "$work/incl0.json" --checkpoint "$work/again.note" --ledger-pub "$A/ledger.pub"
mv "$work/old-ledger.key" "$A/ledger.key"
mv "$work/old-ledger.pub" "$A/ledger.pub"

# --- bundle ---
expect_exit 0 export --data "$A" --agency sh.city.housing --out "$work/bundle.json"
expect_exit 0 bundle verify "$work/bundle.json" --ledger-pub "$A/ledger.pub"
grep -q "entries about sh.city.housing" "$work/out" || fail "no summary"
expect_exit 0 bundle verify "$work/bundle.json"
grep -q "note: the checkpoint was checked against the key inside the bundle" "$work/out" ||
  fail "an untrusted key must be said"
"$bin" keygen --out "$work/other" > /dev/null
expect_exit 1 bundle verify "$work/bundle.json" --ledger-pub "$work/other.pub"
python3 - "$work" << 'PY'
import base64, json, sys
w = sys.argv[1]
b = json.load(open(w + "/bundle.json"))
# 1. one byte of the last (agency) entry changed
x = json.loads(json.dumps(b))
leaf = bytearray(base64.b64decode(x["entries"][-1]["leaf_data"]))
leaf[-70] ^= 1
x["entries"][-1]["leaf_data"] = base64.b64encode(bytes(leaf)).decode()
json.dump(x, open(w + "/flipped.json", "w"))
# 2. a registry entry left out (the agency's principal can no longer be found)
y = json.loads(json.dumps(b))
y["entries"] = [e for i, e in enumerate(y["entries"]) if i != 1]
json.dump(y, open(w + "/missing.json", "w"))
# 3. two entries swapped
z = json.loads(json.dumps(b))
z["entries"][-1], z["entries"][-2] = z["entries"][-2], z["entries"][-1]
json.dump(z, open(w + "/swapped.json", "w"))
PY
for bad in flipped missing swapped; do
  expect_exit 1 bundle verify "$work/$bad.json" --ledger-pub "$A/ledger.pub"
  grep -q "^FAILED" "$work/out" || fail "$bad: no FAILED line"
done
expect_exit 3 bundle verify "$work/nonexistent.json"

# --- proofs offline ---
expect_exit 0 checkpoint create --data "$A" --out "$work/old.note"
size=$(sed -n 2p "$work/old.note")
"$bin" proof inclusion --data "$A" --seq 17 --size "$size" > "$work/incl.json"
expect_exit 0 proof check "$work/incl.json" --checkpoint "$work/old.note" --ledger-pub "$A/ledger.pub"
python3 - "$work" << 'PY'
import json, sys
w = sys.argv[1]
p = json.load(open(w + "/incl.json"))
p["path"][0] = ("0" if p["path"][0][0] != "0" else "1") + p["path"][0][1:]
json.dump(p, open(w + "/incl-bad.json", "w"))
PY
expect_exit 1 proof check "$work/incl-bad.json"

# --- consistency between saved checkpoints ---
"$bin" report --data "$A" --period 2013-Q4 --out "$work/rep" --publish --key "$work/authority.pem" > /dev/null
expect_exit 0 checkpoint create --data "$A" --out "$work/new.note"
expect_exit 0 checkpoint consistent "$work/old.note" "$work/new.note" --data "$A" --ledger-pub "$A/ledger.pub"
"$bin" proof consistency --data "$A" --from "$size" > "$work/cons.json"
expect_exit 0 proof check "$work/cons.json"
expect_exit 0 checkpoint consistent "$work/old.note" "$work/new.note" --proof "$work/cons.json" \
  --ledger-pub "$A/ledger.pub"
# A divergent store signed with the same ledger key: another history of the same origin.
B="$work/b"
mkdir -p "$B"
cp "$A/ledger.key" "$A/ledger.pub" "$B/"
"$bin" demo --data "$B" --seed 77 --records 400 > /dev/null
expect_exit 0 checkpoint create --data "$B" --out "$work/rewritten.note"
expect_exit 1 checkpoint consistent "$work/old.note" "$work/rewritten.note" --data "$B" \
  --ledger-pub "$A/ledger.pub"
grep -q "history was rewritten" "$work/out" || fail "no rewritten-history verdict"
expect_exit 2 checkpoint consistent "$work/new.note" "$work/old.note" --data "$A" --ledger-pub "$A/ledger.pub"

# --- replay --as-of: what the system showed then ---
expect_exit 0 replay --data "$A" --agency sh.city.finance --as-of 2013-06-30
"$bin" status --data "$A" --agency sh.city.finance --as-of 2013-06-30 --format json > "$work/status-then.json"
"$bin" replay --data "$A" --agency sh.city.finance --until 2013-06-30T16:00:00Z > "$work/until.jsonl"
python3 - "$work" << 'PY'
import json, sys
w = sys.argv[1]
lines = [json.loads(l) for l in open(w + "/out")]
events, last = lines[:-1], lines[-1]
assert last["as_of"] == "2013-06-30T15:59:59.999Z", last["as_of"]
assert last["status"] == json.load(open(w + "/status-then.json")), "the status then differs from status --as-of"
assert last["status"]["events"] == len(events), (last["status"]["events"], len(events))
until = [json.loads(l) for l in open(w + "/until.jsonl")]
assert [e["seq"] for e in events] == [e["seq"] for e in until], "--as-of and --until disagree"
assert all(e["event"]["issued_at"] <= "2013-06-30T15:59:59.999Z" for e in events)
assert all(e["event"]["subject"] == "sh.city.finance" for e in events)
PY
expect_exit 0 replay --data "$A" --agency sh.city.finance --as-of 2013-06-30 --format table
grep -q "as of 2013-06-30T15:59:59.999Z: score" "$work/out" || fail "no status line in the table"
expect_exit 2 replay --data "$A" --agency sh.city.finance --as-of yesterday

# --- verify against a checkpoint fetched from a server ---
R="$work/replica"   # an auditor's copy of the log, taken now
D="$work/diverged"  # a copy that then grows its own history
cp -r "$A" "$R"
cp -r "$A" "$D"
"$bin" report --data "$D" --period 2013-Q3 --out "$work/rep-d" --publish --key "$work/authority.pem" > /dev/null
"$bin" serve --data "$A" --listen 127.0.0.1:0 --complaint-key "$A/keys/complaints.key" \
  > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2> /dev/null || true; rm -rf "$work"' EXIT
url=""
for _ in $(seq 1 200); do
  url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" || true)
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2> /dev/null || { cat "$work/serve.log"; fail "serve exited"; }
  sleep 0.05
done
[[ -n "$url" ]] || fail "serve printed no URL"
expect_exit 0 verify --data "$R" --checkpoint "$url" --key "$work/auditor.pem"
grep -q "matches the checkpoint at size .* from 127.0.0.1" "$work/out" || fail "no match line"
expect_exit 3 verify --data "$R" --checkpoint "$url"
grep -q "401.*sign the request with --key" "$work/out" || fail "an unsigned fetch must say why"
expect_exit 1 verify --data "$R" --checkpoint "$url" --key "$work/auditor.pem" --ledger-pub "$work/other.pub"
grep -q "^FAILED" "$work/out" || fail "a checkpoint under another key must fail"
expect_exit 2 verify --data "$R" --checkpoint "ftp://127.0.0.1/" --key "$work/auditor.pem"
# The server moves on by two complaints: the replica is a proven prefix; the diverged copy is not.
for n in 1 2; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/v1/complaints" \
    -H 'Content-Type: application/json' -d "{\"agency\":\"sh.city.housing\",\"summary\":\"投诉 $n\"}")
  [[ "$code" == 201 ]] || fail "complaint answered $code"
done
expect_exit 0 verify --data "$R" --checkpoint "$url" --key "$work/auditor.pem"
grep -q "a prefix of the checkpoint at size .* (consistency proof verified)" "$work/out" ||
  fail "no prefix line"
expect_exit 1 verify --data "$D" --checkpoint "$url" --key "$work/auditor.pem"
grep -q "does not extend this log" "$work/out" || fail "a diverged copy must fail"
kill -TERM "$pid"
wait "$pid" || fail "serve did not stop cleanly"
echo "audit commands ok"

#!/usr/bin/env bash
# The auditor's toolkit end to end: an agency's bundle verified with the ledger key alone (and
# refused when an entry, a registry entry or the key is wrong); proofs checked offline against a
# signed checkpoint; two checkpoints of one growing log are consistent, two divergent stores
# signed with the same key are caught as a rewritten history. Usage: audit_commands.sh BINARY
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
echo "audit commands ok"

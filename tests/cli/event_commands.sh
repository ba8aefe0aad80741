#!/usr/bin/env bash
# The event subcommands end to end, with their exit codes.
set -u
bin=$1 vectors=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$bin" --help | grep -q "Exit codes" || fail "--help lacks the exit codes"
"$bin" event sign --help >/dev/null || fail "event sign --help"
"$bin" nosuchcommand >/dev/null 2>&1; [[ $? == 2 ]] || fail "unknown subcommand must exit 2"

id=$("$bin" keygen --out "$tmp/k") || fail keygen
[[ ${#id} == 32 ]] || fail "key id '$id'"
[[ $(stat -c %a "$tmp/k.key") == 600 ]] || fail "private key mode"
"$bin" keygen --out "$tmp/k" >/dev/null 2>&1; [[ $? == 2 ]] || fail "keygen must refuse to overwrite"

# Sign an unsigned event, verify it, check it against openssl via the canonical bytes.
cat > "$tmp/unsigned.json" <<'JSON'
{"v":1,"type":"record.submitted","subject":"sh.city.finance","issuer":"src.finance",
 "payload":{"category":"fiscal_fraud","title":"虚列支出","summary":"示例","conduct_at":"2013-05-01T00:00:00Z",
            "evidence":[],"source_ref":null}}
JSON
"$bin" event sign --key "$tmp/k.key" --in "$tmp/unsigned.json" --out "$tmp/signed.json" || fail sign
grep -q "\"key_id\": \"$id\"" "$tmp/signed.json" || fail "signed event lacks the key id"
"$bin" event verify --pub "$tmp/k.pub" --in "$tmp/signed.json" | grep -q '^ok: record.submitted' || fail verify
"$bin" event canonical --in "$tmp/signed.json" --out "$tmp/input.bin" || fail canonical
python3 - "$tmp/signed.json" "$tmp/sig.bin" <<'PY'
import json, sys
open(sys.argv[2], "wb").write(bytes.fromhex(json.load(open(sys.argv[1]))["signature"]))
PY
openssl pkeyutl -verify -pubin -inkey "$tmp/k.pub" -rawin -in "$tmp/input.bin" -sigfile "$tmp/sig.bin" >/dev/null || fail "openssl rejects our signature"

# Wire form round trip.
"$bin" event canonical --wire --in "$tmp/signed.json" --out "$tmp/wire.bin" || fail wire
"$bin" event decode --in "$tmp/wire.bin" --out "$tmp/decoded.json" || fail decode
cmp "$tmp/signed.json" "$tmp/decoded.json" || fail "decode differs from the signed JSON"

# A tampered event exits 1 with the reason code.
sed 's/虚列支出/已篡改/' "$tmp/signed.json" > "$tmp/tampered.json"
out=$("$bin" event verify --pub "$tmp/k.pub" --in "$tmp/tampered.json" 2>&1); rc=$?
[[ $rc == 1 && $out == *signature_invalid* ]] || fail "tampered: rc=$rc out=$out"
out=$("$bin" event verify --pub "$vectors/record-submitted/public.pem" --in "$tmp/signed.json" 2>&1); rc=$?
[[ $rc == 1 && $out == *key_id_mismatch* ]] || fail "wrong key: rc=$rc out=$out"
echo '{"v":1' > "$tmp/bad.json"
out=$("$bin" event verify --pub "$tmp/k.pub" --in "$tmp/bad.json" 2>&1); rc=$?
[[ $rc == 1 && $out == *json_malformed* ]] || fail "malformed: rc=$rc out=$out"
out=$("$bin" event verify --pub "$tmp/missing.pub" --in "$tmp/signed.json" 2>&1); rc=$?
[[ $rc == 3 ]] || fail "missing key file must exit 3, got $rc"
# A --kafka-set naming a setting the node's guarantees rest on is refused (exit 2, the reason
# code and the flag to use) before it connects or creates its data directory (no broker needed).
out=$("$bin" node --kafka 127.0.0.1:1 --kafka-set group.id=other --data "$tmp/node-data" 2>&1); rc=$?
[[ $rc == 2 && $out == *invalid_argument* && $out == *--group* ]] || fail "node --kafka-set: rc=$rc out=$out"
[[ ! -e $tmp/node-data ]] || fail "a refused node created its data directory"
out=$("$bin" node --kafka 127.0.0.1:1 --kafka-set bootstrap.servers=127.0.0.1:2 --data "$tmp/node-data" 2>&1); rc=$?
[[ $rc == 2 && $out == *--kafka* ]] || fail "node --kafka-set bootstrap.servers: rc=$rc out=$out"
echo "event commands: ok"

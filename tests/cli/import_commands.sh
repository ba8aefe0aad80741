#!/usr/bin/env bash
# govcredit import end to end: a CSV with bad lines is refused line by line and publishes
# nothing; the fixed CSV is signed in batches (one signature each) and accepted; the stored
# events verify one by one (verify --signatures); JSON lines import too.
# Usage: import_commands.sh GOVCREDIT_BINARY
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
"$bin" demo --data "$work/data" > /dev/null
python3 - "$work" << 'PY'
import json, sys, hashlib
w = sys.argv[1]
for i in json.load(open(w + "/data/demo-identities.json")):
    open(f"{w}/{i['principal']}.pem", "w").write(i["private_key_pem"])
rows = ["agency,category,title,summary,conduct_at,evidence_sha256,evidence_uri,source_ref"]
for n in range(1000):
    d = hashlib.sha256(str(n).encode()).hexdigest()
    agency = ["sh.city.finance", "sh.city.housing", "sh.pudong.gov"][n % 3]
    rows.append(f'{agency},fiscal_fraud,"审计发现问题 {n}","专项资金虚列支出, 详见审计报告",2013-05-{1 + n % 28:02d},{d},https://audit.example/{n},SJ-{n}')
open(w + "/good.csv", "w").write("\n".join(rows) + "\n")
bad = rows[:]
bad[10] = bad[10].replace("fiscal_fraud", "fiscal_fraudd")
bad[20] = bad[20].replace("2013-05-", "2013-13-")
bad[30] = ",".join(bad[30].split(",")[:5])
open(w + "/bad.csv", "w").write("\n".join(bad) + "\n")
PY
before=$("$bin" verify --data "$work/data" --quiet 2>&1 | grep -o '[0-9]* entries' | head -1 || true)
expect_exit 1 import --data "$work/data" --key "$work/src.audit.pem" "$work/bad.csv"
grep -q "bad.csv:11: field_invalid" "$work/out" || fail "line 11 not reported"
grep -q "bad.csv:21: field_invalid" "$work/out" || fail "line 21 not reported"
grep -q "bad.csv:31: field_missing" "$work/out" || fail "line 31 not reported"
grep -q "3 bad line(s); nothing was published" "$work/out" || fail "no summary"
after=$("$bin" verify --data "$work/data" --quiet 2>&1 | grep -o '[0-9]* entries' | head -1 || true)
[[ "$before" == "$after" ]] || fail "a refused import wrote something ($before -> $after)"

# Kafka settings only with --kafka; one the producer fixes is refused before it connects.
expect_exit 2 import --data "$work/data" --key "$work/src.audit.pem" --kafka-set linger.ms=5 "$work/good.csv"
grep -q -- "--kafka-set needs --kafka" "$work/out" || fail "--kafka-set without --kafka"
expect_exit 2 import --key "$work/src.audit.pem" --kafka 127.0.0.1:1 --issuer src.audit \
  --kafka-set acks=1 "$work/good.csv"
grep -q "Kafka setting acks cannot be changed: the event producer sets it to all" "$work/out" ||
  fail "import --kafka-set acks=1: $(cat "$work/out")"
expect_exit 0 import --data "$work/data" --key "$work/src.audit.pem" --batch-size 128 "$work/good.csv"
grep -q "imported 1000 events from .*: 1000 accepted, 0 already there, 0 rejected" "$work/out" ||
  fail "not all accepted"
grep -q "imported 1000/1000 (100%)" "$work/out" || fail "no progress lines"
expect_exit 0 verify --data "$work/data" --signatures --quiet
# Each stored event carries its batch proof and verifies alone.
"$bin" replay --data "$work/data" --type record.submitted | tail -1 > "$work/last.json"
grep -q '"batch":{"index"' "$work/last.json" || grep -q '"batch"' "$work/last.json" || fail "no batch proof in the log"
# Importing the same file again records nothing twice: every line is already in the ledger.
expect_exit 1 import --data "$work/data" --key "$work/src.audit.pem" --batch-size 128 "$work/good.csv"
grep -q "0 accepted, 0 already there, 1000 rejected" "$work/out" || fail "a second import was not refused"
grep -q "rejected: event_id_conflict" "$work/out" || fail "no event_id_conflict"
# Each refused line by its own number, the first and the last batch's included (the batches are
# queued ahead of their results).
grep -q "good.csv:2: rejected: event_id_conflict" "$work/out" || fail "line 2 not named"
grep -q "good.csv:1001: rejected: event_id_conflict" "$work/out" || fail "line 1001 not named"
[[ $(grep -c "good.csv:[0-9]*: rejected: event_id_conflict" "$work/out") == 1000 ]] ||
  fail "not every line named once"
# A key that is not the source's own: the role check refuses every line at ingest.
expect_exit 1 import --data "$work/data" --key "$work/ag.sh.city.housing.pem" "$work/good.csv"
grep -q "rejected: role_not_allowed" "$work/out" || fail "an agency's import was not refused"
# JSON lines (the events' JSON form without id, time or signature).
python3 - "$work" << 'PY'
import json, sys, hashlib
w = sys.argv[1]
with open(w + "/events.jsonl", "w") as f:
    for n in range(10):
        f.write(json.dumps({"v": 1, "type": "record.submitted", "subject": "sh.city.transport",
            "issuer": "src.audit", "payload": {"category": "disclosure", "title": f"公开不实 {n}",
            "summary": "政府信息公开内容与事实不符。", "conduct_at": "2013-04-01T00:00:00Z",
            "evidence": [{"sha256": hashlib.sha256(b"x").hexdigest(), "uri": "https://e.example/x"}],
            "source_ref": None}}, ensure_ascii=False) + "\n")
PY
expect_exit 0 import --data "$work/data" --key "$work/src.audit.pem" "$work/events.jsonl"
grep -q "10 accepted" "$work/out" || fail "JSON lines not accepted"
echo "import commands ok"

#!/usr/bin/env bash
# govcredit report / verify-report end to end: write a quarterly report, anchor it, prove the
# file is the anchored report; a one-byte change and an unanchored report are refused (exit 1).
# Usage: report_commands.sh GOVCREDIT_BINARY
set -euo pipefail
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
"$bin" demo --data "$work/data" > /dev/null
python3 - "$work" << 'PY'
import json, sys
w = sys.argv[1]
for i in json.load(open(w + "/data/demo-identities.json")):
    open(f"{w}/{i['principal']}.pem", "w").write(i["private_key_pem"])
PY
"$bin" report --data "$work/data" --period 2013-Q3 --out "$work/out" --publish \
  --key "$work/authority.pem" > "$work/report.log" || { cat "$work/report.log"; fail "report"; }
grep -q "anchored: report.published" "$work/report.log" || fail "not anchored"
html="$work/out/report-2013-Q3.zh.html"
[[ -s "$html" ]] || fail "no HTML"
for t in by-category by-source by-district agencies verified overdue by-month; do
  [[ -s "$work/out/report-2013-Q3.zh.$t.csv" ]] || fail "no $t.csv"
done
"$bin" verify-report --data "$work/data" "$html" > "$work/verify.log" || fail "verify-report refused the anchored file"
grep -q "byte for byte" "$work/verify.log" || fail "the report was not reproduced"
cp "$html" "$work/changed.html"
sed -i '0,/概况/s//概況/' "$work/changed.html"
set +e
"$bin" verify-report --data "$work/data" "$work/changed.html" > "$work/changed.log"
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "a changed report exited $rc, expected 1"
grep -q "NOT ANCHORED" "$work/changed.log" || fail "no NOT ANCHORED line"
# An agency may not anchor a report (the authorisation matrix), and nothing is written.
set +e
"$bin" report --data "$work/data" --period 2013-Q2 --out "$work/out2" --publish \
  --key "$work/ag.sh.city.housing.pem" > "$work/agency.log" 2>&1
rc=$?
set -e
[[ $rc -ne 0 ]] || fail "an agency anchored a report"
grep -q "role_not_allowed" "$work/agency.log" || { cat "$work/agency.log"; fail "no role_not_allowed"; }
set +e
"$bin" report --data "$work/data" --period 2099 > /dev/null 2>&1
rc=$?
set -e
[[ $rc -eq 2 ]] || fail "an open period exited $rc, expected 2"
echo "report commands ok"

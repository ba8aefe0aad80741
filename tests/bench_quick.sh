#!/usr/bin/env bash
# ctest bench.quick: `tools/bench --quick` against the test broker; every scenario must run (none
# skipped or failed) and report figures above zero in summary.json and summary.md.
set -euo pipefail
root=$1 build=$2 brokers=$3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$root/tools/bench" --quick --build "$build" --kafka "$brokers" --out "$out"
python3 - "$out" << 'PY'
import json, sys
out = sys.argv[1]
s = json.load(open(out + "/summary.json"))
want = {"ed25519", "append", "rebuild", "ingest-embedded", "ingest-embedded-batch",
        "ingest-kafka", "ingest-kafka-batch", "http"}
ran = {r["scenario"] for r in s["results"] if "figures" in r}
skipped = [r for r in s["results"] if "skipped" in r]
assert not skipped, f"skipped: {skipped}"
assert ran == want, f"missing scenarios: {want - ran}"
for r in s["results"]:
    assert r["figure"] > 0, r
assert len(s["targets"]) >= 12 and all(t["status"] != "not measured" for t in s["targets"]), s["targets"]
md = open(out + "/summary.md").read()
assert md.count("\n| ") >= 20 and "## Targets" in md, md
print(f"bench.quick: {len(s['results'])} scenarios in {s['seconds']} s")
PY

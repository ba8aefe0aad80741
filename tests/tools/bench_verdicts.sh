#!/usr/bin/env bash
# tools/bench --resummarize: the targets judged from a run's figures. Append and the rebuild at 1M
# and 10M get their linearity judged by their rates; a run with a signed scenario at 1M and 10M
# gets that scenario's linearity judged, by its rate and (through Kafka) by the
# node's CPU per event, each the cost at 10M over the cost at 1M; a scenario at one size only
# gets none; the figures themselves are left as they were. A run with --span growing has its
# signed scenarios' verdicts say so.
#   bench_verdicts.sh ROOT
set -euo pipefail
root=$1
tmp=$(mktemp -d /tmp/govcredit-test-verdicts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp/summary.json" << 'PY'
import json, sys
def run(scenario, events, figures):
    return {"scenario": scenario, "events": events, "figure": next(iter(figures.values())),
            "figures": figures, "line": "", "seconds": 1, "peak_rss_mib": 1}
results = [
    # Append 1.25 x by its rate (the target's edge), verify 0.8 x; the rebuild 1.3 x.
    run("append", 1_000_000, {"append_per_s": 500_000.0, "verify_per_s": 2_000_000.0}),
    run("append", 10_000_000, {"append_per_s": 400_000.0, "verify_per_s": 2_500_000.0}),
    run("rebuild", 1_000_000, {"rebuild_per_s": 1_300_000.0}),
    run("rebuild", 10_000_000, {"rebuild_per_s": 1_000_000.0}),
    # 10M at 1.2 x the cost per event of 1M by rate, 1.5 x by CPU per event.
    run("ingest-kafka-batch", 1_000_000, {"ingest_per_s": 180_000.0, "cpu_us_per_event": 10.0}),
    run("ingest-kafka-batch", 10_000_000, {"ingest_per_s": 150_000.0, "cpu_us_per_event": 15.0}),
    # Embedded: 2 x by rate; no CPU figure.
    run("ingest-embedded-batch", 1_000_000, {"ingest_per_s": 120_000.0}),
    run("ingest-embedded-batch", 10_000_000, {"ingest_per_s": 60_000.0}),
    # At one size only: not judged for linearity.
    run("ingest-kafka", 1_000_000, {"ingest_per_s": 30_000.0, "ratio": 0.8}),
]
json.dump({"date": "2026-12-06 00:00 UTC", "commit": "test", "command": "tools/bench",
           "machine": {"cpu": "test", "cores": 2, "memory": "1 GiB", "kernel": "6"},
           "seconds": 1, "results": results}, open(sys.argv[1], "w"))
PY
cp "$tmp/summary.json" "$tmp/before.json"
"$root/tools/bench" --resummarize --out "$tmp" > "$tmp/out.txt"
python3 - "$tmp" << 'PY'
import json, sys
d = sys.argv[1]
s = json.load(open(d + "/summary.json"))
before = json.load(open(d + "/before.json"))
assert s["results"] == before["results"], "the figures changed"
linear = {t["target"].split(": ", 1)[1]: t for t in s["targets"] if "(linear)" in t["target"]}
want = {"append append_per_s": (1.25, "met"), "append verify_per_s": (0.8, "met"),
        "rebuild rebuild_per_s": (1.3, "NOT met"),
        "ingest-kafka-batch ingest_per_s": (1.2, "met"),
        "ingest-kafka-batch cpu_us_per_event": (1.5, "NOT met"),
        "ingest-embedded-batch ingest_per_s": (2.0, "NOT met")}
assert set(linear) == set(want), sorted(linear)
for name, (value, status) in want.items():
    t = linear[name]
    assert t["value"] == value and t["status"] == status and t["events"] == 10_000_000, t
md = open(d + "/summary.md").read()
assert "ingest-kafka-batch cpu_us_per_event" in md, md
PY
grep -q "NOT met: cost per event at 10M within 1.25 x of 1M (linear): ingest-kafka-batch cpu_us_per_event (1.5 at 10M)" \
  "$tmp/out.txt" || { echo "FAIL: the verdict is not printed" >&2; cat "$tmp/out.txt" >&2; exit 1; }
# A run made with --span growing (its summary says so; a run before the option had none and is
# judged as fixed, above): the signed scenarios' verdicts name the span, append's and the
# rebuild's (their data is the same either way) do not, and the summary's header says it.
python3 - "$tmp/summary.json" << 'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["span"] = "growing"
json.dump(s, open(sys.argv[1], "w"))
PY
"$root/tools/bench" --resummarize --out "$tmp" > "$tmp/out.txt"
python3 - "$tmp" << 'PY'
import json, sys
d = sys.argv[1]
s = json.load(open(d + "/summary.json"))
assert s["span"] == "growing", s["span"]
linear = [t["target"] for t in s["targets"] if "(linear)" in t["target"]]
span = " (data over 3 years per million events, --span growing)"
signed = [t for t in linear if ": ingest-" in t]
assert len(signed) == 3 and all(t.endswith(span) for t in signed), linear
assert len(linear) == 6 and not any(t.endswith(span) for t in linear if t not in signed), linear
md = open(d + "/summary.md").read()
assert "Signed scenarios' data: 3 years per million events (`--span growing`)." in md, md
PY
echo "bench verdicts: ok"

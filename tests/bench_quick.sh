#!/usr/bin/env bash
# ctest bench.quick and bench.quick_kafka: `tools/bench --quick`, in two parts (the CMakeLists
# says why): every scenario of the part must run (none skipped or failed), report a figure above
# zero, and have its targets judged in summary.json and summary.md.
#   bench_quick.sh ROOT BUILD local            the host probe, append (both durabilities), rebuild,
#                                              embedded ingest, HTTP
#   bench_quick.sh ROOT BUILD kafka BROKERS    ingest through the test broker, its data over the
#                                              span that grows with the size (--span growing)
set -euo pipefail
root=$1 build=$2 part=$3
case $part in
  local) scenarios=host,ed25519,append,append-next-commit,rebuild,ingest-embedded,ingest-embedded-batch,http
         args=(--no-kafka) targets=10 span=fixed ;;  # the default span: no --span
  kafka) scenarios=ed25519,ingest-kafka,ingest-kafka-batch,ingest-kafka-import
         args=(--kafka "$4" --span growing) targets=4 span=growing ;;
  *) echo "usage: bench_quick.sh ROOT BUILD local|kafka [BROKERS]" >&2; exit 2 ;;
esac
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$root/tools/bench" --quick --build "$build" "${args[@]}" --only "$scenarios" --out "$out"
python3 - "$out" "$scenarios" "$targets" "$build" "$span" << 'PY'
import json, re, sys
out, want, targets, build = sys.argv[1], set(sys.argv[2].split(",")), int(sys.argv[3]), sys.argv[4]
span = sys.argv[5]
s = json.load(open(out + "/summary.json"))
ran = {r["scenario"] for r in s["results"] if "figures" in r}
skipped = [r for r in s["results"] if "skipped" in r]
assert not skipped, f"skipped: {skipped}"
assert ran == want, f"missing scenarios: {want - ran}, unexpected: {ran - want}"
# The build the programs came from, named in the summary (since 2026-12-06): profile-guided
# exactly when its CMake cache says so (ops/build.sh pgo), otherwise this ctest's release build.
b = s["build"]
pgo = "GOVCREDIT_PGO:STRING=use\n" in open(build + "/CMakeCache.txt").read()
assert b["profile_guided"] == pgo and b["description"] == (
    "release, profile-guided (ops/build.sh pgo)" if pgo else "release (RelWithDebInfo)"), b
assert open(out + "/summary.md").read().count(f"Build: `{b['dir']}`, {b['description']}.") == 1
# The CPU's family and model (since 2026-12-07), in the summary's machine line too.
m = s["machine"]
cpuinfo = open("/proc/cpuinfo").read()
fam = re.search(r"cpu family\s*:\s*(\d+)", cpuinfo)
model = re.search(r"^model\s*:\s*(\d+)", cpuinfo, re.M)
assert m["cpu_family"] == (int(fam.group(1)) if fam else None), m
assert m["cpu_model"] == (int(model.group(1)) if model else None), m
if fam:
    assert f", family {m['cpu_family']} model {m['cpu_model']})" in open(out + "/summary.md").read()
# The signed scenarios' data: over 3 years at every size by default; under --span growing over 3
# years per million events, at least one (5k events: 1), said so in the summary (since 2026-12-07).
assert s["span"] == span, s["span"]
assert ("Signed scenarios' data: 3 years per million events (`--span growing`)." in
        open(out + "/summary.md").read()) == (span == "growing")
for r in s["results"]:
    assert r["figure"] > 0, r
    if r["scenario"].startswith("ingest-"):
        assert r["raw"]["years"] == (1 if span == "growing" else 3), (span, r["raw"]["years"])
    # The host probe: at the start and at the end, named so in the summary's machine lines.
    if r["scenario"] == "host":
        f = r["figures"]
        assert f["sha256_mib_per_s"] > 0 and f["touch_again_ms_per_mib"] > 0, r
        assert f["memory_latency_ns"] > 0, r
        assert 0 <= f["steal_share"] <= 1 and r["raw"]["mib"] == 128, r
    # The rebuild's figure is the median of its three rounds.
    if r["scenario"] == "rebuild":
        rounds = r["figures"]["rebuild_rounds_per_s"]
        assert len(rounds) == 3 and round(r["figure"]) == sorted(rounds)[1], r
    # The paced run's page-cache samples (how much the kernel wrote back during it) were taken.
    if r["scenario"].startswith("ingest-kafka"):
        assert r["raw"]["paced_page_cache_kB"]["dirty_max"] >= 0, r["raw"]
        assert r["raw"]["sync_before_latency_seconds"] >= 0, r["raw"]
        assert "latency_writeback_max_mib" in r["figures"], r
        # The node's slowest polls of the paced run, slowest first; the slowest is the longest
        # time any paced event spent in the node (both are measured from the poll to a commit).
        polls = r["raw"]["paced_slowest_polls"]
        assert 1 <= len(polls) <= 5, polls
        assert polls == sorted(polls, key=lambda p: -p["in_node_ms"]), polls
        assert all(p["messages"] >= 1 and p["user_ms"] >= 0 and p["kernel_ms"] >= 0 and
                   p["waits"] >= 0 and p["machine_steal_ms"] >= 0 for p in polls), polls
        node_max = r["raw"]["paced_in_node_ms"]["max"]
        assert abs(polls[0]["in_node_ms"] - node_max) <= 0.5, (polls[0], node_max)
        assert r["figures"]["latency_slowest_poll_ms"] == round(polls[0]["in_node_ms"], 1), r
        # The node's heap populated before its start (--node-warm-heap, 256 MiB in --quick; the
        # release build links mimalloc, whose region it is), and said so in the line.
        assert r["raw"]["node_warm_heap_mib"] == 256, r["raw"]
        assert r["figures"]["node_heap_warmed_mib"] == 256, r["figures"]
        assert "the node's heap warmed first: 256 MiB in" in r["line"], r
    # The Ed25519 reference: a single-signed run measures both verifiers before and after it, in
    # --quick with openssl speed's tests 1 s long; a batch-signed run only the ledger's verifier,
    # once, before it (no target is set against it there).
    if r["scenario"] in ("ingest-embedded", "ingest-kafka"):
        raw = r["raw"]
        assert all(raw[f"{v}_ed25519_verify_per_s_per_core_{w}"] > 0
                   for v in ("openssl", "ledger") for w in ("before", "after")), raw
        assert raw["ed25519_reference_measured"].endswith(", 1 s each"), raw
    if r["scenario"] in ("ingest-embedded-batch", "ingest-kafka-batch", "ingest-kafka-import"):
        raw = r["raw"]
        assert raw["ledger_ed25519_verify_per_s_per_core_before"] > 0, raw
        assert raw["ledger_ed25519_verify_per_s_per_core_after"] == 0, raw
        assert raw["openssl_ed25519_verify_per_s_per_core"] == 0, raw
        assert raw["signature_bound_events_per_s"] > 0, raw
    # Each wrk run of the HTTP scenario with the host's steal during it, the status GET's in
    # its line.
    if r["scenario"] == "http":
        runs = {k: v for k, v in r["raw"].items() if isinstance(v, dict)}
        assert len(runs) == 5 and all(0 <= v["steal_share"] <= 1 for v in runs.values()), runs
        assert r["figures"]["status_steal_share"] == runs["status_session"]["steal_share"], r
        assert "(session, the host's steal " in r["line"], r
    # The import-shaped data set carries far fewer signatures than the windowed one: each
    # issuer's events in full batches of 1024 over the whole stream.
    if r["scenario"] == "ingest-kafka-import":
        assert r["raw"]["batch_window"] == 0, r["raw"]
        windowed = [b for b in s["results"] if b["scenario"] == "ingest-kafka-batch"][0]
        assert windowed["raw"]["batch_window"] == 1024, windowed["raw"]
        assert (r["raw"]["events_per_signature"] >
                1.5 * windowed["raw"]["events_per_signature"]), (r["raw"], windowed["raw"])
if "host" in want:
    assert [r["figures"]["when"] for r in s["results"] if r["scenario"] == "host"] == \
        ["start", "end"], s["results"]
    assert s["results"][0]["scenario"] == "host" and s["results"][-1]["scenario"] == "host"
judged = [t for t in s["targets"] if t["status"] != "not measured"]
assert len(judged) == targets, (targets, s["targets"])
md = open(out + "/summary.md").read()
assert md.count("\n| ") >= 6 + targets and "## Targets" in md, md
if "host" in want:
    assert "At the start: fresh memory" in md and "At the end: fresh memory" in md, md
print(f"bench.quick {sys.argv[2]}: {len(s['results'])} scenarios in {s['seconds']} s")
PY

#!/usr/bin/env bash
# A projection rebuild with its heap warm-up (src/base/heap_warmup.h) writes the same projections
# as one without it: mimalloc serving the rebuild from the region handed to it, populated ahead by
# another thread, changes where the memory comes from and nothing else. A 250k-entry shard made by
# projection_bench: enough for a region (64 MiB at least), which its round reports. verify
# --projections, which warms its heap the same way, must agree with the rebuild too.
set -u
bin=$1
bench=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}

"$bench" --entries 250000 --agencies 40 --rounds 1 --keep --dir "$tmp/shard" \
  --out "$tmp/bench.json" > "$tmp/bench.log" 2>&1 || fail "projection_bench: $(tail -5 "$tmp/bench.log")"
python3 - "$tmp/bench.json" <<'PY' || fail "the round adopted no region: $(cat "$tmp/bench.json")"
import json, sys
r = json.load(open(sys.argv[1]))["rebuild_rounds"][0]
print("round:", r)
assert r["heap_warm_region_mib"] >= 64, r
assert 0 <= r["heap_warmed_mib"] <= r["heap_warm_region_mib"], r
assert 0 <= r["heap_small_pages_mib"] <= r["heap_warm_region_mib"], r
PY
# The region's rest given 4 KiB pages from its first 4 MiB on, while the rebuild uses it
# (GOVCREDIT_HEAP_SMALL_PAGES_ABOVE=0: any cost of a 2 MiB page counts as dear). The populating
# thread runs only on idle cores: on a machine busy with other tests it may not reach 4 MiB before
# the round ends, and the round is run again (exit 2 below), at most five times.
switched_round() {
  GOVCREDIT_HEAP_SMALL_PAGES_ABOVE=0 "$bench" --rebuild-round --dir "$tmp/shard" > "$tmp/switched.json" ||
    fail "the round with the switch failed"
  python3 - "$tmp/switched.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("round, switched:", r)
if r["heap_warmed_mib"] <= 4 and r["heap_small_pages_mib"] == 0:
    sys.exit(2)  # the thread did not get as far as its first judgement
assert r["heap_small_pages_mib"] == r["heap_warm_region_mib"] - 4, r
PY
}
for attempt in 1 2 3 4 5; do
  switched_round
  case $? in
    0) break ;;
    2) [[ $attempt == 5 ]] && fail "the populating thread never populated 4 MiB in five rounds" ;;
    *) fail "the region kept its 2 MiB pages: $(cat "$tmp/switched.json")" ;;
  esac
done

mkdir "$tmp/data" && ln -s "$tmp/shard" "$tmp/data/shard-0"
digest() { sed -n 's/.*digest \([0-9a-f]*\)$/\1/p'; }
with=$("$bin" rebuild --data "$tmp/data" | digest)
without=$(GOVCREDIT_HEAP_WARMUP=0 "$bin" rebuild --data "$tmp/data" | digest)
small_pages=$(MIMALLOC_LARGE_OS_PAGES=0 "$bin" rebuild --data "$tmp/data" | digest)
switched=$(GOVCREDIT_HEAP_SMALL_PAGES_ABOVE=0 "$bin" rebuild --data "$tmp/data" | digest)
echo "digests: $with (warm-up), $without (GOVCREDIT_HEAP_WARMUP=0), $small_pages (4 KiB pages)," \
  "$switched (the region switched to 4 KiB pages)"
[[ ${#with} == 64 ]] || fail "rebuild printed no digest"
[[ $with == "$without" ]] || fail "the warm-up changed the projections: $with against $without"
[[ $with == "$small_pages" ]] || fail "4 KiB pages changed the projections: $small_pages"
[[ $with == "$switched" ]] || fail "the switch to 4 KiB pages changed the projections: $switched"
"$bin" verify --data "$tmp/data" --projections | grep -q "projections equal a rebuild (digest $with)" ||
  fail "verify --projections"
echo "ok"

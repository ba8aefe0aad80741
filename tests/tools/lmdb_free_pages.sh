#!/usr/bin/env bash
# tools/lmdb_free_pages.py accounts for every page of a shard as mdb_stat counts them: the pages
# of the trees, of the free list, the free pages and the two meta pages add up to "Number of pages
# used", and its free pages are mdb_stat's "Free pages".
set -euo pipefail
bin=$1
tool=$2
tmp=$(mktemp -d /tmp/govcredit-test-free-pages.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin" demo --data "$tmp/d" --records 300 > "$tmp/demo.out" || fail "demo: $(cat "$tmp/demo.out")"
shard="$tmp/d/shard-0"
out=$(python3 "$tool" "$shard") || fail "the tool failed: $out"
echo "$out"
stat=$(mdb_stat -ef "$shard")
used=$(echo "$stat" | sed -n 's/.*Number of pages used: \([0-9]*\).*/\1/p')
free=$(echo "$stat" | sed -n 's/.*Free pages: \([0-9]*\).*/\1/p')
[ -n "$used" ] && [ -n "$free" ] || fail "mdb_stat said: $stat"
[ "$free" -gt 0 ] || fail "the demo shard has no free pages, so this checks nothing"
echo "$out" | grep -qx "free pages: $free" || fail "mdb_stat counts $free free pages"
echo "$out" | grep -q "^pages: .* = $used\$" || fail "mdb_stat counts $used pages used"
echo "ok: $used pages, $free free"

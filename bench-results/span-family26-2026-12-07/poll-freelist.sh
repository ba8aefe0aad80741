#!/bin/bash
# PERFORMANCE.md §5.55: every 10 s while a process matching PATTERN runs, ingest_bench's progress
# (from its log LOG) and shard SHARD's LMDB free list and size (mdb_stat -f, mdb_stat -e).
#   poll-freelist.sh PATTERN LOG SHARD > OUT
#   (as run: poll-freelist.sh gc-s64-10M /tmp/gc-s64-10M.log /tmp/gc-s64-10M/shard-0)
pattern=$1 log=$2 shard=$3
while pgrep -f "$pattern" > /dev/null; do
  n=$(grep -o "ingest [0-9]* /" "$log" | tail -1)
  f=$(mdb_stat -f "$shard" 2>/dev/null | grep -E "Free pages|entries|Tree depth" | tr '\n' ' ')
  e=$(mdb_stat -e "$shard" 2>/dev/null | grep -E "Number of pages used|Last transaction" | tr '\n' ' ')
  echo "$(date +%s) $n | $f | $e"
  sleep 10
done

#!/bin/bash
# poll shard-0's free list while the ingest runs
while pgrep -f "gc-s64-10M" > /dev/null; do
  n=$(grep -o "ingest [0-9]* /" /tmp/gc-s64-10M.log | tail -1)
  f=$(mdb_stat -f /tmp/gc-s64-10M/shard-0 2>/dev/null | grep -E "Free pages|entries|Tree depth" | tr '\n' ' ')
  e=$(mdb_stat -e /tmp/gc-s64-10M/shard-0 2>/dev/null | grep -E "Number of pages used|Last transaction" | tr '\n' ' ')
  echo "$(date +%s) $n | $f | $e"
  sleep 10
done

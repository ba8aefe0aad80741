#!/bin/bash
# PERFORMANCE.md §5.55: every 5 s while a process matching PATTERN runs, the progress line of the
# log LOG (kafka_bench's "ingested N / M"), the kernel's reclaim counters (/proc/vmstat: pages
# stolen by kswapd and by direct reclaim, file pages read back after their eviction, major
# faults) and the memory in use, in the page cache and free (MiB).
#   poll-vmstat.sh PATTERN LOG > OUT   (e.g. poll-vmstat.sh run-freed-10M /tmp/gc-freed.log)
pattern=$1 log=$2
while pgrep -f "$pattern" > /dev/null; do
  p=$(tail -c 300 "$log" | tr '\r' '\n' | grep -o "[a-z]* [0-9]* / [0-9]*" | tail -1)
  v=$(grep -E "^(pgsteal_kswapd|pgsteal_direct|workingset_refault_file|pgmajfault) " /proc/vmstat |
    awk '{printf "%s=%s ", $1, $2}')
  m=$(free -m | awk '/Mem:/ {printf "used=%s cache=%s free=%s", $3, $6, $4}')
  echo "$(date +%T) [$p] $v $m"
  sleep 5
done

#!/usr/bin/env bash
# PERFORMANCE.md §5.54: the suite's embedded batch-signed ingest (ingest_bench --batch-signed 1024)
# at one size, looked at while it ingests:
#   measure.sh stat EVENTS FROM TO       /proc/stat and the I/O pressure (/proc/pressure/io) between
#                                        the progress lines "ingest FROM" and "ingest TO"
#   measure.sh perf EVENTS AT SECONDS    perf record -g -F 999 of the process from "ingest AT" on
#                                        for SECONDS, its samples sorted by where they fell
#   measure.sh phases EVENTS             the writing threads' time by phase; needs an ingest_bench
#                                        built with phases.patch (GOVCREDIT_INGEST_BENCH=...)
# INGEST_ARGS adds options to ingest_bench's (e.g. INGEST_ARGS="--max-batch 20000").
# (run from the repository's root after ops/build.sh release; used as `stat 1000000 100000
#  900000`, `stat 10000000 1000000 9000000`, `perf 1000000 200000 3`, `perf 10000000 3000000 20`,
#  `phases 1000000`, `phases 10000000`; each prints its figures, and keeps its log and JSON in /tmp)
set -euo pipefail
mode=$1 events=$2
bench=${GOVCREDIT_INGEST_BENCH:-build/release/tools/ingest_bench}
out=/tmp/gc-$mode-$events${INGEST_ARGS:+-${INGEST_ARGS// /}}
rm -rf /tmp/gc-ingest-shards
"$bench" --events "$events" --batch-signed 1024 --dir /tmp/gc-ingest-shards --out "$out.json" \
  ${INGEST_ARGS:-} > "$out.log" 2>&1 &
pid=$!
at() {  # waits for the progress line "ingest N /"
  until grep -qs "ingest $1 /" "$out.log"; do sleep 0.05; kill -0 $pid 2>/dev/null || exit 1; done
}
snap() {
  echo "$(date +%s.%N) $(head -1 /proc/stat) io $(sed -n 's/^full.*total=//p' /proc/pressure/io)"
}
case $mode in
  stat) at "$3"; snap > "$out.stat"; at "$4"; snap >> "$out.stat" ;;
  perf) at "$3"; perf record -g -F 999 -p $pid -o "$out.perf" -- sleep "$4" > /dev/null 2>&1 ;;
esac
wait $pid
grep -o "ingest: [0-9.]* events/s" "$out.log"
case $mode in
  stat)
    python3 - "$out.stat" "$(($4 - $3))" << 'PY'
import sys
a, b = [line.split() for line in open(sys.argv[1])]
seconds, events = float(b[0]) - float(a[0]), float(sys.argv[2])
ticks = [y - x for x, y in zip(map(int, a[2:12]), map(int, b[2:12]))]
total = sum(ticks)
names = "user nice system idle iowait irq softirq steal guest guest_nice".split()
print(", ".join(f"{n} {100 * t / total:.1f}%" for n, t in zip(names, ticks) if t))
user = (ticks[0] + ticks[1]) / total * 2 * seconds / events * 1e6
kernel = (ticks[2] + ticks[5] + ticks[6]) / total * 2 * seconds / events * 1e6
print(f"{seconds:.2f} s, {events / seconds:.0f} events/s; CPU per event {user + kernel:.2f} µs "
      f"(user {user:.2f}, kernel {kernel:.2f}); every task stalled on I/O "
      f"{(int(b[13]) - int(a[13])) / 1e4 / seconds:.1f}% of the time")
PY
    ;;
  perf)
    perf script -i "$out.perf" -F comm,tid,ip,sym,dso 2> /dev/null | python3 -c '
import collections, sys
counts, total = collections.Counter(), 0
for block in sys.stdin.read().split("\n\n"):
    frames = [f.strip() for f in block.strip().split("\n")[1:] if f.strip()]
    if not frames:
        continue
    total += 1
    stack, leaf = " ".join(frames), frames[0]
    if "kernel" in leaf:
        where = next((name for key, name in (("fsync", "fdatasync"), ("writev", "writev"),
                      ("pwrite", "pwrite"), ("exc_page_fault", "page faults"), ("irq", "interrupts"))
                      if key in stack), "other")
        place = "kernel: " + where
    else:
        place = next((name for key, name in (("libsodium", "libsodium"), ("libcrypto", "libcrypto"),
                      ("/libc.so", "libc"), ("mimalloc", "mimalloc"), ("liblmdb", "LMDB"),
                      ("libstdc++", "libstdc++"), ("ingest_bench", "program")) if key in leaf),
                     "other")
    counts[place] += 1
for place, n in sorted(counts.items()):
    print(f"{place:22s} {n:6d} {100 * n / total:5.1f}%")
print(f"{total} samples")'
    ;;
  phases) grep "^EXP" "$out.log" ;;
esac

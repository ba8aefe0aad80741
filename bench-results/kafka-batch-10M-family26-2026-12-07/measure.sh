#!/usr/bin/env bash
# PERFORMANCE.md §5.53: the suite's batch-signed Kafka scenario at one size, with the node looked at
# during its drain, from DELAY seconds after its heap is warmed, for SECONDS:
#   measure.sh perf SIZE DELAY SECONDS     perf record -a -g -F 999 -> /tmp/gc-prof-SIZE.data
#   measure.sh strace SIZE DELAY SECONDS   the node's writes and syncs, counted
# (run from the repository's root with a broker on 127.0.0.1:19092; used as
#  `perf 1M 0.3 4`, `perf 10M 30 20`, `strace 1M 0.3 3`, `strace 10M 30 5`)
# BENCH_ARGS adds options to tools/bench's (§5.56 ran `perf 1M 0.3 4` and `perf 10M 30 20` with
#  BENCH_ARGS="--span growing")
set -euo pipefail
mode=$1 size=$2 delay=$3 seconds=$4
log=/tmp/gc-$mode-$size.log
tools/bench --kafka 127.0.0.1:19092 --only ingest-kafka-batch --signed-sizes "$size" --no-http ${BENCH_ARGS:-} \
  --out "/tmp/gc-$mode-out-$size" > "$log" 2>&1 &
bench=$!
until grep -q "populated .* MiB of heap" "$log"; do sleep 0.2; kill -0 $bench 2>/dev/null || exit 1; done
sleep "$delay"
if [ "$mode" = perf ]; then
  perf record -a -g -F 999 -o "/tmp/gc-prof-$size.data" -- sleep "$seconds" > /dev/null 2>&1
else
  timeout "$seconds" strace -f -p "$(pgrep -n kafka_bench)" \
    -e trace=writev,pwrite64,pwritev,fdatasync,fsync -o "/tmp/gc-io-$size.strace" > /dev/null 2>&1 || true
fi
wait $bench
grep -- "^---" "$log" | cut -c1-200
[ "$mode" = perf ] && exit 0
python3 - "/tmp/gc-io-$size.strace" << 'PY'
import re, sys
written = calls = syncs = 0
for line in open(sys.argv[1]):
    m = re.search(r"(writev|pwrite64|pwritev)\(.*\)\s*=\s*(\d+)", line)
    if m:
        written += int(m.group(2))
        calls += 1
    if "fdatasync(" in line or "fsync(" in line:
        syncs += 1
print(f"writes {calls}, bytes {written}, syncs {syncs}, bytes per sync {written / max(syncs, 1):.0f}")
PY

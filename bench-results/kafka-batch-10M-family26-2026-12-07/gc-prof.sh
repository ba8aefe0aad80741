#!/usr/bin/env bash
# profile the node during a batch-signed drain: $1 size (1M|10M), $2 delay after heap warm, $3 seconds
cd /work/main
log=/tmp/gc-prof-$1.log
tools/bench --kafka 127.0.0.1:19092 --only ingest-kafka-batch --signed-sizes $1 --no-http --out /tmp/gc-prof-out-$1 > $log 2>&1 &
bp=$!
until grep -q "populated .* MiB of heap" $log; do sleep 0.2; kill -0 $bp 2>/dev/null || exit 1; done
sleep $2
perf record -a -g -F 999 -o /tmp/gc-prof-$1.data -- sleep $3 > /dev/null 2>&1
wait $bp
grep -- "^---" $log | cut -c1-250

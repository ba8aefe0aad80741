#!/usr/bin/env bash
# bytes LMDB writes per commit during a batch-signed drain: $1 size, $2 delay after heap warm, $3 seconds
cd /work/main
log=/tmp/gc-io-$1.log
tools/bench --kafka 127.0.0.1:19092 --only ingest-kafka-batch --signed-sizes $1 --no-http --out /tmp/gc-io-out-$1 > $log 2>&1 &
bp=$!
until grep -q "populated .* MiB of heap" $log; do sleep 0.2; kill -0 $bp 2>/dev/null || exit 1; done
sleep $2
pid=$(pgrep -n kafka_bench)
timeout $3 strace -f -p $pid -e trace=writev,pwrite64,pwritev,fdatasync,fsync -o /tmp/gc-io-$1.strace > /dev/null 2>&1
wait $bp
grep -- "^---" $log | cut -c1-200
python3 - /tmp/gc-io-$1.strace <<'PY'
import re,sys
w=0;n=0;s=0
for l in open(sys.argv[1]):
    m=re.search(r'(writev|pwrite64|pwritev)\(.*\)\s*=\s*(\d+)',l)
    if m: w+=int(m.group(2)); n+=1
    if 'fdatasync(' in l or 'fsync(' in l: s+=1
print(f"writes {n}, bytes {w}, syncs {s}, bytes per sync {w/max(s,1):.0f}")
PY

#!/usr/bin/env bash
# run.sh EVENTS FROM TO PIN(0|1) [ingest_bench options]: PERFORMANCE.md §5.56 (README.md here says
# what it measures); PIN=1 runs /tmp/gc-pin/pin (pin.c built there) beside the ingest from the
# progress line FROM on
set -euo pipefail
cd /work/main
events=$1 from=$2 to=$3 pin=$4; shift 4
out=/tmp/gc-pin/r-$events-pin$pin${*:+-${*// /}}
rm -rf /tmp/gc-ingest-shards
build/release/tools/ingest_bench --events "$events" --batch-signed 1024 --dir /tmp/gc-ingest-shards --out "$out.json" --keep "$@" > "$out.log" 2>&1 &
pid=$!
at() { until grep -qs "ingest $1 /" "$out.log"; do sleep 0.05; kill -0 $pid 2>/dev/null || exit 1; done; }
snap() { echo "$(date +%s.%N) $(head -1 /proc/stat)"; }
if [ "$pin" = 1 ]; then
  at "$from"
  /tmp/gc-pin/pin /tmp/gc-ingest-shards/shard-{0,1,2,3} 2> "$out.pin" & pinpid=$!
fi
at "$from"; snap > "$out.stat"; at "$to"; snap >> "$out.stat"
timeout 4 strace -f -c -e trace=writev,pwrite64,fdatasync -p $pid -o "$out.strace" > /dev/null 2>&1 || true
wait $pid
[ "$pin" = 1 ] && { kill $pinpid; wait $pinpid 2>/dev/null || true; }
du -sm /tmp/gc-ingest-shards > "$out.du"
grep -o "ingest: [0-9.]* events/s" "$out.log"
python3 - "$out.stat" "$((to - from))" << 'PY'
import sys
a, b = [line.split() for line in open(sys.argv[1])]
seconds, events = float(b[0]) - float(a[0]), float(sys.argv[2])
ticks = [y - x for x, y in zip(map(int, a[2:12]), map(int, b[2:12]))]
total = sum(ticks)
user = (ticks[0] + ticks[1]) / total * 2 * seconds / events * 1e6
kernel = (ticks[2] + ticks[5] + ticks[6]) / total * 2 * seconds / events * 1e6
print(f"{seconds:.2f} s, {events / seconds:.0f} events/s; CPU per event {user + kernel:.2f} us (user {user:.2f}, kernel {kernel:.2f}) idle+iowait {100*(ticks[3]+ticks[4])/total:.1f}%")
PY
grep -E 'writev|pwrite64|fdatasync' "$out.strace" || true
cat "$out.du" "$out.pin" 2>/dev/null || true

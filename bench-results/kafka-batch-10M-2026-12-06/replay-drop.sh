#!/bin/bash
# replay-drop.sh LABEL TOPIC_PID: the node replay with bench-results/drop-behind/dropper.py
# dropping the shards' unmapped clean pages from the page cache every 0.5 s
label=$1; pid=$2
dir=/tmp/gc-exp/data-$label
rm -rf $dir; sync; mkdir -p $dir
python3 /work/main/bench-results/drop-behind/dropper.py $dir 0.5 &
dropper=$!
/usr/bin/time -v /work/main/build/release/src/govcredit node --kafka 127.0.0.1:19092 \
  --topic bench.events.$pid --rejected-topic bench.rejected.$pid --data $dir --group g-$label-$RANDOM \
  --exit-when-idle 3000 --warm-heap 1536MiB --quiet > /tmp/gc-exp/$label.out 2> /tmp/gc-exp/$label.err
kill $dropper; wait $dropper 2>/dev/null
grep -E "Elapsed|User time|System time|Maximum resident|Minor|Major" /tmp/gc-exp/$label.err | tr '\n' ' '; echo " [$label dropper]"
rm -rf $dir

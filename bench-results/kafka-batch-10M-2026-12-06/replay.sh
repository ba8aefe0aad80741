#!/bin/bash
# replay.sh LABEL TOPIC_PID [env...]
label=$1; pid=$2; shift 2
dir=/tmp/gc-exp/data-$label
rm -rf $dir; sync
env "$@" /usr/bin/time -v /work/main/build/release/src/govcredit node --kafka 127.0.0.1:19092 \
  --topic bench.events.$pid --rejected-topic bench.rejected.$pid --data $dir --group g-$label-$RANDOM \
  --exit-when-idle 3000 --warm-heap 1536MiB --quiet > /tmp/gc-exp/$label.out 2> /tmp/gc-exp/$label.err
grep -E "Elapsed|User time|System time|Maximum resident|Minor" /tmp/gc-exp/$label.err | tr '\n' ' '; echo " [$label]"
rm -rf $dir

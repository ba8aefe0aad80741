#!/bin/bash
# pairs.sh BIN SHARD PAIRS OUT.jsonl: rebuild rounds of a kept shard (projection_bench
# --rebuild-round), alternating the build's default ("adaptive") with XNOADAPT=1 set ("2mib":
# the 2 MiB pages kept whatever they cost, as before; the variable existed only in the build
# measured here, not in the committed code), each pair's order flipped from the one before.
bin=$1 shard=$2 pairs=$3 out=$4
for i in $(seq 1 "$pairs"); do
  if [ $((i % 2)) = 1 ]; then order="adaptive 2mib"; else order="2mib adaptive"; fi
  for v in $order; do
    if [ $v = 2mib ]; then e="XNOADAPT=1"; else e="UNUSED=1"; fi
    env $e "$bin" --rebuild-round --dir "$shard" |
      python3 -c "import json,sys; r=json.load(sys.stdin); r['variant']='$v'; r['pair']=$i; r['at']='$(date -u +%H:%M:%S)'; print(json.dumps(r))" >> "$out"
  done
done

#!/usr/bin/env bash
# Samples memory latency and a warm rebuild round of a kept 1M shard every ~70 s.
cd /work/main
end=$(( $(date +%s) + ${1:-1800} ))
while [ "$(date +%s)" -lt "$end" ]; do
  t=$(date -u +%H:%M:%S)
  lat=$(build/release/tools/memory_latency --mib 256 --out /tmp/gc-corr/lat.json | python3 -c "import json,sys; print(json.load(sys.stdin)['ns_per_dependent_load'])")
  build/release/tools/projection_bench --rebuild-round --dir /tmp/gc-pb > /tmp/gc-corr/r1.json
  build/release/tools/projection_bench --rebuild-round --dir /tmp/gc-pb > /tmp/gc-corr/r2.json
  python3 - "$t" "$lat" <<'PY' >> /tmp/gc-corr/samples.jsonl
import json, sys
r1 = json.load(open("/tmp/gc-corr/r1.json")); r2 = json.load(open("/tmp/gc-corr/r2.json"))
print(json.dumps({"at": sys.argv[1], "latency_ns": round(float(sys.argv[2]), 1),
                  "round1_per_s": round(r1["events_per_s"]), "round1_sys_s": r1["sys_s"],
                  "round2_per_s": round(r2["events_per_s"]), "round2_user_s": r2["user_s"],
                  "round2_sys_s": r2["sys_s"]}))
PY
  sleep 60
done

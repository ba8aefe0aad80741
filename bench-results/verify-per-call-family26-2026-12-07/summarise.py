#!/usr/bin/env python3
"""summarise.py [bench.log]: libsodium's crypto_sign_verify_detached, CPU per call, by phase of each
kafka_bench run (vtime.c's VTIME lines, one per 5,000 calls; PERFORMANCE.md §5.57)."""
import re
import statistics
import sys

data, size, phase = {}, None, None
for line in open(sys.argv[1] if len(sys.argv) > 1 else "bench.log", errors="replace"):
    if line.startswith("=== ingest-kafka-batch at"):
        size, phase = line.split()[-2], "the Ed25519 reference"
    elif "throughput run" in line:
        phase = "the node's drain"
    elif "latency run" in line:
        phase = "the latency run"
    for m in re.finditer(r"VTIME \S+ pid \d+ calls \d+ last 5000: cpu ([\d.]+) us/call", line):
        data.setdefault((size, phase), []).append(float(m.group(1)))
for (size, phase), v in data.items():
    print(f"{size:>4} {phase:<22} {len(v):4} intervals of 5,000 calls: median {statistics.median(v):.2f}, "
          f"mean {statistics.mean(v):.2f}, {min(v):.2f}-{max(v):.2f} us of CPU per call")

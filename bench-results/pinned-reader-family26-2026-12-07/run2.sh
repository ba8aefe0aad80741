#!/usr/bin/env bash
# run2.sh EVENTS FROM TO [ingest args...]: every task's CPU between two progress lines
set -euo pipefail
cd /work/main
events=$1 from=$2 to=$3; shift 3
out=/tmp/gc-pin/p-$events${*:+-${*// /}}
rm -rf /tmp/gc-ingest-shards
build/release/tools/ingest_bench --events "$events" --batch-signed 1024 --dir /tmp/gc-ingest-shards --out "$out.json" "$@" > "$out.log" 2>&1 &
pid=$!
python3 - "$out.log" "$from" "$to" "$pid" << 'PY'
import sys, time, collections
sys.path.insert(0, '/tmp/gc-pin'); from procs import snap
log, a, b, pid = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def at(n):
    while f"ingest {n} /" not in open(log).read(): time.sleep(0.05)
def pstat():
    s = open(f'/proc/{pid}/stat').read(); f = s[s.rindex(')')+2:].split()
    return int(f[11]), int(f[12]), int(f[7])
def vm():
    d = dict(l.split() for l in open('/proc/vmstat'))
    m = dict((l.split()[0], l.split()[1]) for l in open('/proc/meminfo'))
    return d, m
at(a); va, ma = vm(); ta, sa = snap(); sta = open('/proc/stat').readline().split(); pa = pstat()
at(b); tb, sb = snap(); stb = open('/proc/stat').readline().split(); pb = pstat(); vb, mb = vm()
ev = b - a; hz = 100.0
ticks = [int(y) - int(x) for x, y in zip(sta[1:11], stb[1:11])]
print(f"{tb-ta:.2f} s, {ev/(tb-ta):.0f} events/s; machine: user {(ticks[0]+ticks[1])/hz/ev*1e6:.2f} sys {(ticks[2]+ticks[5]+ticks[6])/hz/ev*1e6:.2f} idle {ticks[3]/hz/ev*1e6:.2f} iowait {ticks[4]/hz/ev*1e6:.2f} us/event")
print(f"ingest_bench process (all threads, ended ones too): user {(pb[0]-pa[0])/hz/ev*1e6:.2f} sys {(pb[1]-pa[1])/hz/ev*1e6:.2f} us/event, minflt/event {(pb[2]-pa[2])/ev:.3f}")
keys = ['pgsteal_kswapd', 'pgsteal_direct', 'pgscan_kswapd', 'pgscan_direct', 'workingset_refault_file', 'workingset_refault_anon', 'pgmajfault', 'pgfault', 'pgfree', 'pgalloc_normal']
print('vmstat per 1000 events: ' + ', '.join(f"{k} {(int(vb[k]) - int(va[k])) * 1000 / ev:.1f}" for k in keys if k in vb))
print(f"MemFree {int(ma['MemFree:'])>>10} -> {int(mb['MemFree:'])>>10} MiB, Cached {int(ma['Cached:'])>>10} -> {int(mb['Cached:'])>>10} MiB, AnonPages {int(ma['AnonPages:'])>>10} -> {int(mb['AnonPages:'])>>10} MiB")
groups = collections.Counter(); flt = collections.Counter()
for k, (comm, u, s, m) in sb.items():
    u0, s0, m0 = sa.get(k, (comm, 0, 0, 0))[1:]
    g = ('ingest_bench:' + comm) if k[0] == pid else comm.rstrip('0123456789/:-_.') 
    groups[(g, 'user')] += u - u0; groups[(g, 'sys')] += s - s0; flt[g] += m - m0
tot = collections.Counter()
for (g, kind), v in groups.items(): tot[g] += v
for g, v in tot.most_common(14):
    if v == 0: break
    print(f"{g:40s} user {groups[(g,'user')]/hz/ev*1e6:6.2f} sys {groups[(g,'sys')]/hz/ev*1e6:6.2f} us/event  minflt/event {flt[g]/ev:.3f}")
PY
wait $pid
grep -o "ingest: [0-9.]* events/s" "$out.log"

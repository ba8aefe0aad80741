# kagg.py PERF_DATA: a `perf record -a -g` file's samples by process, and the Kafka node's (the
# process with the most libsodium samples) by library, per 100 of its libsodium samples (§5.56).
import collections, subprocess, sys
out = subprocess.run(['perf', 'script', '-i', sys.argv[1], '-F', 'pid,comm,ip,dso', '--no-inline'],
                     capture_output=True, text=True).stdout
bypid = collections.Counter(); procs = collections.defaultdict(collections.Counter); comm = {}
for block in out.split('\n\n'):
    lines = [l for l in block.strip().split('\n') if l.strip()]
    if not lines: continue
    c, pid = lines[0].strip().rsplit(None, 1)  # the header is "comm pid"
    leaf = lines[1] if len(lines) > 1 else ''
    bypid[pid] += 1; comm.setdefault(pid, collections.Counter())[c] += 1
    place = 'kernel' if '[kernel' in leaf else next((n for k, n in (('libsodium', 'libsodium'), ('libcrypto', 'libcrypto'), ('/libc.so', 'libc'), ('mimalloc', 'mimalloc'), ('liblmdb', 'LMDB'), ('libstdc++', 'libstdc++'), ('librdkafka', 'librdkafka'), ('kafka_bench', 'program')) if k in leaf), 'other')
    procs[pid][place] += 1
total = sum(bypid.values())
for pid, n in bypid.most_common(4):
    print(f"pid {pid} {comm[pid].most_common(2)} {n} samples ({100*n/total:.1f}%)")
node = max(bypid, key=lambda p: procs[p]['libsodium'])
c = procs[node]; y = c['libsodium']
print('node pid', node, 'per 100 libsodium samples:')
for k, v in sorted(c.items(), key=lambda kv: -kv[1]):
    print(f"  {k:12s} {v:7d} {100*v/y:7.1f}")
print(f"  {'all':12s} {sum(c.values()):7d} {100*sum(c.values())/y:7.1f}")

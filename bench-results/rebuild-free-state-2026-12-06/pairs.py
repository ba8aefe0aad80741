import json,os,subprocess,sys,time,statistics
# python3 pairs.py KEPT_SHARD_DIR PAIRS A_PROJECTION_BENCH B_PROJECTION_BENCH
d = sys.argv[1]; n = int(sys.argv[2]); A = sys.argv[3]; B = sys.argv[4]
res={'A':[],'B':[]}
for i in range(n):
    order=['A','B'] if i%2==0 else ['B','A']
    out=[]
    for k in order:
        t=time.monotonic()
        r=subprocess.run([A if k=='A' else B,'--rebuild-round','--dir',d],capture_output=True,text=True)
        w=time.monotonic()-t
        j=json.loads(r.stdout)
        res[k].append((j['seconds'],w))
        out.append(f"{k} {j['seconds']:.3f} s (process {w:.3f})")
    print(' | '.join(out),flush=True)
for k in 'AB':
    print(k,'median rebuild',round(statistics.median(x[0] for x in res[k]),3),'process',round(statistics.median(x[1] for x in res[k]),3))
print('B faster in',sum(1 for a,b in zip(res['A'],res['B']) if b[0]<a[0]),'of',n)

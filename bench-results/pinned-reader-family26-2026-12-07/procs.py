# procs.py: every task's user and system time and minor faults from /proc, for run2.sh (§5.56)
import os, sys, time
def snap():
    out = {}
    for p in os.listdir('/proc'):
        if not p.isdigit(): continue
        try:
            for t in os.listdir(f'/proc/{p}/task'):
                s = open(f'/proc/{p}/task/{t}/stat').read()
                comm = s[s.index('(')+1:s.rindex(')')]
                f = s[s.rindex(')')+2:].split()
                out[(p, t)] = (comm, int(f[11]), int(f[12]), int(f[7]))  # utime, stime, minflt
        except (FileNotFoundError, ProcessLookupError, ValueError):
            pass
    return time.time(), out

#!/usr/bin/env python3
"""How fast this machine is right now, in the ways the benchmark figures of docs/PERFORMANCE.md
have been seen to move between hours of the same build (§2, §3.3, §5.34, §5.38): what the kernel
and the VM's host charge for memory touched for the first time, the speed of one core, and how
long a core waits for memory no cache holds. tools/bench runs it at the start and at the end of
a run, so a reader can tell a slow hour from a slow build; it can be run alone too.

    tools/host_probe.py [--mib 512] [--settle 5] [--latency-program PATH] [--out host.json]

Fresh memory: first waits SETTLE seconds, so that memory other programs freed just before is
back with the host (the guest reports free 2 MiB blocks to it about two seconds after they are
freed; memory reused before that costs almost nothing, and would hide the host's charge), then
maps MIB of anonymous memory (2 MiB pages where transparent huge pages allow them, as the
benchmarks' allocator asks for), writes all of it once (the first touch: the kernel zeroes each
page, and on a VM that reports its free memory to its host, the host backs it again first), then
writes it again (the same pages, already backed: the copy alone). Both are timed as milliseconds
per MiB. One core: SHA-256 (OpenSSL, through hashlib; the ledger's hash) of a 64 MiB buffer, the
best of three, in MiB/s. Memory latency, with --latency-program (the release build's
tools/memory_latency): nanoseconds per dependent load through 256 MiB in a random order. Also
the share of the probe's time the host stole from this machine (the steal column of /proc/stat)
and whether transparent huge pages were in use.

Prints one line and writes the JSON to --out (or standard output). Linux only.
"""
import argparse
import hashlib
import json
import mmap
import os
import subprocess
import sys
import tempfile
import time

PAGE_RUN = 64 << 20  # written 64 MiB at a time


def steal_and_total():
    """The machine's steal and total CPU ticks so far (/proc/stat's first line)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (ticks[7] if len(ticks) > 7 else 0), sum(ticks)


def huge_pages_mode():
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            text = f.read()
        return text[text.index("[") + 1:text.index("]")]
    except (OSError, ValueError):
        return "unknown"


def write_all(m, size, chunk):
    for off in range(0, size, len(chunk)):
        n = min(len(chunk), size - off)
        m[off:off + n] = chunk[:n]


def touch(mib):
    """(first, again) milliseconds per MiB for writing mib MiB of new anonymous memory twice."""
    size = mib << 20
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    try:
        if hasattr(m, "madvise") and hasattr(mmap, "MADV_HUGEPAGE"):
            m.madvise(mmap.MADV_HUGEPAGE)
        chunk = b"\x5a" * min(PAGE_RUN, size)
        t0 = time.perf_counter()
        write_all(m, size, chunk)
        t1 = time.perf_counter()
        write_all(m, size, chunk)
        t2 = time.perf_counter()
    finally:
        m.close()
    return (t1 - t0) * 1e3 / mib, (t2 - t1) * 1e3 / mib


def sha256_rate():
    data = b"\xa5" * (64 << 20)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        hashlib.sha256(data).digest()
        best = min(best, time.perf_counter() - t0)
    return 64 / best


def latency_ns(program):
    """tools/memory_latency's nanoseconds per dependent load (raises OSError or
    subprocess.CalledProcessError when it cannot run)."""
    with tempfile.TemporaryDirectory(prefix="host-probe-") as tmp:
        out = os.path.join(tmp, "latency.json")
        subprocess.run([program, "--mib", "256", "--out", out], check=True,
                       stdout=subprocess.DEVNULL)
        with open(out) as f:
            return json.load(f)["ns_per_dependent_load"]


def probe(mib, settle, latency_program=None):
    time.sleep(settle)
    steal0, total0 = steal_and_total()
    t0 = time.time()
    first, again = touch(mib)
    sha = sha256_rate()
    latency = latency_ns(latency_program) if latency_program else None
    steal1, total1 = steal_and_total()
    return {
        "at": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t0)),
        "mib": mib,
        "settle_s": settle,
        "first_touch_ms_per_mib": round(first, 3),
        "touch_again_ms_per_mib": round(again, 3),
        "sha256_mib_per_s": round(sha, 1),
        "memory_latency_ns": round(latency, 1) if latency is not None else None,
        "steal_share": round((steal1 - steal0) / (total1 - total0), 4) if total1 > total0 else 0.0,
        "transparent_huge_pages": huge_pages_mode(),
    }


def line(r):
    latency = (f", a load from memory {r['memory_latency_ns']:.0f} ns"
               if r.get("memory_latency_ns") is not None else "")
    return (f"fresh memory {r['first_touch_ms_per_mib']:.2f} ms per MiB on its first touch "
            f"({r['touch_again_ms_per_mib']:.2f} again; {r['mib']} MiB), one core's SHA-256 "
            f"{r['sha256_mib_per_s']:.0f} MiB/s{latency}, the host's steal "
            f"{100 * r['steal_share']:.1f}%")


def main():
    p = argparse.ArgumentParser(prog="tools/host_probe.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mib", type=int, default=512,
                   help="MiB of fresh memory to touch (default 512; 16 to 16384)")
    p.add_argument("--out", default=None, help="result JSON (default: standard output)")
    p.add_argument("--settle", type=float, default=5.0,
                   help="seconds to wait first (default 5; 0 to 60)")
    p.add_argument("--latency-program", default=None,
                   help="tools/memory_latency of a release build: also measure memory latency")
    a = p.parse_args()
    if not 16 <= a.mib <= 16384:
        p.error(f"--mib {a.mib}: between 16 and 16384")
    if not 0 <= a.settle <= 60:
        p.error(f"--settle {a.settle}: between 0 and 60")
    if a.latency_program and not os.access(a.latency_program, os.X_OK):
        p.error(f"--latency-program {a.latency_program}: not an executable (ops/build.sh release)")
    try:
        r = probe(a.mib, a.settle, a.latency_program)
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        # mmap refused (memory), /proc unreadable, memory_latency failed
        print(f"host_probe: {e}", file=sys.stderr)
        return 1
    print("host_probe: " + line(r), file=sys.stderr)
    text = json.dumps(r, indent=2) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

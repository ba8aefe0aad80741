#!/usr/bin/env python3
"""Runs a command (a benchmark) and samples, every 20 ms, which of its threads are in
uninterruptible sleep and on what kernel function (/proc/PID/task/TID/wchan), beside the
kernel's Dirty and Writeback memory; every line the command prints is logged with the same
clock. For the open question of docs/PERFORMANCE.md §3.2 (a produce -> proof stall on the
node's side): compare the stall's time (kafka_bench's `over_100ms_sent_at_s`, counted from the
start of its paced run, which the log shows) with what the node's threads were waiting on.

    tools/stall_monitor.py --log stalls.log -- build/release/tools/kafka_bench --events 1000000 --paced 5000

Linux only; it reads /proc and never signals the command.
"""
import argparse
import os
import subprocess
import threading
import time


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":", 1)
            if key in ("Dirty", "Writeback"):
                out[key] = value.split()[0]
    return out


def thread_states(pid, every_state=False):
    """(tid, name, wchan) of each thread of pid in state D; with every_state, of every thread,
    with its state (R running or runnable, S sleeping, D uninterruptible)."""
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state != "D" and not every_state:
                continue
            with open(f"/proc/{pid}/task/{tid}/wchan") as f:
                wchan = f.read()
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            found.append(f"{tid}:{name}:{state}:{wchan}" if every_state else f"{tid}:{name}:{wchan}")
        except OSError:  # the thread ended meanwhile
            pass
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log", default="stall_monitor.log", help="where the samples go")
    ap.add_argument("--every-ms", type=float, default=20, help="sampling interval")
    ap.add_argument("--every-thread", action="store_true",
                    help="log every thread's state and wait channel, not only those in D")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = ap.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        ap.error("no command given (put it after --)")
    t0 = time.monotonic()
    with open(args.log, "w") as log:
        lock = threading.Lock()

        def write(line):
            with lock:
                log.write(f"{time.monotonic() - t0:9.3f} {line}\n")

        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

        def relay():  # progress lines end in \r or \n
            buf = b""
            while chunk := proc.stdout.read1(4096):
                buf += chunk
                *lines, buf = buf.replace(b"\r", b"\n").split(b"\n")
                for line in lines:
                    if line.strip():
                        write("OUT " + line.decode(errors="replace")[:300])
            if buf.strip():  # a last line without its end
                write("OUT " + buf.decode(errors="replace")[:300])

        reader = threading.Thread(target=relay, daemon=True)
        reader.start()
        while proc.poll() is None:
            try:
                m = meminfo()
                threads = thread_states(proc.pid, args.every_thread)
                write(f"MON {'T' if args.every_thread else 'D'}={threads} dirty_kB={m.get('Dirty')} "
                      f"writeback_kB={m.get('Writeback')}")
            except OSError:
                pass
            time.sleep(args.every_ms / 1000)
        reader.join(timeout=5)
        write(f"EXIT {proc.returncode}")
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())

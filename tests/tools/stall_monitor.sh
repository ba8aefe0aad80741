#!/usr/bin/env bash
# tools/stall_monitor.py: run over a short command that prints two lines and keeps a thread busy,
# the log must hold both lines, samples of the command's threads (only those in uninterruptible
# sleep by default; every thread with its state and wait channel with --every-thread) and the
# command's exit status, which the monitor returns as its own.
#   stall_monitor.sh ROOT
set -euo pipefail
root=$1
tmp=$(mktemp -d /tmp/govcredit-test-stall.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
mon=$root/tools/stall_monitor.py
cmd=(python3 -c 'import time; print("first", flush=True); t = time.time()
while time.time() - t < 0.4: pass
print("second", flush=True)')

python3 "$mon" --every-thread --every-ms 10 --log "$tmp/all.log" -- "${cmd[@]}" \
  || fail "the monitor exited with $? for a command that succeeded"
grep -q ' OUT first$' "$tmp/all.log" || fail "the command's first line is not in the log"
grep -q ' OUT second$' "$tmp/all.log" || fail "the command's second line is not in the log"
grep -q ' EXIT 0$' "$tmp/all.log" || fail "no EXIT 0 line"
# The busy loop runs for 0.4 s: some sample must show the thread running (R), named python3.
grep -Eq "MON T=\[.*'[0-9]+:python3:R:" "$tmp/all.log" || fail "no sample shows the running thread"

python3 "$mon" --log "$tmp/d.log" -- "${cmd[@]}" || fail "default mode exited with $?"
grep -q ' MON D=' "$tmp/d.log" || fail "the default mode logs no D= samples"
if grep -q ' MON T=' "$tmp/d.log"; then fail "the default mode logged every thread"; fi

set +e
python3 "$mon" --log "$tmp/f.log" -- python3 -c 'raise SystemExit(3)'
rc=$?
set -e
[ "$rc" = 3 ] || fail "the monitor returned $rc, not the command's 3"
grep -q ' EXIT 3$' "$tmp/f.log" || fail "no EXIT 3 line"
echo "stall_monitor: ok"

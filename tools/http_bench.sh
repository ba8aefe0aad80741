#!/usr/bin/env bash
# The HTTP benchmark (issue 6): wrk on loopback, keep-alive, against `govcredit serve` on the demo
# data with the embedded bus. Writes OUT (default bench-results/http.json; one JSON object per
# scenario) and prints a summary line per scenario.
#
#   [DURATION=10s] [OUT=FILE] [QUICK=1] tools/http_bench.sh [BUILD_DIR]
#       (default build/release; needs wrk: ops/install-deps.sh). QUICK=1 pre-signs
#       a quarter of the requests (`tools/bench --quick` uses it with 2-s runs). Each request is
#       signed once: a run that sends more than were signed replays nonces, which the server
#       refuses (counted in errors_status): 400k signed status requests allow 40k/s for 10 s,
#       160k submissions with 16 server threads 16k/s. Each of wrk's two threads has half of a
#       list: run AO's 7.5k submissions/s outran one thread's half of 80k (432 refused), and run
#       AX's 23.5k signed status requests/s one thread's half of 250k (2,615 refused).
#
# Scenarios:
#   healthz            GET /healthz (no auth: the server's own ceiling)
#   status_session     GET /v1/agencies/sh.city.finance with a session's bearer token
#   status_signed      the same, every request Ed25519-signed with a fresh nonce (pre-signed by
#                      tools/http_bench_prep, replayed by tools/http_bench.lua)
#   submit_2_threads   POST /v1/events of signed records, server with 2 threads
#   submit_16_threads  the same with 16 server threads (more submissions per group commit)
set -eEuo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
bin=$build/src/govcredit
prep=$build/tools/http_bench_prep
duration=${DURATION:-10s}
out=${OUT:-$root/bench-results/http.json}
scale=1
[[ "${QUICK:-}" == 1 ]] && scale=4
command -v wrk > /dev/null || { echo "wrk is not installed: ops/install-deps.sh installs it"; exit 2; }
work=$(mktemp -d)
pid=""
cleanup() {
  [[ -n "$pid" ]] && kill "$pid" 2> /dev/null && wait "$pid" 2> /dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# On any failure: which command, and what the server said (the work directory goes with the exit).
trap 'echo "http_bench.sh: line $LINENO: \"$BASH_COMMAND\" failed" >&2
      if [[ -f $work/serve.log ]]; then echo "--- the log of the server:" >&2; tail -n 30 "$work/serve.log" >&2; fi' ERR

"$bin" demo --data "$work/data" > /dev/null
python3 - "$work" << 'PY'
import json, sys
w = sys.argv[1]
for i in json.load(open(w + "/data/demo-identities.json")):
    open(f"{w}/{i['principal']}.pem", "w").write(i["private_key_pem"])
PY

start_server() {
  # The log is emptied here, before the server starts: the shell truncates it for the new
  # process only once that process runs, and until then a grep would find the previous server's
  # address (a CI run sent the 16-thread scenario to the stopped 2-thread server that way).
  : > "$work/serve.log"
  "$bin" serve --data "$work/data" --listen 127.0.0.1:0 --threads "$1" > "$work/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log" || true)
    [[ -n "$url" ]] && return 0
    sleep 0.1
  done
  echo "http_bench.sh: the server did not start within 10 s" >&2
  cat "$work/serve.log" >&2
  exit 1
}
stop_server() {
  if ! kill "$pid" 2> /dev/null; then
    local status=0
    wait "$pid" || status=$?
    echo "http_bench.sh: the server had already exited (status $status)" >&2
    pid=""
    return 1
  fi
  wait "$pid" 2> /dev/null || true
  pid=""
}

results=()
# The machine's steal and total CPU ticks so far (/proc/stat's first line): the share the host
# took from this VM during a run. Right after a burst of work on both cores the host was once seen
# to stop both vCPUs for 20-40 ms every ~100 ms for a few seconds, which would show in a run's p99
# (docs/PERFORMANCE.md §3.3, run AR) and here.
cpu_ticks() { awk '/^cpu /{t = 0; for (i = 2; i <= NF; i++) t += $i; print $9, t}' /proc/stat; }
run() {  # name, wrk args...
  local name=$1
  shift
  local out steal0 total0 steal1 total1
  read -r steal0 total0 < <(cpu_ticks)
  if ! out=$(wrk --latency "$@" 2>&1); then
    echo "http_bench.sh: wrk failed in scenario $name:" >&2
    echo "$out" >&2
    return 1
  fi
  local json
  json=$(echo "$out" | grep '^{"requests"' || true)
  if [[ -z "$json" ]]; then
    # Scenarios without the Lua script: take the figures from wrk's own report.
    json=$(echo "$out" | python3 -c '
import re, sys
t = sys.stdin.read()
def ms(v):
    n, u = re.match(r"([\d.]+)(\w+)", v).groups(); n = float(n)
    return n * {"us": 0.001, "ms": 1, "s": 1000}[u]
p = dict(re.findall(r"^\s+(\d+)%\s+(\S+)", t, re.M))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
req = int(re.search(r"(\d+) requests in", t).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print("{\"requests\":%d,\"rps\":%.1f,\"errors_status\":%d,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f}" % (
    req, rps, int(non2xx.group(1)) if non2xx else 0, ms(p["50"]), ms(p["90"]), ms(p["99"])))')
  fi
  read -r steal1 total1 < <(cpu_ticks)
  json=$(python3 -c 'import json, sys
d = json.loads(sys.argv[1])
total = int(sys.argv[3]) - int(sys.argv[2])
d["steal_share"] = round((int(sys.argv[5]) - int(sys.argv[4])) / total, 4) if total > 0 else 0.0
print(json.dumps(d, separators=(",", ":")))' "$json" "$total0" "$total1" "$steal0" "$steal1")
  echo "$name: $json"
  results+=("\"$name\": $json")
}

start_server 2
run healthz -t2 -c32 -d"$duration" "$url/healthz"
"$prep" --key "$work/auditor.pem" --method POST --target /v1/sessions --count 1 --out "$work/session.tsv" 2> /dev/null
IFS=$'\t' read -r _ _ k t n s _ < "$work/session.tsv"
token=$(curl -sf -X POST "$url/v1/sessions" -H "X-Govcredit-Key: $k" -H "X-Govcredit-Time: $t" \
  -H "X-Govcredit-Nonce: $n" -H "X-Govcredit-Signature: $s" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
run status_session -t2 -c32 -d"$duration" -H "Authorization: Bearer $token" "$url/v1/agencies/sh.city.finance"
"$prep" --key "$work/auditor.pem" --target /v1/agencies/sh.city.finance --count $((400000 / scale)) --out "$work/status.tsv"
run status_signed -t2 -c32 -d"$duration" -s "$root/tools/http_bench.lua" "$url" -- "$work/status.tsv" 2
"$prep" --key "$work/src.audit.pem" --submit sh.city.finance --issuer src.audit --count $((40000 / scale)) --out "$work/submit.tsv"
run submit_2_threads -t2 -c16 -d"$duration" -s "$root/tools/http_bench.lua" "$url" -- "$work/submit.tsv" 2
stop_server
start_server 16
"$prep" --key "$work/src.audit.pem" --submit sh.city.housing --issuer src.audit --count $((160000 / scale)) --out "$work/submit16.tsv"
run submit_16_threads -t2 -c64 -d"$duration" -s "$root/tools/http_bench.lua" "$url" -- "$work/submit16.tsv" 2
stop_server

mkdir -p "$(dirname "$out")"
{
  echo "{"
  echo "  \"machine\": \"$(nproc) cores, $(uname -m), $(date -u +%Y-%m-%d)\","
  echo "  \"command\": \"tools/http_bench.sh (wrk -t2 keep-alive on loopback, ${duration} each)\","
  for i in "${!results[@]}"; do
    sep=","
    [[ $i -eq $((${#results[@]} - 1)) ]] && sep=""
    echo "  ${results[$i]}$sep"
  done
  echo "}"
} > "$out"
echo "wrote $out"

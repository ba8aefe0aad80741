#!/usr/bin/env bash
# govcredit serve from the command line: the config file, refusals with their exit codes, a clean
# stop on SIGTERM. Usage: serve_commands.sh GOVCREDIT_BINARY
set -euo pipefail
bin=$1
work=$(mktemp -d)
pid=""
trap '[[ -n "$pid" ]] && kill "$pid" 2> /dev/null; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"


expect_exit 2 serve --data "$work/d" --listen nowhere
expect_exit 2 serve --data "$work/d" --listen 127.0.0.1:99999
expect_exit 2 serve --data "$work/d" --tls-cert "$work/x.pem"
printf 'listen = "127.0.0.1:0"\nbogus = 1\n' > "$work/bad.toml"
expect_exit 2 serve --data "$work/d" --config "$work/bad.toml"
grep -q "unknown option 'bogus'" "$work/out" || fail "the unknown config key is not named"
printf 'threads = "many"\n' > "$work/bad2.toml"
expect_exit 2 serve --data "$work/d" --config "$work/bad2.toml"
# Only a node fed by Kafka can defer a commit's meta page: the embedded bus could not replay it.
expect_exit 2 serve --data "$work/d" --durability by-next-commit --listen 127.0.0.1:0
grep -q "by-next-commit needs --kafka" "$work/out" || fail "by-next-commit without Kafka: $(cat "$work/out")"
expect_exit 2 serve --data "$work/d" --durability sometimes
# refused_config TOML PATTERN WHAT: serve with a config file holding TOML exits 2, saying PATTERN.
refused_config() {
  printf '%s\n' "$1" > "$work/config.toml"
  expect_exit 2 serve --data "$work/d" --config "$work/config.toml" --listen 127.0.0.1:0
  grep -q -- "$2" "$work/out" || fail "$3: $(cat "$work/out")"
}
refused_config 'durability = "by-next-commit"' "by-next-commit needs --kafka" \
  "the config's durability was not read"
# Kafka settings only with --kafka, from the command line or the config's kafka-set table (string
# values; the brokers are --kafka's).
expect_exit 2 serve --data "$work/d" --kafka-set linger.ms=5 --listen 127.0.0.1:0
grep -q -- "--kafka-set needs --kafka" "$work/out" || fail "--kafka-set without --kafka"
refused_config $'[kafka-set]\n"linger.ms" = "5"' "--kafka-set needs --kafka" \
  "the config's kafka-set was not read"
refused_config $'[kafka-set]\n"linger.ms" = 5' "a bad value for 'kafka-set'" \
  "a number in kafka-set was taken"
expect_exit 2 serve --data "$work/d" --kafka 127.0.0.1:1 --kafka-set bootstrap.servers=x
grep -q -- "give the brokers with --kafka" "$work/out" || fail "--kafka-set bootstrap.servers taken"
refused_config 'durability = "sometimes"' "a bad value for 'durability'" \
  "a bad durability in the config is not named"
# --warm-heap is the in-process ledger node's: refused without --kafka, from the command line or
# the config (a size with a unit, or bytes); a negative or unknown size is refused as a bad value.
expect_exit 2 serve --data "$work/d" --warm-heap 1GiB --listen 127.0.0.1:0
grep -q -- "--warm-heap needs --kafka" "$work/out" || fail "--warm-heap without --kafka taken"
refused_config 'warm-heap = "1536MiB"' "--warm-heap needs --kafka" "the config's warm-heap was not read"
refused_config 'warm-heap = 1073741824' "--warm-heap needs --kafka" \
  "the config's warm-heap in bytes was not read"
for bad in '"lots"' '-5' '"-5MiB"' '1.5'; do
  refused_config "warm-heap = $bad" "a bad value for 'warm-heap'" "warm-heap = $bad in the config taken"
done
expect_exit 2 serve --data "$work/d" --kafka 127.0.0.1:1 --warm-heap -5MiB
grep -q "a size cannot be negative" "$work/out" || fail "--warm-heap -5MiB taken"
[[ ! -e "$work/d" ]] || fail "a refused serve wrote its data directory"
expect_exit 3 serve --data "$work/d" --tls-cert /nonexistent.pem --tls-key /nonexistent.pem --listen 127.0.0.1:0
grep -q "TLS certificate" "$work/out" || fail "a missing certificate is not named"

# The config file sets the address; the command line overrides the config. The topics and the
# durability have keys too (the topics' were once refused as unknown).
printf 'listen = "127.0.0.1:1"\nthreads = 3\ncomplaints-per-minute = 2.5\ntopic = "t"\nrejected-topic = "r"\ndurability = "on-return"\n' \
  > "$work/ok.toml"
"$bin" serve --data "$work/d" --config "$work/ok.toml" --listen 127.0.0.1:0 > "$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do grep -q "open http" "$work/serve.log" && break; sleep 0.1; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$work/serve.log") || { cat "$work/serve.log"; fail "no URL"; }
[[ "$url" != "http://127.0.0.1:1" ]] || fail "the command line did not win over the config file"
curl -sf "$url/healthz" | grep -q '"ok"' || fail "healthz"
grep -q "complaints: not taken" "$work/serve.log" || fail "a server without a complaint key must say so"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$url/v1/complaints" -d '{"agency":"a","summary":"b"}')
[[ "$code" == 503 ]] || fail "complaints without a key answered $code"
kill -TERM "$pid"
wait "$pid" || fail "serve did not exit 0 on SIGTERM"
pid=""
grep -q "^stopped" "$work/serve.log" || fail "no 'stopped' line"
echo "serve commands ok"

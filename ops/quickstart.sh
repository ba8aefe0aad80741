#!/usr/bin/env bash
# The README's first command: install, build, load the demo data into an embedded shard under
# ./govcredit-data (no Kafka needed), then start the server on it and print the URL to open.
# Ctrl-C stops the server. GOVCREDIT_DATA and GOVCREDIT_LISTEN override the directory and the
# address (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
ops/install-deps.sh
ops/build.sh release
bin=build/release/src/govcredit
data=${GOVCREDIT_DATA:-govcredit-data}
"$bin" demo --data "$data" "$@"
echo
echo "starting the server on the demo data (the binary is $bin; \`$bin --help\` lists every command)"
echo "sign in on the page with one of the demo identities to browse agencies and verify proofs"
exec "$bin" serve --data "$data" --listen "${GOVCREDIT_LISTEN:-127.0.0.1:8080}" --demo-sign-in

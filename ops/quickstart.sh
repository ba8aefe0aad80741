#!/usr/bin/env bash
# The README's first command: install, build, and run the main job on the embedded default
# (no Kafka needed). Today that is the demo: generate the signed Shanghai data set, ingest it
# into an embedded shard under ./govcredit-data, sign a checkpoint and verify everything.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/install-deps.sh
ops/build.sh release
build/release/src/govcredit demo --data "${GOVCREDIT_DATA:-govcredit-data}" "$@"
echo "(the binary is build/release/src/govcredit; \`build/release/src/govcredit --help\` lists every command)"

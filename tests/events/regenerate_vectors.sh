#!/usr/bin/env bash
# Regenerating the vectors reproduces the committed files byte for byte (so the format, the
# vectors and the worked example cannot drift apart).
set -eu
bin=$1 events=$2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/events"
"$bin" dev testvectors "$tmp/events/testvectors" >/dev/null
diff -r "$events/testvectors" "$tmp/events/testvectors"
diff "$events/WORKED_EXAMPLE.md" "$tmp/events/WORKED_EXAMPLE.md"
diff -r "$events/testvectors-batch" "$tmp/events/testvectors-batch"
echo "vectors and worked example regenerate identically"

#!/usr/bin/env bash
# The batch test vector with nothing but OpenSSL (events/FORMAT.md §2b): the leaves and the root
# recomputed from the signing inputs, and the one signature verified over batch-input.bin.
set -euo pipefail
v=$1/batch-3
h() { openssl dgst -sha256 -binary; }
hex() { od -An -tx1 -v | tr -d ' \n'; }
leaf() { { printf '\x00'; cat "$1"; } | h; }
node() { { printf '\x01'; cat "$1" "$2"; } | h; }
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
for i in 0 1 2; do leaf "$v/signing-input-$i.bin" > "$t/l$i"; done
got_leaves=$(for i in 0 1 2; do hex < "$t/l$i"; echo; done)
[[ "$got_leaves" == "$(cat "$v/leaves.txt")" ]] || { echo "FAIL: leaves differ"; exit 1; }
node "$t/l0" "$t/l1" > "$t/n01"
node "$t/n01" "$t/l2" > "$t/root"
[[ "$(hex < "$t/root")" == "$(tr -d '\n' < "$v/root.txt")" ]] || { echo "FAIL: root differs"; exit 1; }
# batch-input = "govcredit/batch/v1" 0x00 ‖ u32 size (3, little endian) ‖ root
{ printf 'govcredit/batch/v1\x00\x03\x00\x00\x00'; cat "$t/root"; } > "$t/input"
cmp -s "$t/input" "$v/batch-input.bin" || { echo "FAIL: batch-input.bin differs"; exit 1; }
openssl pkeyutl -verify -pubin -inkey "$v/public.pem" -rawin -in "$v/batch-input.bin" \
  -sigfile "$v/signature.bin" > /dev/null || { echo "FAIL: signature"; exit 1; }
# And one changed byte fails.
cp "$v/batch-input.bin" "$t/bad"
printf '\x04' | dd of="$t/bad" bs=1 seek=19 conv=notrunc 2> /dev/null
if openssl pkeyutl -verify -pubin -inkey "$v/public.pem" -rawin -in "$t/bad" \
  -sigfile "$v/signature.bin" > /dev/null 2>&1; then
  echo "FAIL: a changed batch input verified"
  exit 1
fi
echo "openssl: batch-3 leaves, root and signature verified"

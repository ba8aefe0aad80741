#!/usr/bin/env bash
# Every valid vector verifies with plain OpenSSL; every must-fail vector does not.
set -u
dir=$1
valid=0 invalid=0 bad=0
for v in "$dir"/*/; do
  expect=$(head -1 "$v/expect")
  if openssl pkeyutl -verify -pubin -inkey "$v/public.pem" -rawin -in "$v/signing-input.bin" \
       -sigfile "$v/signature.bin" >/dev/null 2>&1; then ok=1; else ok=0; fi
  if [[ $expect == valid ]]; then
    ((valid++)); [[ $ok == 1 ]] || { echo "FAIL: $v should verify"; ((bad++)); }
  else
    ((invalid++)); [[ $ok == 0 ]] || { echo "FAIL: $v should not verify"; ((bad++)); }
  fi
done
echo "openssl: $valid valid, $invalid must-fail vectors, $bad wrong"
[[ $valid -ge 19 && $invalid -ge 4 && $bad -eq 0 ]]

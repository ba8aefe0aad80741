#!/usr/bin/env bash
# A self-signed certificate for development (docs/API.md §1): DIR/cert.pem and DIR/key.pem for
# "localhost" and 127.0.0.1, valid 30 days. Never use it in production: get a certificate from
# the bureau's certificate authority instead.
# Usage: ops/dev-tls.sh [DIR]   (default: ./govcredit-data/tls)
#   then: govcredit serve --tls-cert DIR/cert.pem --tls-key DIR/key.pem --listen 127.0.0.1:8443
#   and:  curl --cacert DIR/cert.pem https://localhost:8443/healthz
set -euo pipefail
dir=${1:-govcredit-data/tls}
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
  -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1 \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" 2> /dev/null
chmod 600 "$dir/key.pem"
echo "wrote $dir/cert.pem and $dir/key.pem"

#!/usr/bin/env bash
# The browser end-to-end test (ctest web.e2e): builds demo data, starts `govcredit serve` on a
# free loopback port, runs e2e.mjs in headless Chromium, stops the server it started (by pid).
# Usage: e2e.sh GOVCREDIT_BINARY WORK_DIR
# Screenshots are kept in WORK_DIR/screenshots (the test's artefacts).
set -euo pipefail
bin=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
# serve.log too: the server's shell truncates it only once it runs, and until then the loop below
# could read the URL of the last run's server.
rm -rf "$work/data" "$work/screenshots" "$work/serve.log"
mkdir -p "$work"
# playwright-core from npm, once per build directory (it drives Debian's chromium; it downloads
# no browser).
if [[ ! -d "$work/node_modules/playwright-core" ]]; then
  cp "$here/package.json" "$work/package.json"
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error)
fi
cp "$here/e2e.mjs" "$work/e2e.mjs"

"$bin" demo --data "$work/data" > "$work/demo.log"
"$bin" serve --data "$work/data" --listen 127.0.0.1:0 --demo-sign-in > "$work/serve.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
  url=$(grep -so 'http://127.0.0.1:[0-9]*/' "$work/serve.log" || true)
  [[ -n "$url" ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "the server printed no URL"; cat "$work/serve.log"; exit 1; }
echo "server at $url (pid $pid)"
(cd "$work" && node e2e.mjs "$url" "$work/screenshots")
ls "$work/screenshots"

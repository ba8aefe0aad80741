#!/usr/bin/env bash
# A subset of the test suite under valgrind memcheck (docs/SECURITY.md): the event codecs, the
# crypto wrappers, the Merkle tree and ledger storage, the registry. Any memory error or definite
# leak fails it. Usage: ops/valgrind.sh [BUILD_DIR]   (default build/release; a non-sanitizer build)
# The four binaries run in two lanes (two cores); each one's output is in
# BUILD_DIR/valgrind-BINARY.log and is printed when it fails.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
command -v valgrind > /dev/null || { echo "valgrind: not installed (ops/install-deps.sh)"; exit 1; }
run() {
  local binary=$1 filter=$2 log="$build/valgrind-$1.log"
  if valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --track-origins=no --quiet "$build/tests/$binary" --gtest_filter="$filter" --gtest_brief=1 \
    > "$log" 2>&1; then
    echo "valgrind: $binary --gtest_filter=$filter: clean ($(grep -o '[0-9]* tests\? from [0-9]* test suites\? ran' "$log" || echo '?'))"
  else
    echo "valgrind: $binary --gtest_filter=$filter FAILED:"
    cat "$log"
    return 1
  fi
}
# Two lanes, one per core, each running its binaries one after the other.
lane() { local s=0; for spec in "$@"; do run "${spec%%:*}" "${spec#*:}" || s=1; done; return $s; }
status=0
lane 'ledger_test:-Crash.*' 'registry_test:*' &
a=$!
lane 'events_test:-BatchIngest.*' 'crypto_test:*' &
b=$!
wait $a || status=1
wait $b || status=1
(( status == 0 )) || { echo "valgrind: FAILED"; exit 1; }
echo "valgrind: the subset is clean"

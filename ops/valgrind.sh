#!/usr/bin/env bash
# A subset of the test suite under valgrind memcheck (docs/SECURITY.md): the event codecs, the
# crypto wrappers, the Merkle tree and ledger storage, the registry. Any memory error or definite
# leak fails it. Usage: ops/valgrind.sh [BUILD_DIR]   (default build/release; a non-sanitizer build)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
command -v valgrind > /dev/null || { echo "valgrind: not installed (ops/install-deps.sh)"; exit 1; }
run() {
  local binary=$1 filter=$2
  echo "valgrind: $binary --gtest_filter=$filter"
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --track-origins=no --quiet "$build/tests/$binary" --gtest_filter="$filter" --gtest_brief=1
}
run crypto_test '*'
run events_test '-BatchIngest.*'
run registry_test '*'
run ledger_test '-Crash.*'
echo "valgrind: the subset is clean"

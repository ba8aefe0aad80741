#!/usr/bin/env bash
# The README's second command (and what .ci/run runs): install everything, build, and run the
# whole test suite twice — a release build and an ASan+UBSan build — then a subset under valgrind
# memcheck and each libFuzzer target briefly on its seed corpus (docs/SECURITY.md). Exit non-zero
# on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/install-deps.sh --with-browser
# Fetch Apache Kafka once, up front, so a download problem shows as itself.
ops/kafka/kafka.sh fetch

status=0
run_suite() {
  local flavour=$1
  echo "=== build: $flavour"
  ops/build.sh "$flavour"
  echo "=== test: $flavour"
  # ctest prints its own summary line ("100% tests passed, 0 tests failed out of N").
  ctest --test-dir "build/$flavour" --output-on-failure -j 2 --timeout 900 || status=1
}
run_suite release
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_suite asan
unset ASAN_OPTIONS UBSAN_OPTIONS
echo "=== valgrind: a subset of the release build's tests under memcheck"
ops/valgrind.sh build/release || status=1
echo "=== fuzz: each libFuzzer target for 5 s on its seed corpus"
ops/fuzz.sh 5 || status=1
exit $status

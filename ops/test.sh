#!/usr/bin/env bash
# The README's second command (and what .ci/run runs): install everything, build, and run the
# whole test suite twice — a release build and an ASan+UBSan build — then a subset under valgrind
# memcheck and each libFuzzer target briefly on its seed corpus (docs/SECURITY.md). Exit non-zero
# on any failure. Each phase prints how long it took, and the end lists them all.
set -euo pipefail
cd "$(dirname "$0")/.."

timings=()
phase_start=$SECONDS
phase_name=""
phase() {  # phase NAME: ends the phase before (recording its time) and starts NAME
  if [[ -n $phase_name ]]; then
    local took=$((SECONDS - phase_start))
    timings+=("$(printf '%-34s %4d s' "$phase_name" "$took")")
    echo "=== $phase_name: ${took} s"
  fi
  phase_name=$1
  phase_start=$SECONDS
  [[ -z $phase_name ]] || echo "=== $phase_name"
}

phase "install dependencies"
ops/install-deps.sh --with-browser
# Fetch Apache Kafka once, up front, so a download problem shows as itself.
phase "fetch Kafka"
ops/kafka/kafka.sh fetch

status=0
# A build started in the background at the lowest CPU priority (nice 19) while a test phase runs:
# the tests keep the cores whenever they want them (much of a test phase is the Kafka tests
# waiting on the brokers), and the build uses the rest. Its output goes to build/NAME.log,
# printed if it fails.
background_build() {  # background_build NAME COMMAND...
  local name=$1
  shift
  mkdir -p build
  echo "=== $name: started in the background (nice 19), log in build/$name.log"
  # Its own session (setsid), so that leaving early stops the whole build, compilers too. Where
  # the kernel groups each session's tasks (sched_autogroup_enabled=1, as on the development
  # machine), a task's nice counts only inside its group and the groups share the CPU evenly:
  # there a `setsid nice -n 19` loop took as much CPU as two plain loops together, so that the
  # build took half of the cores from the tests. The build's group is given nice 19 as well
  # (/proc/self/autogroup; the loop then took 2% of the CPU beside the two).
  setsid bash -c '{ echo 19 > /proc/self/autogroup; } 2> /dev/null || true; exec nice -n 19 "$@"' \
    background-build "$@" > "build/$name.log" 2>&1 &
  background_pid=$!
}
background_pid=""
trap '[[ -z $background_pid ]] || kill -- "-$background_pid" 2> /dev/null || true' EXIT
background_wait() {  # background_wait NAME: 0 when the build succeeded
  local name=$1
  phase "$name (the rest of it)"
  local ok=true
  wait "$background_pid" || ok=false
  background_pid=""
  if $ok; then
    tail -1 "build/$name.log"
  else
    echo "=== $name FAILED:"
    tail -60 "build/$name.log"
    return 1
  fi
}
run_tests() {
  phase "test: $1"
  # ctest prints its own summary line ("100% tests passed, 0 tests failed out of N").
  ctest --test-dir "build/$1" --output-on-failure -j 2 --timeout 900 || status=1
}

phase "build: release"
ops/build.sh release
background_build build-asan ops/build.sh asan
run_tests release
background_wait build-asan || exit 1

# The fuzz targets' smoke run needs no optimised build (ops/fuzz.sh: half the CPU at -O0).
export GOVCREDIT_FUZZ_OPT=-O0
background_build build-fuzz ops/fuzz.sh --build-only
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_tests asan
unset ASAN_OPTIONS UBSAN_OPTIONS
phase "valgrind (release subset)"
ops/valgrind.sh build/release || status=1
background_wait build-fuzz || exit 1
phase "fuzz: each target 5 s"
ops/fuzz.sh 5 || status=1
phase ""
echo "=== time per phase"
printf '%s\n' "${timings[@]}"
printf '%-34s %4d s\n' "total" "$SECONDS"
exit $status

#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, AddressSanitizer and UndefinedBehaviorSanitizer
# in build/fuzz, and runs each on its seed corpus (fuzz/corpus/<target>) for a while, one target
# per core at a time.
#
#   ops/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      default: 20 s each, every target
#   ops/fuzz.sh --build-only [TARGET...]               build, do not run (ops/test.sh builds early)
#
# New inputs the fuzzer finds go to build/fuzz/corpus/<target> (the checked-in seeds stay as
# they are); a crash leaves its input in build/fuzz/artifacts/ and makes this script fail.
#
# Compiled at -O1 -g1 with assertions on. GOVCREDIT_FUZZ_OPT=-O0 compiles at -O0 instead: the
# test command's 5-second smoke run does so, since on two cores the -O1 build took 324 s of CPU
# and the -O0 build 163 s, for fewer runs per second. (Until 2026-12-07 the RelWithDebInfo build
# type's own flags, -O2 -g -DNDEBUG, came after these and won: 347 s of CPU, assertions off.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_only=false
if [[ ${1:-} == --build-only ]]; then
  build_only=true
  shift
else
  seconds=${1:-20}
  shift || true
fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(fuzz_event_wire fuzz_event_json fuzz_batch fuzz_proof fuzz_http)
build="$root/build/fuzz"
opt=${GOVCREDIT_FUZZ_OPT:--O1}
[[ $opt =~ ^-O[0-3]$ ]] || { echo "fuzz: GOVCREDIT_FUZZ_OPT must be -O0 to -O3, not '$opt'" >&2; exit 2; }
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g1 $opt"
# Build type None: no build type's flags are added to these.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DGOVCREDIT_TESTS=OFF -DGOVCREDIT_FUZZ=ON -DGOVCREDIT_UNITY=ON > "$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }
ninja -C "$build" "${targets[@]}" > "$build.build.log" 2>&1 || { tail -50 "$build.build.log"; exit 1; }
$build_only && { echo "fuzz: built ${targets[*]} in $build"; exit 0; }
mkdir -p "$build/artifacts"
# One target per core at a time: each still runs its full time on a core of its own.
lanes=$(nproc)
fuzz_one() {  # fuzz_one TARGET: runs it, prints one line, returns its status
  local t=$1
  mkdir -p "$build/corpus/$t"
  if ! "$build/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 \
    "$build/corpus/$t" "$root/fuzz/corpus/$t" > "$build/$t.log" 2>&1; then
    echo "fuzz: $t FAILED (see $build/$t.log)"
    tail -40 "$build/$t.log"
    return 1
  fi
  local runs cov
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/$t.log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$build/$t.log" | tail -1 || true)
  echo "fuzz: $t ok: $runs runs, $cov"
}
echo "fuzz: ${targets[*]}, ${seconds}s each, $lanes at a time"
status=0
pids=()
for t in "${targets[@]}"; do
  if [[ ${#pids[@]} -ge $lanes ]]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
  fuzz_one "$t" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit $status

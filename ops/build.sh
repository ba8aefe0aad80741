#!/usr/bin/env bash
# Configures and builds one flavour: ops/build.sh release|asan|pgo   (build/release, build/asan or
# build/pgo)
#
# Both compile in unity groups (GOVCREDIT_UNITY, CMakeLists.txt). The release flavour keeps line
# tables only (-g1: function names and lines for perf, valgrind and backtraces, not local
# variables; for a debugger, configure a build directory of your own with plain cmake). Together
# they halve the CPU time of a file-by-file build, which matters on two cores.
#
# The asan flavour (ASan+UBSan, assertions on) compiles with -Og -g1: on the AMD host its tests
# ran in 172 s instead of 267 s at -O0 -g, and it built in 245 s instead of 255 s (-O1 -g1:
# tests 179 s, build 432 s, and g++ 12 raised false stringop-overflow and maybe-uninitialized
# errors in libstdc++ code).
#
# pgo is the release flavour compiled with profile-guided optimisation (docs/PERFORMANCE.md
# §5.50, §5.51): an instrumented build of the programs tools/pgo-train runs, the training run (a
# minute or two), then the whole tree compiled again with the counts it wrote: about 8 minutes on
# two cores from scratch, against 4-5 for release. The tests and CI use the release flavour. Run
# the benchmark suite on it with `tools/bench --build build/pgo`.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case $flavour in
  release) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG") ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-Og -g1" -DGOVCREDIT_SANITIZE=ON) ;;
  pgo)     args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG") ;;
  *) echo "usage: ops/build.sh release|asan|pgo" >&2; exit 2 ;;
esac
if [ "$flavour" = pgo ]; then
  # The counts of an earlier training would not match sources changed since: start afresh.
  find build/pgo -name '*.gcda' -delete 2>/dev/null || true
  cmake -S . -B build/pgo -G Ninja -DGOVCREDIT_UNITY=ON "${args[@]}" -DGOVCREDIT_PGO=generate \
    -DGOVCREDIT_TESTS=OFF >/dev/null
  cmake --build build/pgo -j "$(nproc)" --target govcredit ingest_bench projection_bench ledger_bench
  tools/pgo-train build/pgo
  args+=(-DGOVCREDIT_PGO=use -DGOVCREDIT_TESTS=ON)
fi
cmake -S . -B "build/$flavour" -G Ninja -DGOVCREDIT_UNITY=ON "${args[@]}" >/dev/null
cmake --build "build/$flavour" -j "$(nproc)"

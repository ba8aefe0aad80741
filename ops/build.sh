#!/usr/bin/env bash
# Configures and builds one flavour: ops/build.sh release|asan   (build/release or build/asan)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case $flavour in
  release) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=Debug -DGOVCREDIT_SANITIZE=ON) ;;
  *) echo "usage: ops/build.sh release|asan" >&2; exit 2 ;;
esac
cmake -S . -B "build/$flavour" -G Ninja "${args[@]}" >/dev/null
cmake --build "build/$flavour" -j "$(nproc)"

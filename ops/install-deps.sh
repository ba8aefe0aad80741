#!/usr/bin/env bash
# Installs the Debian packages govcredit builds, tests and runs with.
# Idempotent: when every package is already installed it does nothing (no apt-get update either).
# Usage: ops/install-deps.sh [--with-browser]
#   --with-browser adds what the web tests need: headless Chromium, Node.js and npm (to fetch
#   playwright-core, which drives it).
# wrk (the benchmark suite's HTTP scenario, tools/http_bench.sh) is in the base list: tools/bench
# after the README's first command measures every scenario, not all but one.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev liblmdb-dev lmdb-utils libcereal-dev libboost-dev libssl-dev openssl libsodium-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libtomlplusplus-dev libbenchmark-dev libmimalloc-dev libabsl-dev clang-format
  clang libclang-rt-14-dev valgrind
  default-jre-headless maven wrk python3
)
if [[ "${1:-}" == "--with-browser" ]]; then
  packages+=(chromium chromium-driver fonts-noto-cjk nodejs)
  # npm comes with some nodejs builds (NodeSource) and is a separate Debian package otherwise.
  command -v npm > /dev/null || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"

#!/usr/bin/env bash
# Installs the Debian packages govcredit builds, tests and runs with.
# Idempotent: when every package is already installed it does nothing (no apt-get update either).
# Usage: ops/install-deps.sh [--with-browser]   (the browser is for the web end-to-end tests)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  librdkafka-dev liblmdb-dev lmdb-utils libcereal-dev libboost-dev libssl-dev openssl
  libgtest-dev libgmock-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libtomlplusplus-dev libbenchmark-dev clang-format
  default-jre-headless maven
)
if [[ "${1:-}" == "--with-browser" ]]; then
  packages+=(chromium chromium-driver)
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

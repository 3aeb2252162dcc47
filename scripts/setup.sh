#!/usr/bin/env bash
# Installs the Debian packages Wafer needs to build and test, only when one is missing.
# Idempotent: a second run does nothing but check. Runs apt-get as root or through sudo.
# `setup.sh --fuzz` also installs clang and its libFuzzer runtime for fuzz/ (not needed to
# build, run or test Wafer).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libfmt-dev libcli11-dev nlohmann-json3-dev libtomlplusplus-dev libpng-dev
  libgtest-dev libgmock-dev libbenchmark-dev jq
  libonnx-dev libprotobuf-dev libonnx-testdata
  libsqlite3-dev libcpp-httplib-dev curl
)
if [ "${1:-}" = "--fuzz" ]; then
  PACKAGES+=(clang libclang-rt-14-dev)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Sets up the machine (missing Debian packages only) and builds Wafer in Release mode into
# build/ (override with BUILD_DIR). ccache is used when present. Extra arguments go to cmake.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

bash "$ROOT/scripts/setup.sh"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)"

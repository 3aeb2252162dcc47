#!/usr/bin/env bash
# Sets up, builds (with tests), and runs the whole test suite with ctest:
# unit tests per layer and end-to-end tests through the `wafer` command.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/build.sh" -DWAFER_BUILD_TESTS=ON
cd "$BUILD_DIR"
ctest --output-on-failure --parallel "$(nproc)" --timeout 600

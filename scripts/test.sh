#!/usr/bin/env bash
# Sets up, builds (with tests), and runs the whole test suite with ctest: unit tests per layer
# and end-to-end tests through the `wafer` command, first on the release build, then on the
# sanitizer build (scripts/sanitize.sh: ASan + UBSan, every report fatal). WAFER_SANITIZE=0
# skips the second pass for a quicker local run; CI always runs both.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/build.sh" -DWAFER_BUILD_TESTS=ON
(cd "$BUILD_DIR" && ctest --output-on-failure --parallel "$(nproc)" --timeout 600)
if [ "${WAFER_SANITIZE:-1}" != 0 ] || [ "${CI:-}" = true ]; then
  bash "$ROOT/scripts/sanitize.sh"
fi

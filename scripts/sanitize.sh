#!/usr/bin/env bash
# Builds the unit and integration tests with AddressSanitizer and UndefinedBehaviorSanitizer
# (every report fatal) into build-sanitize/ (override with SANITIZE_BUILD_DIR) and runs them
# with ctest. scripts/test.sh calls it after the release tests; CI runs both.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${SANITIZE_BUILD_DIR:-$ROOT/build-sanitize}"

bash "$ROOT/scripts/setup.sh"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWAFER_SANITIZE=ON -DWAFER_BUILD_TESTS=ON "$@" >/dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
export ASAN_OPTIONS="abort_on_error=0:detect_leaks=1:strict_string_checks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
cd "$BUILD_DIR"
ctest --output-on-failure --parallel "$(nproc)" --timeout 900

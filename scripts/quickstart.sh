#!/usr/bin/env bash
# Quick start: set up, build, and run the main job: a GEMV (y = A·x + b, 2048 x 2048, fp32)
# simulated cycle by cycle on a 32 x 32 region of a WSE-3, checked against a CPU reference,
# with its cycle count and the simulator's speed line. Extra arguments go to `wafer kernel`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/build.sh" -DWAFER_BUILD_TESTS=OFF
exec "${BUILD_DIR:-$ROOT/build}/wafer" kernel gemv --arch wse3 --grid 32x32 --m 2048 --n 2048 "$@"

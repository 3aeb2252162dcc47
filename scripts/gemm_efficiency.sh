#!/usr/bin/env bash
# Measures the simulated GEMM's efficiency for the estimator: `wafer kernel gemm` (Cannon on
# square grids) on wse2 and wse3, fp16 inputs with fp16 and with fp32 accumulation, on grids
# of 8x8, 16x16 and 32x32 PEs with C blocks of 16, 32 and 64 elements per PE side (m = n = k
# = block x grid side), one --sweep per arch and grid. Writes data/gemm_efficiency.csv (or
# $1): a header saying the command and the commit, then one row per run with its cycles,
# FLOPs per cycle and peak_fraction (FLOPs per cycle over the grid's FMA lanes x 2 for the
# types). A block that does not fit in SRAM is a row with an empty peak_fraction and a note;
# a run that does not verify fails the script. The estimator embeds the file at build time
# (src/estimate/gemm_efficiency.cpp). Takes about 10 minutes on two cores with the release
# build; WAFER (default build/wafer) picks the binary.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WAFER="${WAFER:-$ROOT/build/wafer}"
OUT="${1:-$ROOT/data/gemm_efficiency.csv}"
read -r -a GRIDS <<< "${GEMM_GRIDS:-8 16 32}"
BLOCKS=(16 32 64)
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

commit="$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- src include || echo '+uncommitted')"
{
  echo "# Simulated GEMM efficiency, made by scripts/gemm_efficiency.sh at commit $commit on $(date -u +%F):"
  echo "# wafer kernel gemm --arch ARCH --grid GxG --dtype fp16 --sweep acc=fp16,fp32 --sweep m,n,k=16G,32G,64G --format json"
  echo "# peak_fraction = flops_per_cycle / (2 x PEs x FMA lanes for the types); block = C elements per PE side"
  echo "arch,grid,dtype,acc,block,m,n,k,cycles,flops_per_cycle,peak_fraction,max_rel_error,verified,note"
} >"$TMP/out.csv"

for arch in wse2 wse3; do
  for g in "${GRIDS[@]}"; do
    sizes=""
    for b in "${BLOCKS[@]}"; do sizes="${sizes:+$sizes,}$((b * g))"; done
    status=0
    "$WAFER" kernel gemm --arch "$arch" --grid "${g}x${g}" --dtype fp16 --sweep acc=fp16,fp32 \
      --sweep "m,n,k=$sizes" --format json >"$TMP/run.json" 2>"$TMP/err" || status=$?
    sed 's/^/  /' "$TMP/err" >&2
    [ "$status" -le 1 ] || { echo "gemm_efficiency: wafer exited $status" >&2; exit 1; }
    if jq -e '[.[] | select(.error == null and .verified == false)] | length > 0' "$TMP/run.json" >/dev/null; then
      echo "gemm_efficiency: a run on $arch ${g}x${g} did not verify" >&2
      exit 1
    fi
    jq -r --arg arch "$arch" --arg grid "${g}x${g}" --argjson g "$g" '.[] |
      [$arch, $grid, "fp16", .acc, (.m | tonumber / $g), .m, .n, .k, .cycles, .flops_per_cycle,
       .peak_fraction, .max_rel_error, .verified,
       (if .error == null then "" elif (.error | test("SRAM")) then "does not fit in SRAM" else "did not run" end)]
      | map(if . == null then "" else tostring end) | join(",")' "$TMP/run.json" >>"$TMP/out.csv"
  done
done
mv "$TMP/out.csv" "$OUT"
echo "wrote $OUT" >&2

#!/usr/bin/env bash
# Runs every registered kernel as a new user would: `--help`, then its default sizes on wse2
# and wse3, at the origin and at --origin 100,37 (the kernels that compose), in fp32, fp16
# and bf16, and checks `verified: true` in the JSON. Prints a line per failure and a total;
# exits 1 if anything failed. Usage: scripts/kernel_matrix.sh [path/to/wafer] (default
# build/wafer). About 5 minutes with a release build on a 2-core machine.
set -uo pipefail
W="${1:-build/wafer}"
fails=0
runs=0
for k in $("$W" kernel --list | awk 'NR > 1 {print $1}'); do
  "$W" kernel "$k" --help > /dev/null 2>&1 || { echo "FAIL $k --help"; fails=$((fails + 1)); }
  origins="0,0 100,37"
  case $k in bcast-row | bcast-col | reduce-chain | reduce-tree | allreduce | stream-fma) origins="0,0" ;; esac
  for arch in wse2 wse3; do
    for origin in $origins; do
      for dtype in fp32 fp16 bf16; do
        runs=$((runs + 1))
        out=$(timeout 120 "$W" kernel "$k" --arch "$arch" --origin "$origin" --dtype "$dtype" --json 2>&1)
        if [ "$(echo "$out" | jq -r '.verified' 2>/dev/null)" != true ]; then
          echo "FAIL $k --arch $arch --origin $origin --dtype $dtype: $(echo "$out" | tail -c 300)"
          fails=$((fails + 1))
        fi
      done
    done
  done
done
echo "kernel_matrix: $runs runs, $fails failed"
[ "$fails" = 0 ]

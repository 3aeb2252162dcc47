# `wafer kernel` end to end: JSON contract, verification, thread determinism, bad input.
source "$(dirname "$0")/lib.bash"

expect_exit 0 "$WAFER" kernel gemv --arch wse2 --grid 8x8 --m 256 --n 256 --json
keys=$(jq -r 'keys_unsorted | sort | join(",")' "$TMP/out")
[ "$keys" = "arch,comm_cycles,compute_cycles,cycles,flops,flops_per_cycle,grid,kernel,max_rel_error,pe_cycles_per_s,peak_fraction,seconds,sim_wall_seconds,verified" ] ||
  fail "json keys are '$keys'"
[ "$(jq '.compute_cycles + .comm_cycles == .cycles' "$TMP/out")" = true ] || fail "compute + comm cycles are not the cycles"
[ "$(json_get "$TMP/out" .verified)" = true ] || fail "gemv not verified"
[ "$(json_get "$TMP/out" .grid)" = 8x8 ] || fail "grid field"
[ "$(json_get "$TMP/out" .arch)" = wse2 ] || fail "arch field"

for t in 1 2 3; do
  expect_exit 0 "$WAFER" kernel allreduce --arch wse3 --grid 24x20 --n 8 --threads $t --json
  cycles[$t]=$(json_get "$TMP/out" .cycles)
  [ "$(json_get "$TMP/out" .verified)" = true ] || fail "allreduce threads=$t not verified"
done
[ "${cycles[1]}" = "${cycles[2]}" ] && [ "${cycles[1]}" = "${cycles[3]}" ] ||
  fail "cycles differ across thread counts: ${cycles[*]}"

# The dense workload through one-cycle sweeps, the engine's choice and 5-cycle supersteps on
# two threads: same cycles, all verified.
for s in 1 0 5; do
  expect_exit 0 "$WAFER" kernel stream-fma --grid 64x48 --n 128 --threads 2 --superstep $s --json
  [ "$(json_get "$TMP/out" .verified)" = true ] || fail "stream-fma superstep=$s not verified"
  ss_cycles[$s]=$(json_get "$TMP/out" .cycles)
done
[ "${ss_cycles[1]}" = "${ss_cycles[0]}" ] && [ "${ss_cycles[1]}" = "${ss_cycles[5]}" ] ||
  fail "cycles differ across supersteps: ${ss_cycles[*]}"
expect_exit 2 "$WAFER" kernel stream-fma --grid 8x8 --superstep 17
expect_contains "$TMP/err" "--superstep"

# The fast path turned off: the general step gives the same cycles.
expect_exit 0 "$WAFER" kernel stream-fma --grid 64x48 --n 128 --threads 2 --general-path --json
[ "$(json_get "$TMP/out" .verified)" = true ] || fail "stream-fma --general-path not verified"
[ "$(json_get "$TMP/out" .cycles)" = "${ss_cycles[1]}" ] ||
  fail "--general-path changes the cycles: $(json_get "$TMP/out" .cycles) vs ${ss_cycles[1]}"

# Larger grids, same work per PE: cycles grow with the diameter.
expect_exit 0 "$WAFER" kernel gemv --grid 8x8 --m 512 --n 512 --json
small=$(json_get "$TMP/out" .cycles)
expect_exit 0 "$WAFER" kernel gemv --grid 32x32 --m 2048 --n 2048 --json
big=$(json_get "$TMP/out" .cycles)
[ "$big" -gt "$small" ] || fail "gemv cycles did not grow with the grid: $small -> $big"
# Same matrix on more PEs: fewer cycles.
expect_exit 0 "$WAFER" kernel gemv --grid 16x16 --m 1024 --n 1024 --json
spread=$(json_get "$TMP/out" .cycles)
expect_exit 0 "$WAFER" kernel gemv --grid 32x32 --m 1024 --n 1024 --json
spread_more=$(json_get "$TMP/out" .cycles)
[ "$spread_more" -lt "$spread" ] || fail "gemv did not speed up on more PEs: $spread -> $spread_more"

expect_exit 0 "$WAFER" kernel gemv --grid 4x4 --dtype fp16 --json
[ "$(json_get "$TMP/out" .verified)" = true ] || fail "fp16 gemv not verified"

expect_exit 0 "$WAFER" kernel gemv --grid 4x4
expect_contains "$TMP/out" "speed:"
expect_contains "$TMP/out" "verified"

expect_exit 2 "$WAFER" kernel gemv --grid 3y4
expect_contains "$TMP/err" "--grid"
expect_exit 1 "$WAFER" kernel nosuch
expect_contains "$TMP/err" "unknown kernel 'nosuch'"
expect_exit 1 "$WAFER" kernel gemv --grid 4x4 --m 30
expect_contains "$TMP/err" "--m 30 must be a multiple of the grid height 4"
expect_exit 1 "$WAFER" kernel gemv --grid 800x4 --arch wse2
expect_contains "$TMP/err" "does not fit"
expect_exit 1 "$WAFER" kernel allreduce --grid 4x4 --n 100000
expect_contains "$TMP/err" "--n 100000 is out of range"
finish

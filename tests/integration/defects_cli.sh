# Kernels on a repaired defective wafer: same outputs as on a perfect wafer, a small cycle
# difference, and clear errors for maps that cannot be used.
source "$(dirname "$0")/lib.bash"

expect_exit 0 "$WAFER" kernel gemv --arch wse3 --grid 64x64 --m 4096 --n 4096 --defect-density 0.02 --seed 3 --json
[ "$(json_get "$TMP/out" .verified)" = true ] || fail "gemv on a defective wafer not verified"
[ "$(json_get "$TMP/out" .defects.outputs_identical)" = true ] || fail "outputs differ"
[ "$(json_get "$TMP/out" .defects.cycle_difference)" = 2 ] || fail "cycle difference $(json_get "$TMP/out" .defects.cycle_difference), expected 2"
[ "$(json_get "$TMP/out" .defects.cycles_perfect)" = 4573 ] || fail "perfect-wafer cycles"

expect_exit 0 "$WAFER" kernel gemv --grid 16x16 --defect-density 0.001 --seed 1
expect_contains "$TMP/out" "perfect wafer:"
expect_contains "$TMP/out" "outputs identical"

# A saved map replays: the same wafer gives the same cycles.
expect_exit 0 "$WAFER" yield --wafers 1 --defect-density 0.02 --seed 3 --save-map "$TMP/w.defects"
expect_exit 0 "$WAFER" kernel allreduce --grid 64x64 --n 4 --defects "$TMP/w.defects" --json
[ "$(json_get "$TMP/out" .defects.outputs_identical)" = true ] || fail "map replay outputs"

expect_exit 1 "$WAFER" kernel gemv --grid 8x8 --defect-density 0.5 --scheme row-shift
expect_contains "$TMP/err" "cannot be repaired"
expect_contains "$TMP/err" "spares"
expect_exit 1 "$WAFER" kernel gemv --grid 8x8 --defect-density -1
expect_exit 1 "$WAFER" kernel gemv --grid 8x8 --defects "$TMP/missing.defects"
expect_contains "$TMP/err" "missing.defects"
printf 'wafer-defects v1 10 10\ncore 1 1\n' >"$TMP/small.defects"
expect_exit 1 "$WAFER" kernel gemv --grid 8x8 --defects "$TMP/small.defects"
expect_contains "$TMP/err" "small.defects"
finish

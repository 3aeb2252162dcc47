# --trace, --heatmap and --stats end to end, and `wafer bench --quick`.
source "$(dirname "$0")/lib.bash"

png_signature() { head -c 8 "$1" | od -An -tx1 | tr -d ' \n'; }
png_size() { echo "$((16#$(od -An -tx1 -j16 -N4 "$1" | tr -d ' \n')))x$((16#$(od -An -tx1 -j20 -N4 "$1" | tr -d ' \n')))"; }

expect_exit 0 "$WAFER" kernel gemv --grid 4x4 --trace "$TMP/t.json" --heatmap "$TMP/h.png" --stats
jq -e '.traceEvents | map(select(.ph == "X")) | length > 16' "$TMP/t.json" >/dev/null || fail "trace has too few spans"
[ "$(head -c 8 "$TMP/h.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "heatmap is not a PNG"
expect_contains "$TMP/out" "busy"
# A 4x4 grid: 128 px per PE, the y labels and a title line above, the colour bar on the right.
[ "$(png_size "$TMP/h.png")" = 634x581 ] || fail "heatmap size $(png_size "$TMP/h.png")"
expect_contains "$TMP/err" "wafer: wrote heatmap $TMP/h.png (634x581 px, a PE is 128x128 px)"
expect_exit 0 "$WAFER" kernel gemv --grid 4x4 --heatmap "$TMP/fixed.png" --heatmap-scale fixed
[ "$(png_size "$TMP/fixed.png")" = 634x581 ] || fail "fixed-scale heatmap size"
expect_exit 0 "$WAFER" kernel gemv --grid 4x4 --heatmap "$TMP/half.png" --heatmap-scale 0.5
expect_exit 2 "$WAFER" kernel gemv --grid 4x4 --heatmap "$TMP/bad.png" --heatmap-scale 2
expect_contains "$TMP/err" "wafer: error: --heatmap-scale: expected a busy fraction in (0, 1] or 'fixed' (= 1), got '2'"
expect_exit 2 "$WAFER" kernel gemv --grid 4x4 --heatmap-scale fixed
expect_contains "$TMP/err" "--heatmap-scale requires --heatmap"
[ ! -e "$TMP/bad.png" ] || fail "a usage error wrote a heatmap"


expect_exit 0 "$WAFER" kernel allreduce --grid 16x16 --trace "$TMP/w.json" --trace-region 0,0,4,4 --trace-window 0,50
jq -e '[.traceEvents[] | select(.ph == "X") | .pid] | max < 4' "$TMP/w.json" >/dev/null || fail "trace region filter"

# A region reaching past INT_MAX covers the same PEs as one ending at the grid's edge.
expect_exit 0 "$WAFER" kernel gemv --grid 4x4 --m 64 --n 64 --trace "$TMP/r3.json" --trace-region 1,1,3,3
expect_exit 0 "$WAFER" kernel gemv --grid 4x4 --m 64 --n 64 --trace "$TMP/rmax.json" --trace-region 1,1,2147483647,2147483647
expect_contains "$TMP/err" "wafer: wrote trace $TMP/rmax.json (180 events"
cmp -s "$TMP/r3.json" "$TMP/rmax.json" || fail "a region past INT_MAX traces other PEs"

expect_exit 1 "$WAFER" kernel gemv --grid 4x4 --heatmap "$TMP/no/such/dir/h.png"
expect_contains "$TMP/err" "no/such/dir/h.png"

expect_exit 0 "$WAFER" bench --quick --threads 1,2 --format json
jq -e '.results | length == 4' "$TMP/out" >/dev/null || fail "bench json rows"
finish

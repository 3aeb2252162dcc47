# --trace, --heatmap and --stats end to end (also after a deadlock or --max-cycles), and
# `wafer bench --quick`.
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

# A run that fails still leaves its trace and heatmap, then reports the error (exit 1).
expect_exit 1 "$WAFER" sim "$SRC/examples/programs/deadlock.wafer" --trace "$TMP/dl.json" --heatmap "$TMP/dl.png"
expect_contains "$TMP/err" "deadlock at cycle 19"
expect_contains "$TMP/err" "wafer: wrote heatmap $TMP/dl.png (634x325 px, a PE is 256x256 px)"
jq -e '.otherData.arch == "wse3"' "$TMP/dl.json" >/dev/null || fail "deadlock trace is not whole JSON"
# The stuck task and its vector op are traced up to the deadlock's cycle 19.
[ "$(jq -c '[.traceEvents[] | select(.ph == "X") | [.name, .args.cycles]]' "$TMP/dl.json")" = '[["main",19],["vmov",17]]' ] ||
  fail "deadlock trace lacks the open spans: $(jq -c '[.traceEvents[] | select(.ph == "X")]' "$TMP/dl.json")"
[ "$(png_signature "$TMP/dl.png")" = 89504e470d0a1a0a ] || fail "deadlock heatmap is not a PNG"
[ "$(png_size "$TMP/dl.png")" = 634x325 ] || fail "deadlock heatmap size $(png_size "$TMP/dl.png")"
[ "$(tail -n 2 "$TMP/err" | head -c 13)" = "wafer: error:" ] || fail "the run's error comes after the files"
expect_exit 1 "$WAFER" kernel allreduce --grid 16x16 --max-cycles 100 --json --trace "$TMP/mc.json" --heatmap "$TMP/mc.png"
expect_contains "$TMP/err" "the run exceeded --max-cycles 100"
jq -e '[.traceEvents[] | select(.ph == "X")] | length > 0' "$TMP/mc.json" >/dev/null || fail "max-cycles trace has no spans"
[ "$(png_size "$TMP/mc.png")" = 640x581 ] || fail "max-cycles heatmap size $(png_size "$TMP/mc.png")"
[ ! -s "$TMP/out" ] || fail "a failed --json run printed on stdout"

expect_exit 0 "$WAFER" kernel allreduce --grid 16x16 --trace "$TMP/w.json" --trace-region 0,0,4,4 --trace-window 0,50
jq -e '[.traceEvents[] | select(.ph == "X") | .pid] | max < 4' "$TMP/w.json" >/dev/null || fail "trace region filter"

# A region reaching past INT_MAX covers the same PEs as one ending at the grid's edge.
expect_exit 0 "$WAFER" kernel gemv --grid 4x4 --m 64 --n 64 --trace "$TMP/r3.json" --trace-region 1,1,3,3
expect_exit 0 "$WAFER" kernel gemv --grid 4x4 --m 64 --n 64 --trace "$TMP/rmax.json" --trace-region 1,1,2147483647,2147483647
expect_contains "$TMP/err" "wafer: wrote trace $TMP/rmax.json (186 events"
cmp -s "$TMP/r3.json" "$TMP/rmax.json" || fail "a region past INT_MAX traces other PEs"

expect_exit 1 "$WAFER" kernel gemv --grid 4x4 --heatmap "$TMP/no/such/dir/h.png"
expect_contains "$TMP/err" "no/such/dir/h.png"

expect_exit 0 "$WAFER" bench --quick --threads 1,2 --format json
jq -e '.results | length == 4' "$TMP/out" >/dev/null || fail "bench json rows"
finish

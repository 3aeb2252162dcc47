# `wafer yield` end to end: the JSON keys, a map saved and replayed, bad input, the progress
# line and the pictures.
source "$(dirname "$0")/lib.bash"

expect_exit 0 "$WAFER" yield --arch wse3 --wafers 4 --seed 3 --json --save-map "$TMP/w0.defects"
for key in wafers repaired_fraction mean_defects mean_dead_cores mean_spares_left \
           repair_extra_hops_max repair_extra_hops_mean; do
  [ "$(json_get "$TMP/out" "has(\"$key\")")" = true ] || fail "--json lacks $key"
done
for key in die_area_mm2 poisson murphy negbin good_dies_per_wafer; do
  [ "$(json_get "$TMP/out" ".diced | has(\"$key\")")" = true ] || fail "--json diced lacks $key"
done
[ "$(json_get "$TMP/out" .wafers)" = 4 ] || fail "wafers"
[ "$(json_get "$TMP/out" .repaired_fraction)" = 1 ] || fail "wse3 at 0.001/mm² should always repair"
[ "$(json_get "$TMP/out" .physical.pes)" = 969724 ] || fail "physical PEs"
[ "$(json_get "$TMP/out" .diced.die_area_mm2)" = 814 ] || fail "die area"
[ "$(json_get "$TMP/out" .diced.dies_per_wafer)" = 63 ] || fail "dies per wafer"
head -1 "$TMP/w0.defects" | grep -qx "wafer-defects v1 826 1174" || fail "map header"

expect_exit 0 "$WAFER" yield --wafers 2 --segment 64 --segment-spares 1 --spare-rows 0 --json
[ "$(json_get "$TMP/out" .physical.pes)" = 907128 ] || fail "a 64 + 1 layout is 774x1172"
expect_exit 2 "$WAFER" yield --segment 0
expect_contains "$TMP/err" "wafer: error: wafer geometry: segment_logical 0 is out of range (must be 1..32768)"

# Counts that used to overflow the geometry (a crash or length_error): range errors, exit 1.
expect_exit 2 "$WAFER" yield --segment-spares 134217728
expect_contains "$TMP/err" "wafer: error: wafer geometry: segment_spares 134217728 is out of range (must be 0..32768)"
expect_exit 2 "$WAFER" yield --segment 2147483647
expect_contains "$TMP/err" "wafer: error: wafer geometry: segment_logical 2147483647 is out of range (must be 1..32768)"
expect_exit 2 "$WAFER" yield --spare-rows 2147483647
expect_contains "$TMP/err" "wafer: error: wafer geometry: spare_rows 2147483647 is out of range (must be 0..32768)"
expect_exit 2 "$WAFER" yield --window 2147483647
expect_contains "$TMP/err" "wafer: error: shift-2d window 2147483647 is out of range (must be 1..32768)"
expect_exit 2 "$WAFER" yield --segment-spares 32768
expect_contains "$TMP/err" "wafer: error: wafer geometry: physical 1049338x1174 exceeds 32768 per side"
expect_exit 2 "$WAFER" yield --die-area 1e-10
expect_contains "$TMP/err" "wafer: error: die area 1e-10 mm² is out of range (must be 0.01..70000 mm²)"
expect_exit 2 "$WAFER" yield --core-area 1e-10
expect_contains "$TMP/err" "wafer: error: wafer geometry: core area 1e-10 mm² is out of range (must be 0.0001..1000 mm²)"
expect_exit 2 "$WAFER" yield --wafers 2000000
expect_contains "$TMP/err" "wafer: error: wafer count 2000000 is out of range (must be 1..1000000)"
expect_exit 2 "$WAFER" yield --threads 5000
expect_contains "$TMP/err" "wafer: error: thread count 5000 is out of range (must be 0..1024)"
expect_exit 2 "$WAFER" yield --segment 99999999999
expect_exit 0 "$WAFER" yield --wafers 1 --die-area 0.01 --json
[ "$(json_get "$TMP/out" .diced.dies_per_wafer)" = 7061919 ] || fail "0.01 mm² dies per wafer"

# The saved map is wafer 0: replaying it reports that wafer alone.
expect_exit 0 "$WAFER" yield --arch wse3 --load-map "$TMP/w0.defects" --json
[ "$(json_get "$TMP/out" .wafers)" = 1 ] || fail "a loaded map is one wafer"
[ "$(json_get "$TMP/out" .mean_defects)" = "$(grep -c '^[a-z]* [0-9]' "$TMP/w0.defects")" ] || fail "map defects"

# Same seed, different thread counts: the same report.
expect_exit 0 "$WAFER" yield --wafers 6 --defect-density 0.05 --model negbin --alpha 0.5 --threads 1 --json
cp "$TMP/out" "$TMP/one.json"
expect_exit 0 "$WAFER" yield --wafers 6 --defect-density 0.05 --model negbin --alpha 0.5 --threads 2 --json
cmp -s "$TMP/one.json" "$TMP/out" || fail "report depends on the thread count"

expect_exit 0 "$WAFER" yield --wafers 3 --defect-density 0.1 --scheme row-shift
expect_contains "$TMP/out" "row-shift first failure: wafer 0: row"

# A sweep: one CSV row per density after the header.
expect_exit 0 "$WAFER" yield --wafers 3 --sweep defect-density=0.001,0.1
[ "$(wc -l <"$TMP/out")" = 3 ] || fail "sweep rows"
expect_contains "$TMP/out" "defect_density,model,alpha,wafers,mean_defects,mean_dead_cores,row_shift_repaired_fraction"
[ "$(sed -n 3p "$TMP/out" | cut -d, -f1,7,10)" = "0.1,0.0,1.0" ] || fail "at 0.1/mm² row-shift fails, shift-2d repairs"
expect_exit 2 "$WAFER" yield --sweep defect-density=0.001,-1
expect_contains "$TMP/err" "--sweep defect-density=-1: defect density -1 /mm² must be finite and >= 0"
expect_exit 2 "$WAFER" yield --sweep clock=1

expect_exit 2 "$WAFER" yield --defect-density -0.1
expect_contains "$TMP/err" "wafer: error: defect density -0.1 /mm² must be finite and >= 0"
expect_exit 2 "$WAFER" yield --defect-density 50
expect_contains "$TMP/err" "at most 1 per core is meaningful"
expect_exit 2 "$WAFER" yield --defect-model negbin --alpha 0
expect_contains "$TMP/err" "clustering alpha 0 must be > 0"
expect_exit 2 "$WAFER" yield --wafers 0
expect_contains "$TMP/err" "wafer: error: wafer count 0 is out of range (must be 1..1000000)"
expect_exit 2 "$WAFER" yield --defect-density lots
expect_exit 2 "$WAFER" yield --scheme spiral

printf 'wafer-defects v1 826 1174\ncore 3 4\nrouter 5 x\n' >"$TMP/bad.defects"
expect_exit 1 "$WAFER" yield --load-map "$TMP/bad.defects"
expect_contains "$TMP/err" "bad.defects:3: y 'x' is not an integer"
printf 'wafer-defects v1 826 1174\ncore 3 4\nlink 5 6 E\ncore 3 4\n' >"$TMP/twice.defects"
expect_exit 1 "$WAFER" yield --load-map "$TMP/twice.defects"
expect_contains "$TMP/err" "wafer: error: $TMP/twice.defects:4: duplicate defect 'core 3 4' (first on line 2)"
printf 'wafer-defects v1 100 100\n' >"$TMP/small.defects"
expect_exit 1 "$WAFER" yield --load-map "$TMP/small.defects"
expect_contains "$TMP/err" "the map is for a 100x100 wafer but this physical fabric is 826x1174"

# An unrepairable map: three dead cores in one segment.
printf 'wafer-defects v1 826 1174\ncore 0 17\ncore 1 17\nlink 2 17 E\n' >"$TMP/three.defects"
expect_exit 1 "$WAFER" yield --load-map "$TMP/three.defects" --scheme row-shift
expect_contains "$TMP/err" "three.defects: unrepairable by row-shift: row 17 segment 0 (physical columns 0..25) has 3 dead cores but 2 spares"
expect_exit 0 "$WAFER" yield --load-map "$TMP/three.defects" --json
[ "$(json_get "$TMP/out" '.schemes[0].first_failure.wafer')" = 0 ] || fail "row-shift fails the map"
[ "$(json_get "$TMP/out" .repaired_fraction)" = 1 ] || fail "shift-2d repairs the map"

# Progress: nothing on stderr unless it is a terminal; on one (script(1) gives it a pty), a
# line per half second, cleared at the end.
expect_exit 0 "$WAFER" yield --wafers 2 --threads 1
[ ! -s "$TMP/err" ] || fail "progress on a stderr that is not a terminal: $(cat -v "$TMP/err")"
if command -v script >/dev/null; then
  script -qec "$WAFER yield --wafers 2 --threads 1 >/dev/null" "$TMP/tty" >/dev/null
  grep -qF "[wafer] yield: 1/2 wafers" "$TMP/tty" || fail "no progress line on a terminal"
  grep -q $'wafers\r\033\[K' "$TMP/tty" || fail "the progress line is not cleared"
fi

# Pictures: the sweep's plot and one wafer's map are PNGs; --plot needs --sweep.
png_signature() { head -c 8 "$1" | od -An -tx1 | tr -d ' \n'; }
png_size() { echo "$((16#$(od -An -tx1 -j16 -N4 "$1" | tr -d ' \n')))x$((16#$(od -An -tx1 -j20 -N4 "$1" | tr -d ' \n')))"; }
expect_exit 0 "$WAFER" yield --wafers 2 --sweep defect-density=0.001,0.1 --plot "$TMP/sweep.png"
[ "$(png_signature "$TMP/sweep.png")" = 89504e470d0a1a0a ] || fail "--plot is not a PNG"
expect_contains "$TMP/err" "wafer: wrote plot $TMP/sweep.png (960x600 px)"
expect_exit 0 "$WAFER" yield --wafers 2 --map "$TMP/map.png"
[ "$(png_signature "$TMP/map.png")" = 89504e470d0a1a0a ] || fail "--map is not a PNG"
expect_contains "$TMP/err" "wafer: wrote map $TMP/map.png"
# The whole 826x1174 wafer at one pixel per PE, below a title line, beside the legend.
printf 'wafer-defects v1 826 1174\ncore 100 200\n' >"$TMP/one.defects"
expect_exit 0 "$WAFER" yield --load-map "$TMP/one.defects" --map "$TMP/one.png"
[ "$(png_size "$TMP/one.png")" = 1220x1206 ] || fail "full-wafer map size $(png_size "$TMP/one.png")"
expect_contains "$TMP/err" "wafer: wrote map $TMP/one.png (1220x1206 px)"
expect_exit 1 "$WAFER" yield --load-map "$TMP/three.defects" --scheme row-shift --map "$TMP/three.png"
[ "$(png_signature "$TMP/three.png")" = 89504e470d0a1a0a ] || fail "an unrepairable map is still drawn"
expect_exit 2 "$WAFER" yield --plot "$TMP/p.png"
expect_contains "$TMP/err" "--plot requires --sweep"
expect_exit 1 "$WAFER" yield --wafers 1 --map "$TMP/no/such/dir/m.png"
expect_contains "$TMP/err" "no/such/dir/m.png"
expect_exit 2 "$WAFER" yield --sweep defect-density=0.001 --map "$TMP/m.png"
expect_contains "$TMP/err" "--sweep cannot be combined with --load-map, --save-map or --map"

finish

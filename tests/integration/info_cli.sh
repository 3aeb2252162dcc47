# `wafer info` end to end: presets, user arch files, and bad arch files.
source "$(dirname "$0")/lib.bash"

expect_exit 0 "$WAFER" info --arch wse3 --json
[ "$(json_get "$TMP/out" '.params | length')" = 27 ] || fail "wse3 should list 27 parameters"
[ "$(json_get "$TMP/out" '.params[] | select(.key=="fabric_width") | .value')" = 762 ] || fail "wse3 width"
[ "$(json_get "$TMP/out" '.params[] | select(.key=="hop_latency") | .unit')" = cycles ] || fail "unit"

expect_exit 0 "$WAFER" info --arch wse2
expect_contains "$TMP/out" "fabric_height"
expect_contains "$TMP/out" "996"

expect_exit 0 "$WAFER" info --arch "$SRC/examples/arch/wse3-small.toml" --json
[ "$(json_get "$TMP/out" '.params[] | select(.key=="fabric_width") | .value')" = 64 ] || fail "file override"

cat >"$TMP/bad_key.toml" <<'T'
base = "wse3"
lanes_f16_fmaa = 8
T
expect_exit 1 "$WAFER" info --arch "$TMP/bad_key.toml"
expect_contains "$TMP/err" "lanes_f16_fmaa"
expect_contains "$TMP/err" "wafer: error:"

cat >"$TMP/zero.json" <<'T'
{"base": "wse2", "lanes_f32_arith": 0}
T
expect_exit 1 "$WAFER" info --arch "$TMP/zero.json"
expect_contains "$TMP/err" "lanes_f32_arith"

cat >"$TMP/huge.toml" <<'T'
fabric_width = 100000
T
expect_exit 1 "$WAFER" info --arch "$TMP/huge.toml"
expect_contains "$TMP/err" "fabric_width"

cat >"$TMP/unit.toml" <<'T'
clock_ghz = "1.1 MHz"
T
expect_exit 1 "$WAFER" info --arch "$TMP/unit.toml"
expect_contains "$TMP/err" "clock_ghz"

# Values whose conversions used to overflow or reach 0, and a JSON key given twice.
printf '{"lanes_f16_fma": 3e9}\n' >"$TMP/lanes.json"
expect_exit 1 "$WAFER" info --arch "$TMP/lanes.json"
expect_contains "$TMP/err" "wafer: error: $TMP/lanes.json: key 'lanes_f16_fma': value 3000000000 out of range (must be in 0.015625..64)"
printf 'host_io_gbytes_per_s = 1e-300\n' >"$TMP/io.toml"
expect_exit 1 "$WAFER" info --arch "$TMP/io.toml"
expect_contains "$TMP/err" "wafer: error: $TMP/io.toml: key 'host_io_gbytes_per_s': value 1e-300 out of range (must be in 0.1..1000000)"
printf '{\n  "colors": 24,\n  "colors": 16\n}\n' >"$TMP/twice.json"
expect_exit 1 "$WAFER" info --arch "$TMP/twice.json"
expect_contains "$TMP/err" "wafer: error: $TMP/twice.json:3:3: duplicate key 'colors' (first at $TMP/twice.json:2:3)"

printf 'base = "wse3"\nfabric_width = [\n' >"$TMP/broken.toml"
expect_exit 1 "$WAFER" info --arch "$TMP/broken.toml"
expect_contains "$TMP/err" "broken.toml:"

expect_exit 1 "$WAFER" info --arch nosuch
expect_contains "$TMP/err" "nosuch"
finish

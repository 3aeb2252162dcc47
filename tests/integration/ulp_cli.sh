# `wafer ulp` end to end: exp over every finite fp16 value on the simulator, its JSON and
# text forms, and bad input (an unknown function or type: exit 2 with the nearest name).
source "$(dirname "$0")/lib.bash"

expect_exit 0 "$WAFER" ulp exp --dtype fp16 --json --threads 1
[ "$(json_get "$TMP/out" '.[0].function')" = exp ] || fail "function"
[ "$(json_get "$TMP/out" '.[0].dtype')" = f16 ] || fail "dtype"
[ "$(json_get "$TMP/out" '.[0].inputs')" = 63488 ] || fail "every finite fp16 value is 63488 inputs"
[ "$(json_get "$TMP/out" '.[0].max_ulp')" = 1 ] || fail "exp fp16 max ulp should be 1 (docs/vmath.md)"
[ "$(json_get "$TMP/out" '.[0].nan_mismatch')" = 0 ] || fail "no NaN mismatch"
# The one 1-ulp input: e^0.0072975 lies 2^-24 from a midpoint of fp16; fp32 then fp16 rounds up.
[ "$(json_get "$TMP/out" '.[0].at')" = 0.007297515869140625 ] || fail "where the max occurs"

expect_exit 0 "$WAFER" ulp relu --dtype bf16 --samples 10
expect_contains "$TMP/out" "arch:     wse3"
expect_contains "$TMP/out" "every finite bf16 value (65280)"
expect_contains "$TMP/out" "max ulp"

expect_exit 0 "$WAFER" ulp add --dtype fp32 --samples 1000 --format csv
expect_contains "$TMP/out" "function,dtype,inputs,max_ulp"
expect_contains "$TMP/out" "add,f32,1000,0,"

expect_exit 2 "$WAFER" ulp expp
expect_contains "$TMP/err" "wafer: error: unknown function 'expp' (did you mean 'exp'?)"
expect_exit 2 "$WAFER" ulp exp --dtype fp64
expect_contains "$TMP/err" "unknown float type 'fp64' (did you mean 'fp32'?)"
expect_exit 2 "$WAFER" ulp exp --samples 0
expect_contains "$TMP/err" "--samples must be at least 1"

finish

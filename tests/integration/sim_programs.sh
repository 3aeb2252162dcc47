# `wafer sim` end to end on the example programs: outputs against reviewed golden files,
# and the errors a user meets (syntax error with line:col, deadlock report, bad arch).
source "$(dirname "$0")/lib.bash"

# Lines that depend on the host (wall time, thread count) are left out of the comparison.
stable() { grep -vE '^(speed:|threads:)' "$1"; }

for name in chain_sum broadcast stream_tasks; do
  expect_exit 0 "$WAFER" sim "$SRC/examples/programs/$name.wafer" --threads 1
  stable "$TMP/out" | sed "s#$SRC/##" >"$TMP/$name.out"
  compare_golden "sim_$name.out" "$TMP/$name.out"
  expect_exit 0 "$WAFER" sim "$SRC/examples/programs/$name.wafer" --threads 2 --json
  jq -e '.outputs | length > 0' "$TMP/out" >/dev/null || fail "$name --json has no outputs"
done

expect_exit 0 "$WAFER" sim "$SRC/examples/programs/chain_sum.wafer" --json
[ "$(jq -c '.outputs[0].values[0:4]' "$TMP/out")" = "[100,104,108,112]" ] || fail "chain_sum values"

expect_exit 1 "$WAFER" sim "$SRC/examples/programs/bad_syntax.wafer"
expect_contains "$TMP/err" "bad_syntax.wafer:13:5: unknown instruction 'vmul3'"

expect_exit 1 "$WAFER" sim "$SRC/examples/programs/deadlock.wafer"
expect_contains "$TMP/err" "deadlock"
expect_contains "$TMP/err" "PE (0,0)"
expect_contains "$TMP/err" "color 7"

expect_exit 1 "$WAFER" sim "$TMP/missing.wafer"
expect_contains "$TMP/err" "missing.wafer"

# Out of SRAM: a symbol larger than a PE's 48 KiB.
cat >"$TMP/big.wafer" <<'P'
program 2 2
code big {
  sym huge f32 20000
  task main local 1 { ret }
}
place big 0 0 2 2
P
expect_exit 1 "$WAFER" sim "$TMP/big.wafer"
expect_contains "$TMP/err" "SRAM"

# A color sent off the edge of the program.
cat >"$TMP/edge.wafer" <<'P'
program 2 1
code c {
  task main local 1 { ret }
}
place c 0 0 2 1
route 3 0 0 2 1 rx R tx E
P
expect_exit 1 "$WAFER" sim "$TMP/edge.wafer"
expect_contains "$TMP/err" "route for color 3 at line 6: position 0: PE (1,0) sends E off the edge"

# An infinite loop meets --max-cycles.
cat >"$TMP/loop.wafer" <<'P'
program 1 1
code c {
  task main local 1 {
  top:
    jmp top
  }
}
place c 0 0 1 1
host {
  launch main 0 0 1 1
}
P
expect_exit 1 "$WAFER" sim "$TMP/loop.wafer" --max-cycles 500
expect_contains "$TMP/err" "max-cycles 500"

# A task without 'ret' is a runtime error at cycle 2, the same for every superstep and thread
# count (it crashed the engine with supersteps).
cat >"$TMP/noret.wafer" <<'P'
program 64 64
code c {
  task main local 1 {
    nop
    nop
    nop
  }
}
place c 0 0 64 64
host {
  launch main 0 0 64 64
}
P
for run in "--superstep 1 --threads 1" "--superstep 0 --threads 2" "--superstep 16 --threads 2"; do
  # shellcheck disable=SC2086
  expect_exit 1 "$WAFER" sim "$TMP/noret.wafer" $run
  expect_contains "$TMP/err" "wafer: error: $TMP/noret.wafer: host line 11: cycle 2: PE (0,0) code 'c' task 'main': ran past the last instruction (missing 'ret')"
done

# int32 values print exactly (2147483520 printed as 2147483500 through float formatting).
cat >"$TMP/ints.wafer" <<'P'
program 1 1
code c {
  sym v i32 3
  task main local 1 { ret }
}
place c 0 0 1 1
host {
  h2d v 0 0 1 1 values 2147483520 -2147483647 16777217
  d2h v 0 0 1 1
}
P
expect_exit 0 "$WAFER" sim "$TMP/ints.wafer"
expect_contains "$TMP/out" "(0,0): 2147483520 -2147483647 16777217"

# Garbage never crashes the parser.
head -c 3000 /dev/urandom >"$TMP/noise.wafer"
"$WAFER" sim "$TMP/noise.wafer" >/dev/null 2>"$TMP/err"
code=$?
[ "$code" = 1 ] || fail "random bytes: exit $code"
finish

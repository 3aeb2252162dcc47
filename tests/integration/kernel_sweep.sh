# `wafer kernel NAME --sweep`: the cross product of parameter values as one table, in every
# format, with deterministic cycles (golden file), linked keys, and its errors: an unknown key
# (exit 2, nearest key), a bad value (exit 2, key and value), a combination that cannot run
# (its row says why; exit 1 after the table).
source "$(dirname "$0")/lib.bash"

SWEEP=(kernel gemm --arch wse3 --m 32 --n 32 --dtype fp16 --threads 1 --sweep grid=2x2,4x4 --sweep k=32,64)

# CSV: the swept keys, then the results; the wall time is the only column that varies.
expect_exit 0 "$WAFER" "${SWEEP[@]}" --format csv
head -1 "$TMP/out" | grep -qx "grid,k,cycles,compute_cycles,comm_cycles,seconds,flops,flops_per_cycle,peak_fraction,max_rel_error,verified,sim_wall_seconds,error" ||
  fail "csv header: $(head -1 "$TMP/out")"
[ "$(wc -l <"$TMP/out")" = 5 ] || fail "want 4 rows: $(cat "$TMP/out")"
grep -q "^sweep 4/4: grid=4x4 k=64: [0-9]* cycles$" "$TMP/err" || fail "progress on stderr: $(cat "$TMP/err")"
cut -d, -f1-11,13 "$TMP/out" >"$TMP/sweep.csv"
compare_golden kernel_sweep.csv "$TMP/sweep.csv"

# The same table as JSON and markdown; a sweep's cycles are a single run's.
expect_exit 0 "$WAFER" "${SWEEP[@]}" --json
[ "$(jq length "$TMP/out")" = 4 ] || fail "json rows: $(cat "$TMP/out")"
[ "$(jq -r '[.[] | .verified] | all' "$TMP/out")" = true ] || fail "json: not all verified"
last=$(jq -r '.[3].cycles' "$TMP/out")
expect_exit 0 "$WAFER" kernel gemm --arch wse3 --grid 4x4 --m 32 --n 32 --k 64 --dtype fp16 --json
[ "$(json_get "$TMP/out" .cycles)" = "$last" ] || fail "sweep row 4 has $last cycles, a single run $(json_get "$TMP/out" .cycles)"
expect_exit 0 "$WAFER" "${SWEEP[@]}" --format md
expect_contains "$TMP/out" "| grid | k | cycles |"

# Linked keys take each value together; the swept values are read back as the library has them.
expect_exit 0 "$WAFER" kernel gemm --grid 2x2 --sweep m,n,k=16,32 --sweep dtype=fp16 --format csv
cut -d, -f1-4 "$TMP/out" | tr '\n' ' ' | grep -qx "m,n,k,dtype 16,16,16,fp16 32,32,32,fp16 " ||
  fail "linked keys: $(cat "$TMP/out")"

# Errors.
expect_exit 2 "$WAFER" kernel gemm --sweep mm=1,2
expect_contains "$TMP/err" "unknown key 'mm' (did you mean 'm'?)"
expect_exit 2 "$WAFER" kernel gemm --sweep k=32,abc
expect_contains "$TMP/err" "key 'k': expected a number, got 'abc'"
expect_exit 2 "$WAFER" kernel gemm --sweep grid=2x2,3y3
expect_contains "$TMP/err" "got '3y3'"
expect_exit 2 "$WAFER" kernel gemm --sweep dtype=fp8
expect_contains "$TMP/err" "got 'fp8'"
expect_exit 2 "$WAFER" kernel gemm --sweep k=32 --sweep k=64
expect_contains "$TMP/err" "key 'k' is swept twice"
expect_exit 2 "$WAFER" kernel gemm --sweep k=32 --trace "$TMP/t.json"
expect_contains "$TMP/err" "--sweep takes no"
# A combination too large for SRAM: its row carries the error, the others run; exit 1.
expect_exit 1 "$WAFER" kernel gemm --grid 2x2 --sweep m,n,k=32,128 --format csv
[ "$(grep -c ',true,' "$TMP/out")" = 1 ] || fail "the fitting row: $(cat "$TMP/out")"
expect_contains "$TMP/out" "bytes of SRAM"
expect_contains "$TMP/err" "1 of 2 runs did not verify or did not run"

# The parameters: per kernel in --help, all of them with --params, the kernels with --list.
expect_exit 0 "$WAFER" kernel gemv --help
expect_contains "$TMP/out" "Parameters of gemv:"
grep -q "^  k  " "$TMP/out" && fail "gemv --help lists k, which gemv does not take"
expect_exit 0 "$WAFER" kernel --params --format csv
expect_contains "$TMP/out" "m,elements,0..1000000000,rows of the problem (0: the kernel's default),default: the kernel's"
expect_exit 0 "$WAFER" kernel --list --format csv
expect_contains "$TMP/out" "gemm,--m --n --k,"
expect_exit 2 "$WAFER" kernel gemm --m -1
expect_contains "$TMP/err" "--m: key 'm': value -1 out of range (must be in 0..1000000000)"
finish

# Running out of host memory: a run whose estimate exceeds the available memory (here set by
# WAFER_MEMORY_LIMIT) is refused at once, before any data is generated or the machine is
# allocated, with a message naming the bytes needed and available and what would fit.
source "$(dirname "$0")/lib.bash"

# The full-wafer GEMV needs gigabytes; refused in well under the time it takes to allocate.
start=$(date +%s)
WAFER_MEMORY_LIMIT=100M expect_exit 1 "$WAFER" kernel gemv --grid full --arch wse3
elapsed=$(( $(date +%s) - start ))
[ "$elapsed" -le 10 ] || fail "the refusal took ${elapsed}s"
expect_contains "$TMP/err" "simulating a 762x1172 grid of 'gemv' needs about 6.9 GB of host memory"
expect_contains "$TMP/err" "but 100.0 MB is available (WAFER_MEMORY_LIMIT)"
expect_contains "$TMP/err" "grid would fit"

# Sizes that would fit are named with their flags.
WAFER_MEMORY_LIMIT=2G expect_exit 1 "$WAFER" kernel stream-fma --grid full --n 2048
expect_contains "$TMP/err" "needs about 82.2 GB of host memory but 2.0 GB is available"
grep -qE -- "--n [0-9]+ or a [0-9]+x[0-9]+ grid would fit" "$TMP/err" || fail "no sizes in: $(cat "$TMP/err")"

# What fits runs as before.
WAFER_MEMORY_LIMIT=100M expect_exit 0 "$WAFER" kernel gemv --grid 8x8 --json
[ "$(json_get "$TMP/out" .verified)" = true ] || fail "gemv under the limit not verified"

# Text programs go through the same check in the simulator.
WAFER_MEMORY_LIMIT=1K expect_exit 1 "$WAFER" sim "$SRC/examples/programs/chain_sum.wafer"
expect_contains "$TMP/err" "program needs about"
expect_contains "$TMP/err" "but 1.0 kB is available (WAFER_MEMORY_LIMIT)"

WAFER_MEMORY_LIMIT=lots expect_exit 1 "$WAFER" kernel gemv
expect_contains "$TMP/err" "WAFER_MEMORY_LIMIT: 'lots' is not a byte count"

finish

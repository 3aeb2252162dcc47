# Reliability end to end: a name or path that is not valid UTF-8 is a `wafer: error:` (never
# an abort), and SIGINT stops a run with one line, `wafer: interrupted`, and exit 130, leaving
# at the trace path either its old file (interrupted) or a complete trace (the run won the
# race), never a partial one, and no temporary file.
source "$(dirname "$0")/lib.bash"
set -m  # without job control, bash starts background jobs with SIGINT ignored

bad=$'\xff'

# ---- names that are not valid UTF-8

cat >"$TMP/sym.wafer" <<EOF
program 1 1
code c {
  sym "v$bad" f32 4
  task main local 1 { ret }
}
place c 0 0 1 1
EOF
expect_exit 1 "$WAFER" sim "$TMP/sym.wafer" --json
expect_contains "$TMP/err" "wafer: error: $TMP/sym.wafer:3:7: string is not valid UTF-8 (byte 2 of its value is 0xff)"
expect_exit 1 "$WAFER" sim "$TMP/sym.wafer" --trace "$TMP/t.json"
expect_contains "$TMP/err" "sym.wafer:3:7: string is not valid UTF-8"
[ ! -e "$TMP/t.json" ] || fail "a program that failed to parse left a trace"

printf 'program 1 1\narch "a\\xfe.toml"\n' >"$TMP/arch_line.wafer"
expect_exit 1 "$WAFER" sim "$TMP/arch_line.wafer" --json
expect_contains "$TMP/err" "arch_line.wafer:2:6: string is not valid UTF-8 (byte 2 of its value is 0xfe)"

cp "$SRC/examples/programs/chain_sum.wafer" "$TMP/p$bad.wafer"
expect_exit 2 "$WAFER" sim "$TMP/p$bad.wafer" --json
expect_contains "$TMP/err" "wafer: error: argument '$TMP/p\\xff.wafer' is not valid UTF-8"
expect_exit 2 "$WAFER" sim "$SRC/examples/programs/chain_sum.wafer" --trace "$TMP/t$bad.json"
expect_contains "$TMP/err" "wafer: error: argument '$TMP/t\\xff.json' is not valid UTF-8"
grep -v '^name' "$SRC/examples/arch/wse3-small.toml" >"$TMP/a$bad.toml"  # named by its file
expect_exit 2 "$WAFER" kernel gemv --grid 4x4 --arch "$TMP/a$bad.toml" --json
expect_contains "$TMP/err" "wafer: error: argument '$TMP/a\\xff.toml' is not valid UTF-8"

# ---- SIGINT

# interrupt_when CONDITION CMD...: runs CMD in the background, sends it SIGINT as soon as the
# shell command CONDITION succeeds (polled for at most 300 s), and sets $got to its exit status.
interrupt_when() {
  local condition="$1" polls=0
  shift
  "$@" >"$TMP/out" 2>"$TMP/err" &
  local pid=$!
  until eval "$condition" || ! kill -0 "$pid" 2>/dev/null || [ $polls -ge 6000 ]; do
    sleep 0.05
    polls=$((polls + 1))
  done
  kill -INT "$pid" 2>/dev/null
  wait "$pid"
  got=$?
}

# expect_old_or_complete TRACE WHEN: after an interrupt, the old file is untouched and the
# message is one line; after a finished run, the trace is whole. No temporary file either way.
expect_old_or_complete() {
  local trace="$1" when="$2"
  if [ "$got" = 130 ]; then
    [ "$(cat "$TMP/err")" = "wafer: interrupted" ] || fail "interrupt $when printed: $(head -c 400 "$TMP/err")"
    [ "$(cat "$trace")" = "old trace" ] || fail "interrupt $when changed the file at the trace path"
  elif [ "$got" = 0 ]; then
    echo "note: the run finished before the interrupt $when" >&2
    jq -e '.traceEvents | length > 0' "$trace" >/dev/null || fail "finished trace is not whole JSON"
  else
    fail "exit $got after an interrupt $when (want 130, or 0 if the run finished first)"
    sed 's/^/  stderr: /' "$TMP/err" | head -20 >&2
  fi
  if compgen -G "$trace.tmp.*" >/dev/null; then fail "temporary file left after an interrupt $when"; fi
}

trace="$TMP/trace.json"
echo "old trace" >"$trace"
interrupt_when 'grep -q "^threads:" "$TMP/out"' \
  "$WAFER" kernel stream-fma --grid 256x256 --n 64 --threads 1 --trace "$trace"
expect_old_or_complete "$trace" "during the run"

echo "old trace" >"$trace"
interrupt_when 'compgen -G "$trace.tmp.*" >/dev/null' \
  "$WAFER" kernel stream-fma --grid 256x256 --n 64 --threads 1 --trace "$trace"
expect_old_or_complete "$trace" "while the trace is written"

finish

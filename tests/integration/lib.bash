# Helpers for the end-to-end tests (sourced, not run): each test script gets the wafer binary
# as $1 and the source tree as $2, runs commands, and fails with a message on the first
# unmet expectation.
set -uo pipefail
WAFER="$1"
SRC="$2"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
FAILED=0

fail() {
  echo "FAIL: $*" >&2
  FAILED=1
}

# expect_exit CODE CMD...: runs CMD, saving stdout/stderr in $TMP/out and $TMP/err.
expect_exit() {
  local want="$1"
  shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    fail "exit $got (want $want): $*"
    sed 's/^/  stderr: /' "$TMP/err" | head -20 >&2
  fi
}

expect_contains() {  # FILE TEXT
  grep -qF -- "$2" "$1" || fail "$(basename "$1") lacks '$2': $(head -c 400 "$1")"
}

json_get() {  # FILE JQ-EXPR
  jq -r "$2" "$1"
}

# compare_golden NAME FILE: compares with tests/integration/golden/NAME; UPDATE_GOLDEN=1
# rewrites the golden file instead (review the diff before committing it).
compare_golden() {
  local golden="$SRC/tests/integration/golden/$1"
  if [ "${UPDATE_GOLDEN:-0}" = 1 ]; then
    cp "$2" "$golden"
    echo "updated $golden"
  elif ! diff -u "$golden" "$2" >&2; then
    fail "output differs from golden file $1 (UPDATE_GOLDEN=1 regenerates it)"
  fi
}

finish() {
  if [ "$FAILED" = 0 ]; then echo "PASS"; fi
  exit "$FAILED"
}

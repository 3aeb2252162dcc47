# `wafer cluster serve` end to end, as a client would drive it: the server starts on a free
# port with a temporary job store and the serving split of examples/workloads/hybrid-serve.toml, answers a valid job and route, malformed and ill-typed
# requests with 4xx JSON errors naming the field, and 20 concurrent submissions with 20
# distinct jobs; it is killed with SIGKILL and restarted on the same store, and the jobs come
# back with the same pools and predicted times (the cancelled one still cancelled). The page
# is checked in headless Chromium when it is installed. The server is killed on any exit.
source "$(dirname "$0")/lib.bash"

FLEET="$SRC/examples/fleets/hybrid.toml"
WORKLOAD="$SRC/examples/workloads/hybrid-serve.toml"
DB="$TMP/jobs.db"
SERVER_PID=""
PORT=""

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill -9 "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
  fi
}
trap 'stop_server; rm -rf "$TMP"' EXIT

# Starts the server (an hour of cluster time per second) and waits for its address line.
start_server() {
  : >"$TMP/server.err"
  "$WAFER" cluster serve --fleet "$FLEET" --workload "$WORKLOAD" --port 0 --db "$DB" --time-scale 3600 \
    2>"$TMP/server.err" &
  SERVER_PID=$!
  for _ in $(seq 600); do
    PORT=$(grep -o 'http://127.0.0.1:[0-9]*' "$TMP/server.err" | sed 's/.*://')
    [ -n "$PORT" ] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  fail "the server did not start: $(cat "$TMP/server.err")"
  finish
}

# request OUT METHOD PATH [BODY [CURL-ARGS...]]: the body goes to OUT, the status to stdout.
request() {
  local out="$1" method="$2" path="$3" body="${4:-}"
  shift 4 2>/dev/null || shift $#
  local data=()
  [ -n "$body" ] && data=(--data-binary "$body")
  curl -s -o "$out" -w '%{http_code}' -X "$method" "${data[@]}" "$@" \
    "http://127.0.0.1:$PORT$path"
}

# expect_error STATUS FIELD METHOD PATH [BODY [CURL-ARGS...]]: FIELD "null" for none.
expect_error() {
  local want="$1" field="$2"
  shift 2
  local got
  got=$(request "$TMP/error.json" "$@")
  [ "$got" = "$want" ] || fail "status $got (want $want): $* -> $(cat "$TMP/error.json")"
  [ "$(json_get "$TMP/error.json" '.error.field')" = "$field" ] ||
    fail "error field of $* is not $field: $(cat "$TMP/error.json")"
  [ -n "$(json_get "$TMP/error.json" '.error.message')" ] || fail "no error message: $*"
}

start_server

# A valid job: no deadline, so the cheapest placement, an H100 group (see service_test.cpp).
[ "$(request "$TMP/job.json" POST /v1/jobs '{"model": "llama3-8b", "tokens": 1e10}')" = 200 ] ||
  fail "POST /v1/jobs: $(cat "$TMP/job.json")"
[ "$(json_get "$TMP/job.json" '.id + " " + .object + " " + .pool + " " + (.devices|tostring)')" = \
  "job-1 training.job gpus 8" ] || fail "job object: $(cat "$TMP/job.json")"
[ "$(request "$TMP/route.json" POST /v1/route \
  '{"model": "llama3-70b", "prompt_tokens": 1000, "max_output_tokens": 200}' \
  -H 'x-slo-tpot-ms: 20')" = 200 ] || fail "POST /v1/route: $(cat "$TMP/route.json")"
[ "$(json_get "$TMP/route.json" '.slo_tpot_ms')" = 20 ] || fail "the SLO header is read"
[ "$(json_get "$TMP/route.json" '.candidates | length')" = 3 ] || fail "3 candidate pools"
[ "$(request "$TMP/fleet.json" GET /v1/fleet)" = 200 ] || fail "GET /v1/fleet"
[ "$(json_get "$TMP/fleet.json" '[.pools[].name] | join(",")')" = "wafers,gpus,lpus" ] ||
  fail "fleet pools: $(cat "$TMP/fleet.json")"

# Malformed and ill-typed requests.
expect_error 400 null POST /v1/jobs '{"model": '
expect_error 400 null POST /v1/jobs 'not json at all'
expect_error 400 tokens POST /v1/jobs '{"model": "llama3-8b", "tokens": "lots"}'
expect_error 400 tokens POST /v1/jobs '{"model": "llama3-8b", "tokens": -3}'
expect_error 400 model POST /v1/jobs '{"model": "llama-9000", "tokens": 1e9}'
expect_error 400 budget_usd POST /v1/jobs '{"model": "llama3-8b", "tokens": 1e9, "budget_usd": true}'
expect_error 422 budget_usd POST /v1/jobs '{"model": "llama3-8b", "tokens": 1e12, "budget_usd": 1}'
expect_error 400 max_output_tokens POST /v1/route '{"model": "llama3-8b", "prompt_tokens": 10}'
expect_error 400 x-slo-ttft-ms POST /v1/route \
  '{"model": "llama3-8b", "prompt_tokens": 10, "max_output_tokens": 5}' -H 'x-slo-ttft-ms: -1'
expect_error 404 id GET /v1/jobs/job-404
expect_error 404 null GET /v1/nothing
expect_error 405 null PUT /v1/jobs '{}'
expect_error 405 null DELETE /v1/fleet
printf '\xff\xfe{"model":\x00' >"$TMP/binary"
[ "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$TMP/binary" \
  "http://127.0.0.1:$PORT/v1/jobs")" = 400 ] || fail "binary body is a 400"

# 20 concurrent submissions: 20 accepted jobs with 20 distinct ids.
for i in $(seq 20); do
  request "$TMP/concurrent.$i" POST /v1/jobs '{"model": "gpt3-1.3b", "tokens": 1e10}' \
    >"$TMP/status.$i" &
done
wait $(jobs -p | grep -v "^$SERVER_PID\$")
for i in $(seq 20); do
  [ "$(cat "$TMP/status.$i")" = 200 ] || fail "concurrent request $i: $(cat "$TMP/concurrent.$i")"
done
[ "$(cat "$TMP"/concurrent.* | jq -r .id | sort -u | wc -l)" = 20 ] || fail "20 distinct job ids"
[ "$(request "$TMP/cancel.json" DELETE /v1/jobs/job-2)" = 200 ] || fail "DELETE job-2"
[ "$(json_get "$TMP/cancel.json" .status)" = cancelled ] || fail "job-2 is cancelled"
kill -0 "$SERVER_PID" 2>/dev/null || fail "the server died on bad input"

# What a restart must give back: every job's id, pool, predicted times and cancellation.
KEYS='[.data[] | {id, pool, predicted_start, predicted_finish, cost_usd, cancelled_at}]'
[ "$(request "$TMP/before.json" GET /v1/jobs)" = 200 ] || fail "GET /v1/jobs"
[ "$(json_get "$TMP/before.json" '.data | length')" = 21 ] || fail "21 jobs before the restart"
stop_server
start_server
[ "$(request "$TMP/after.json" GET /v1/jobs)" = 200 ] || fail "GET /v1/jobs after the restart"
[ "$(jq -c "$KEYS" "$TMP/before.json")" = "$(jq -c "$KEYS" "$TMP/after.json")" ] ||
  fail "jobs differ after kill -9 and restart"
[ "$(json_get "$TMP/after.json" '.data[1].status')" = cancelled ] || fail "job-2 stays cancelled"

# The page: self-contained (no external script) and, in a browser, listing the pools.
[ "$(request "$TMP/page.html" GET /)" = 200 ] || fail "GET /"
grep -q '<script src' "$TMP/page.html" && fail "the page loads an external script"
BROWSER=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$BROWSER" ]; then
  timeout 60 "$BROWSER" --headless --disable-gpu --no-sandbox --dump-dom \
    "http://127.0.0.1:$PORT/" >"$TMP/dom.html" 2>/dev/null
  for pool in wafers gpus lpus; do expect_contains "$TMP/dom.html" "<td>$pool</td>"; done
  # Given 3 s of virtual time, the script's fetch() fills the queue from /v1/jobs.
  timeout 60 "$BROWSER" --headless --disable-gpu --no-sandbox --virtual-time-budget=3000 \
    --dump-dom "http://127.0.0.1:$PORT/" >"$TMP/live.html" 2>/dev/null
  expect_contains "$TMP/live.html" "<td>job-2</td><td>cancelled</td>"
else
  echo "skip: chromium is absent, the page is not checked in a browser"
fi

stop_server
finish

# `wafer cluster matrix` end to end: the example fleets and jobs file print the matrix in
# every format (JSON values equal to `wafer estimate`'s for the same model, system and
# count), the default jobs are the zoo's models, and bad files exit 1 naming file, line and
# key, while usage errors (no --fleet, an unknown flag or verb) exit 2. `wafer cluster
# simulate` on the small example workload: a golden table, the same JSON on a second run,
# the plot, and its errors.
source "$(dirname "$0")/lib.bash"

FLEETS="$SRC/examples/fleets"
JOBS="$SRC/examples/jobs/mixed.toml"

for fleet in "$FLEETS"/*.toml; do
  expect_exit 0 "$WAFER" cluster matrix --fleet "$fleet" --jobs "$JOBS"
  expect_contains "$TMP/out" "max req/s in SLO"
done

# The hybrid fleet: 4 jobs x (wafers at 4 and 16, gpus at 8 and 1024, lpus at 640 and 1280).
expect_exit 0 "$WAFER" cluster matrix --fleet "$FLEETS/hybrid.toml" --jobs "$JOBS" --json
[ "$(json_get "$TMP/out" '.matrix | length')" = 24 ] || fail "hybrid matrix has 24 cells"
[ "$(json_get "$TMP/out" '.fleet.pools | map(.family) | join(",")')" = "wafer,gpu,lpu" ] || fail "three families"
cp "$TMP/out" "$TMP/matrix.json"
cell() {  # JOB POOL COUNT FIELD
  json_get "$TMP/matrix.json" ".matrix[] | select(.job == \"$1\" and .pool == \"$2\" and .count == $3) | .$4"
}
# Training: the matrix's tokens/s and limiter are wafer estimate train's.
expect_exit 0 "$WAFER" estimate train --model llama3-70b --system h100 --count 1024 --tokens 1e12 --json
[ "$(cell pretrain-70b gpus 1024 tokens_per_second)" = "$(json_get "$TMP/out" .tokens_per_second)" ] ||
  fail "pretrain-70b tokens/s differs from wafer estimate train"
[ "$(cell pretrain-70b gpus 1024 limiter)" = "$(json_get "$TMP/out" .limiter)" ] || fail "limiter"
expect_exit 0 "$WAFER" estimate train --model llama3-70b --system cs3 --count 4 --tokens 1e12 --json
[ "$(cell pretrain-70b wafers 4 tokens_per_second)" = "$(json_get "$TMP/out" .tokens_per_second)" ] ||
  fail "pretrain-70b on cs3 tokens/s differs from wafer estimate train"
# Inference: TTFT and TPOT at the job's batch are wafer estimate infer's.
expect_exit 0 "$WAFER" estimate infer --model llama3-70b --system lpu --count 1280 --prompt 1024 --output 256 --batch 32 --json
[ "$(cell chat-70b lpus 1280 ttft_seconds)" = "$(json_get "$TMP/out" .ttft_seconds)" ] || fail "chat-70b ttft"
[ "$(cell chat-70b lpus 1280 tpot_seconds)" = "$(json_get "$TMP/out" .time_per_output_token_seconds)" ] ||
  fail "chat-70b tpot"
# 8 x the h100's $2.5 = $20/h, 8 x 0.7 kW = 5.6 kW.
[ "$(cell chat-70b gpus 8 dollars_per_hour)" = 20 ] || fail "8 h100s cost \$20/h"
[ "$(cell chat-70b gpus 8 kilowatts)" = 5.6 ] || fail "8 h100s draw 5.6 kW"
[ "$(cell finetune-8b lpus 640 fits)" = no ] || fail "an lpu does not train"
expect_contains "$TMP/matrix.json" "lpu is an inference chip"

# Markdown and CSV through the one table renderer; text lists why cells do not fit.
expect_exit 0 "$WAFER" cluster matrix --fleet "$FLEETS/hybrid.toml" --jobs "$JOBS" --format md
expect_contains "$TMP/out" "| job | kind | pool |"
expect_exit 0 "$WAFER" cluster matrix --fleet "$FLEETS/hybrid.toml" --jobs "$JOBS" --format csv
[ "$(head -1 "$TMP/out")" = "job,kind,pool,system,family,count,fits,tokens_per_second,time_to_train_days,ttft_seconds,tpot_seconds,max_requests_per_second,dollars_per_hour,kilowatts,limiter,rate_batch,slo_ttft_seconds,slo_tpot_seconds,why" ] ||
  fail "csv header: $(head -1 "$TMP/out")"
[ "$(wc -l <"$TMP/out")" = 25 ] || fail "csv has a header and 24 rows"
expect_exit 0 "$WAFER" cluster matrix --fleet "$FLEETS/hybrid.toml" --jobs "$JOBS"
expect_contains "$TMP/out" "finetune-8b on lpus x640: lpu is an inference chip"

# No --jobs: every zoo model trained and served (16 models x 2 kinds x h100 256 and 8, b200 64 and 8).
expect_exit 0 "$WAFER" cluster matrix --fleet "$FLEETS/gpus.toml" --json
[ "$(json_get "$TMP/out" '.matrix | length')" = 128 ] || fail "default jobs: 128 cells"

# Bad files: exit 1, naming file, line and key.
printf '[[pool]]\nsystem = "h100"\ncount = 0\n' >"$TMP/bad.toml"
expect_exit 1 "$WAFER" cluster matrix --fleet "$TMP/bad.toml"
expect_contains "$TMP/err" "wafer: error: $TMP/bad.toml:3:9: key 'count': value 0 out of range (must be in 1..1000000)"
printf '[[job]]\nkind = "train"\nmodel = "llama3-8b"\nbatch = 4\n' >"$TMP/badjobs.toml"
expect_exit 1 "$WAFER" cluster matrix --fleet "$FLEETS/gpus.toml" --jobs "$TMP/badjobs.toml"
expect_contains "$TMP/err" "$TMP/badjobs.toml:4:9: key 'batch' is for inference jobs"
expect_exit 1 "$WAFER" cluster matrix --fleet "$TMP/none.toml"
expect_contains "$TMP/err" "cannot read fleet file"

# Usage errors: exit 2.
expect_exit 2 "$WAFER" cluster matrix
expect_contains "$TMP/err" "--fleet is required"
expect_exit 2 "$WAFER" cluster matrix --flet x
expect_contains "$TMP/err" "did you mean '--fleet'?"
expect_exit 2 "$WAFER" cluster matrx
expect_contains "$TMP/err" "did you mean 'matrix'?"
expect_exit 2 "$WAFER" cluster matrix --fleet "$FLEETS/gpus.toml" --format xml

# Simulate: 20 generated jobs and 200 requests of the Azure conversation trace on the hybrid fleet.
SIM=(cluster simulate --fleet "$FLEETS/hybrid.toml" --workload "$SRC/examples/workloads/small.toml")
expect_exit 0 "$WAFER" "${SIM[@]}" --policy fifo,fifo-agnostic,las,cost+round-robin
compare_golden cluster_simulate_small.txt "$TMP/out"
expect_exit 0 "$WAFER" "${SIM[@]}" --policy las,slo --json
cp "$TMP/out" "$TMP/sim1.json"
[ "$(json_get "$TMP/sim1.json" '.runs | length')" = 2 ] || fail "two policies, two rows"
[ "$(json_get "$TMP/sim1.json" '.runs[0].jobs_done')" = 20 ] || fail "every job done"
[ "$(json_get "$TMP/sim1.json" '.runs[0].requests')" = 200 ] || fail "every request served"
[ "$(json_get "$TMP/sim1.json" '.workload.seed')" = 1 ] || fail "the file's seed"
expect_exit 0 "$WAFER" "${SIM[@]}" --policy las,slo --json
cmp -s "$TMP/out" "$TMP/sim1.json" || fail "the same seed gives the same JSON"
expect_exit 0 "$WAFER" "${SIM[@]}" --policy las --json --seed 2
[ "$(json_get "$TMP/out" '.runs[0].avg_jct_seconds')" != "$(json_get "$TMP/sim1.json" '.runs[0].avg_jct_seconds')" ] ||
  fail "another seed, other jobs"
expect_exit 0 "$WAFER" "${SIM[@]}" --policy fifo,ftf --plot "$TMP/sim.png"
[ "$(head -c 4 "$TMP/sim.png" | tail -c 3)" = PNG ] || fail "the plot is a PNG"
expect_exit 0 "$WAFER" "${SIM[@]}" --format csv
[ "$(head -1 "$TMP/out" | cut -d, -f1-6)" = "policy,jobs_done,avg_jct_seconds,p99_jct_seconds,makespan_seconds,utilisation_wafer" ] ||
  fail "simulate csv header: $(head -1 "$TMP/out")"

# At high load the heterogeneity-aware policies beat their agnostic versions on mean JCT
# (300 Gavel-style jobs whose types run about 5x faster on the wafers; docs/cluster.md).
expect_exit 0 "$WAFER" cluster simulate --fleet "$FLEETS/hybrid.toml" \
  --workload "$SRC/examples/workloads/gavel-training.toml" --policy fifo,fifo-agnostic,las,las-agnostic --json
for p in fifo las; do
  aware=$(json_get "$TMP/out" ".runs[] | select(.policy == \"$p\") | .avg_jct_seconds")
  agnostic=$(json_get "$TMP/out" ".runs[] | select(.policy == \"$p-agnostic\") | .avg_jct_seconds")
  awk -v a="$aware" -v b="$agnostic" 'BEGIN { exit !(a < b) }' ||
    fail "$p: aware mean JCT $aware s is not below agnostic $agnostic s"
done

# Simulate's errors: usage 2, bad files 1 (file, line, key).
expect_exit 2 "$WAFER" "${SIM[@]}" --policy fifo,lass
expect_contains "$TMP/err" "unknown policy 'lass' (did you mean 'las'?)"
expect_exit 2 "$WAFER" cluster simulate --fleet "$FLEETS/hybrid.toml"
expect_contains "$TMP/err" "--workload is required"
printf 'trace = "x.csv"\n[[serve]]\npool = "gpu"\n' >"$TMP/badwork.toml"
expect_exit 1 "$WAFER" cluster simulate --fleet "$FLEETS/hybrid.toml" --workload "$TMP/badwork.toml"
expect_contains "$TMP/err" "cannot read trace file"
printf '[[serve]]\npool = "gpu"\n' >"$TMP/badwork.toml"
expect_exit 1 "$WAFER" cluster simulate --fleet "$FLEETS/hybrid.toml" --workload "$TMP/badwork.toml"
expect_contains "$TMP/err" "[[serve]] pool 'gpu' is not in fleet 'hybrid' (did you mean 'gpus'?)"
printf 'train_jobs = 3\ntrain_rate_per_hour = -1\n' >"$TMP/badwork.toml"
expect_exit 1 "$WAFER" cluster simulate --fleet "$FLEETS/hybrid.toml" --workload "$TMP/badwork.toml"
expect_contains "$TMP/err" "badwork.toml:2:23: key 'train_rate_per_hour'"

finish

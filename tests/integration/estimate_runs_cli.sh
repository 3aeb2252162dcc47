# `wafer estimate train|infer|compare|systems` end to end: the JSON contract, the human
# tables, the comparison in three formats with its plot (golden markdown), system files,
# --arch on a wafer, and bad input (unknown names list the valid ones, non-numeric flags,
# configurations that do not fit say what would).
source "$(dirname "$0")/lib.bash"

expect_exit 0 "$WAFER" estimate systems --json
[ "$(json_get "$TMP/out" '.systems | length')" = 7 ] || fail "seven systems"
[ "$(json_get "$TMP/out" '.systems[] | select(.name=="cs3") | .io_gb_per_s')" = 150 ] ||
  fail "cs3 I/O"

expect_exit 0 "$WAFER" estimate train --model gpt3-13b --system h100 --count 1024 \
  --tokens 257B --json
for key in model system count parallelism step_seconds tokens_per_second \
  time_to_train_seconds tflops_per_device mfu memory_per_device_bytes limiter breakdown; do
  [ "$(json_get "$TMP/out" "has(\"$key\")")" = true ] || fail "train JSON lacks $key"
done
for key in tp pp dp micro_batch recompute; do
  [ "$(json_get "$TMP/out" ".parallelism | has(\"$key\")")" = true ] ||
    fail "train JSON parallelism lacks $key"
done
[ "$(json_get "$TMP/out" '.parallelism.tp * .parallelism.pp * .parallelism.dp')" = 1024 ] ||
  fail "tp x pp x dp must be the count"
[ "$(json_get "$TMP/out" '.limiter')" = compute ] || fail "gpt3-13b on h100 is compute bound"
[ "$(json_get "$TMP/out" '.mfu < 1 and .mfu > 0.3')" = true ] || fail "mfu out of range"

# Fixed parallelism is honoured and never beats the search.
expect_exit 0 "$WAFER" estimate train --model gpt3-13b --system h100 --count 1024 --tp 8 \
  --pp 2 --dp 64 --micro-batch 1 --recompute selective --json
[ "$(json_get "$TMP/out" '.parallelism | "\(.tp) \(.pp) \(.dp) \(.micro_batch) \(.recompute)"')" \
  = "8 2 64 1 selective" ] || fail "fixed parallelism"

expect_exit 0 "$WAFER" estimate train --model gpt3-13b --system cs3 --tokens 257B --json
[ "$(json_get "$TMP/out" '.mode')" = weight-streaming ] || fail "cs3 mode"
[ "$(json_get "$TMP/out" '.limiter')" = io ] || fail "cs3 limiter"
[ "$(json_get "$TMP/out" '.tflops_per_device < 15718')" = true ] || fail "above the peak"
cs3_step="$(json_get "$TMP/out" '.step_seconds')"
cat >"$TMP/slow.toml" <<'T'
base = "wse3"
clock_ghz = 0.55
T
expect_exit 0 "$WAFER" estimate train --model gpt3-13b --system cs3 --arch "$TMP/slow.toml" --json
[ "$(json_get "$TMP/out" ".step_seconds > $cs3_step")" = true ] || fail "--arch changes nothing"

expect_exit 0 "$WAFER" estimate train --model gpt3-125m --system cs3
expect_contains "$TMP/out" "layer-pipelined"
expect_contains "$TMP/out" "step breakdown:"

expect_exit 0 "$WAFER" estimate infer --model llama3-70b --system h100 --batch 8 --json
for key in model system count ttft_seconds tokens_per_second_per_user \
  aggregate_tokens_per_second devices_for_weights limiter breakdown; do
  [ "$(json_get "$TMP/out" "has(\"$key\")")" = true ] || fail "infer JSON lacks $key"
done
[ "$(json_get "$TMP/out" '.devices_for_weights')" = 3 ] || fail "llama3-70b on h100"
expect_exit 0 "$WAFER" estimate infer --model llama3-70b --system cs3
expect_contains "$TMP/out" "time to first token"

expect_exit 0 "$WAFER" estimate train --model gpt3-13b --system "$SRC/examples/systems/h100-94gb.toml" \
  --count 64 --json
[ "$(json_get "$TMP/out" '.system')" = h100-94gb ] || fail "system file name"

expect_exit 0 "$WAFER" estimate compare --model gpt3-13b --tokens 257B \
  --systems cs3:1,h100:1024,a100:2048 --plot "$TMP/cmp.png"
head -5 "$TMP/out" >"$TMP/table.md"
compare_golden estimate_compare_gpt3_13b.md "$TMP/table.md"
[ -s "$TMP/cmp.png" ] || fail "no plot written"
[ "$(head -c 8 "$TMP/cmp.png" | od -An -c | tr -d ' ')" = "211PNG\r\n032\n" ] || fail "not a PNG"
expect_exit 0 "$WAFER" estimate compare --model gpt3-13b --tokens 257B --systems cs3:1,h100:8 \
  --format csv
[ "$(wc -l <"$TMP/out")" = 3 ] || fail "csv rows"
expect_exit 0 "$WAFER" estimate compare --model gpt3-13b --tokens 257B --systems cs3:1,h100:8 \
  --format json
[ "$(json_get "$TMP/out" '.systems | length')" = 2 ] || fail "json systems"

# Bad input.
expect_exit 1 "$WAFER" estimate train --model gpt3-13b --system tpu
expect_contains "$TMP/err" "unknown system 'tpu' (did you mean 'lpu'?) (valid: a100, h100"
expect_exit 1 "$WAFER" estimate train --model gpt5 --system h100
expect_contains "$TMP/err" "unknown model 'gpt5'"
expect_exit 2 "$WAFER" estimate train --model gpt3-13b --system h100 --tp abc
expect_contains "$TMP/err" "--tp"
expect_exit 1 "$WAFER" estimate train --model gpt3-13b --system h100 --count 64 --tp 8 --pp 2 --dp 2
expect_contains "$TMP/err" "must equal --count 64"
expect_exit 1 "$WAFER" estimate train --model gpt3-175b --system a100 --count 8
expect_contains "$TMP/err" "does not fit on 8 x a100"
expect_contains "$TMP/err" "--count 64 fits"
expect_exit 2 "$WAFER" estimate train --model gpt3-13b --system h100 --tokens lots
expect_contains "$TMP/err" "--tokens: expected a positive number"
expect_exit 2 "$WAFER" estimate train --model gpt3-13b --system h100 --recompute some
expect_contains "$TMP/err" "--recompute: unknown recompute 'some'"
expect_exit 1 "$WAFER" estimate infer --model llama3-70b --system h100 --count 1
expect_contains "$TMP/err" "--count 2 would fit"
expect_exit 2 "$WAFER" estimate infer --model llama3-8b --system h100 --batch 0
expect_contains "$TMP/err" "--batch"
expect_exit 2 "$WAFER" estimate compare --model gpt3-13b --tokens 1B --systems cs3:1,h100:
expect_contains "$TMP/err" "--systems 'h100:'"
cat >"$TMP/bad.toml" <<'T'
base = "h100"
memory_gbs = 96
T
expect_exit 1 "$WAFER" estimate train --model gpt3-13b --system "$TMP/bad.toml"
expect_contains "$TMP/err" "bad.toml:2:14: unknown key 'memory_gbs'"

# The limiter is the resource whose change moves the step: 16 CS-3 on Cerebras-GPT 13B are
# all weight streaming, and 5% more I/O bandwidth shortens the step by 1 - 1/1.05.
expect_exit 0 "$WAFER" estimate train --model cerebras-gpt-13b --system cs3 --count 16 --json
[ "$(json_get "$TMP/out" '.limiter')" = io ] || fail "16 x cs3 limiter"
[ "$(json_get "$TMP/out" '.sensitivity.io > .sensitivity.memory_capacity')" = true ] ||
  fail "sensitivity"
[ "$(json_get "$TMP/out" '.energy_and_cost_of')" = step ] || fail "energy of one step"
io_step="$(json_get "$TMP/out" '.step_seconds')"
cat >"$TMP/fast-io.toml" <<'T'
base = "cs3"
io_gb_per_s = 157.5
T
expect_exit 0 "$WAFER" estimate train --model cerebras-gpt-13b --system "$TMP/fast-io.toml" \
  --count 16 --json
[ "$(json_get "$TMP/out" "(.step_seconds - 0.0064) / ($io_step - 0.0064) * 1.05 | . * 1000 | round")" \
  = 1000 ] || fail "the step is not the I/O time"

# Without --tokens, energy and cost are of one step; times read in their unit.
expect_exit 0 "$WAFER" estimate train --model gpt3-13b --system h100 --count 64
expect_contains "$TMP/out" "energy per step"
expect_contains "$TMP/out" "cost per step"
expect_exit 0 "$WAFER" estimate train --model gpt3-13b --system h100 --count 64 --tokens 100B
expect_contains "$TMP/out" "time to train       2.99 days"

# The default global batch grows with the cluster: 2,048 x 8,192 tokens on 16,384 H100.
expect_exit 0 "$WAFER" estimate train --model llama3.1-405b --system h100 --count 16384 --json
[ "$(json_get "$TMP/out" '.global_batch')" = 2048 ] || fail "default global batch"
[ "$(json_get "$TMP/out" '.breakdown.pipeline_bubble.fraction < 0.1')" = true ] ||
  fail "bubble"

# compare goes on past a system that does not fit, and marks it.
expect_exit 0 "$WAFER" estimate compare --model gpt3-175b --tokens 300B --systems a100:8,h100:1024
expect_contains "$TMP/out" "| a100 | 8 | no estimate | - |"
expect_contains "$TMP/out" "a100:8: gpt3-175b does not fit on 8 x a100"
expect_contains "$TMP/out" "| h100 | 1024 | 3d-parallel |"
expect_exit 0 "$WAFER" estimate compare --model gpt3-175b --tokens 300B --systems a100:8,h100:1024 \
  --format json --plot "$TMP/partial.png"
[ "$(json_get "$TMP/out" '[.systems[].fits] | map(tostring) | join(",")')" = false,true ] ||
  fail "fits flags"
[ "$(json_get "$TMP/out" '.systems[0].error | startswith("gpt3-175b does not fit")')" = true ] ||
  fail "error of the system that does not fit"
[ -s "$TMP/partial.png" ] || fail "no plot of the systems that fit"
# Two rows, the bar and the row that says a100 x8 has no estimate: 900 x (70 + 2 x 50 + 50) px.
[ "$(od -An -tu1 -j16 -N8 "$TMP/partial.png" | tr -s ' ' | sed 's/^ //')" = "0 0 3 132 0 0 0 220" ] ||
  fail "partial plot size: $(od -An -tu1 -j16 -N8 "$TMP/partial.png")"
expect_exit 1 "$WAFER" estimate compare --model gpt3-175b --tokens 300B --systems a100:8
expect_contains "$TMP/err" "a100:8: gpt3-175b does not fit"

# Names as users type them, and precisions a system has no peak for.
expect_exit 0 "$WAFER" estimate infer --model Llama-3.1-70B --system CS-3 --json
[ "$(json_get "$TMP/out" '.model')" = llama3-70b ] || fail "model alias"
[ "$(json_get "$TMP/out" '.system')" = cs3 ] || fail "system name case"
expect_exit 1 "$WAFER" estimate infer --model lama3-70b --system h100
expect_contains "$TMP/err" "unknown model 'lama3-70b' (did you mean 'llama3-70b'?)"
expect_exit 1 "$WAFER" estimate train --model gpt3-13b --system a100 --precision fp8
expect_contains "$TMP/err" "a100 has no fp8 peak: it supports bf16 and fp16"

# Shape flags make a model for train, infer and compare as for model.
expect_exit 0 "$WAFER" estimate train --layers 40 --hidden 5120 --heads 40 --system h100 \
  --count 64 --json
[ "$(json_get "$TMP/out" '.model')" = custom ] || fail "train shape flags"
expect_exit 0 "$WAFER" estimate infer --layers 32 --hidden 4096 --heads 32 --kv-heads 8 \
  --ffn 14336 --vocab 128256 --mlp swiglu --system h100 --json
[ "$(json_get "$TMP/out" '.weight_bytes')" = 15029911552 ] || fail "infer shape flags"
expect_exit 0 "$WAFER" estimate compare --layers 24 --hidden 2048 --heads 16 --tokens 1B \
  --systems h100:8,cs3:1 --format csv
[ "$(wc -l <"$TMP/out")" = 3 ] || fail "compare shape flags"
expect_exit 1 "$WAFER" estimate train --model gpt3-13b --layers 2 --system h100
expect_contains "$TMP/err" "not both"

# The systems say what their peaks count.
expect_exit 0 "$WAFER" estimate systems
expect_contains "$TMP/out" "note: cs3: the vendor's 125 PF is the 'AI' (sparse) peak"
expect_exit 0 "$WAFER" estimate systems --json
[ "$(json_get "$TMP/out" '.systems[] | select(.name=="h100") | .memory_efficiency')" = 0.8 ] ||
  fail "h100 memory_efficiency"

finish

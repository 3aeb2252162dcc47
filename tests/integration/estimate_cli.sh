# `wafer estimate` end to end: the zoo listing, one model's breakdown from a name, a config
# file and shape flags, and bad input (unknown names list the zoo; bad files name the key).
source "$(dirname "$0")/lib.bash"

expect_exit 0 "$WAFER" estimate models --json
[ "$(json_get "$TMP/out" '.models | length')" = 16 ] || fail "the zoo should list 16 models"
[ "$(json_get "$TMP/out" '.models[] | select(.name=="llama2-7b") | .params')" = 6738415616 ] ||
  fail "llama2-7b parameter count"
[ "$(json_get "$TMP/out" '.models[] | select(.name=="gpt3-175b") | .training_flops_per_token')" \
  = 1076373430272 ] || fail "gpt3-175b training FLOPs per token"

expect_exit 0 "$WAFER" estimate models
expect_contains "$TMP/out" "405,853,388,800"
expect_contains "$TMP/out" "bert-large"

expect_exit 0 "$WAFER" estimate model llama3-8b --json
[ "$(json_get "$TMP/out" '.params.total')" = 8030261248 ] || fail "llama3-8b total"
[ "$(json_get "$TMP/out" '.model.kv_heads')" = 8 ] || fail "llama3-8b kv_heads"

expect_exit 0 "$WAFER" estimate model --config "$SRC/examples/models/llama2-7b.toml" --json
[ "$(json_get "$TMP/out" '.params.total')" = 6738415616 ] || fail "config file total"

expect_exit 0 "$WAFER" estimate model --layers 40 --hidden 5120 --heads 40 --json
[ "$(json_get "$TMP/out" '.params.total')" = 12853386240 ] || fail "shape flags total"

expect_exit 0 "$WAFER" estimate model gpt3-13b
expect_contains "$TMP/out" "12,853,386,240"
expect_contains "$TMP/out" "training, full recompute"

expect_exit 0 "$WAFER" estimate model Llama-3.1-405B --seq 4096 --json
[ "$(json_get "$TMP/out" '.model.name')" = llama3.1-405b ] || fail "model name as typed"
[ "$(json_get "$TMP/out" '.model.seq')" = 4096 ] || fail "--seq overrides a named model"

expect_exit 1 "$WAFER" estimate model gpt4
expect_contains "$TMP/err" "wafer: error: unknown model 'gpt4'"
expect_contains "$TMP/err" "llama3.1-405b"

cat >"$TMP/bad.toml" <<'T'
layers = 2
hidden = 64
heads = 4
kv_head = 2
T
expect_exit 1 "$WAFER" estimate model --config "$TMP/bad.toml"
expect_contains "$TMP/err" "bad.toml:4:11: unknown key 'kv_head'"

expect_exit 1 "$WAFER" estimate model --layers 2 --hidden 64 --heads 5
expect_contains "$TMP/err" "heads (5) must divide hidden (64)"

expect_exit 1 "$WAFER" estimate model gpt3-13b --layers 2
expect_contains "$TMP/err" "exactly one of"

expect_exit 2 "$WAFER" estimate model --layers two --hidden 64 --heads 4
expect_exit 2 "$WAFER" estimate
finish

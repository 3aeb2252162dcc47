# `wafer compile` and `wafer run` end to end on the committed reference models
# (tests/models/, scripts/onnx_models.py): the MLP's report and graph IR (golden files), a run
# on the reference interpreter checked against PyTorch's saved output, outputs written as .npy
# that read back, and bad input: an unsupported op and a symbolic axis (exit 1, every problem
# named), a missing file, unknown flags and values (exit 2 with the nearest word).
source "$(dirname "$0")/lib.bash"

MODELS="$SRC/tests/models"

expect_exit 0 "$WAFER" compile "$MODELS/mlp/model.onnx" --emit graph
compare_golden compile_mlp_graph.txt "$TMP/out"

expect_exit 0 "$WAFER" compile "$MODELS/gpt2_block_op17/model.onnx" --json
[ "$(json_get "$TMP/out" '.opset')" = 17 ] || fail "gpt2 opset"
[ "$(json_get "$TMP/out" '.ops.LayerNormalization')" = 2 ] || fail "two LayerNormalization nodes"
[ "$(json_get "$TMP/out" '.inputs[0].shape | join(",")')" = "1,16,64" ] || fail "input shape"
# 12 matrices and vectors of a GPT-2 block of hidden 64 (and the causal mask buffer).
[ "$(json_get "$TMP/out" '.parameters')" -gt 49000 ] || fail "parameters"

for model in mlp gpt2_block_op13 gpt2_block_op17 llama_block cnn; do
  expect_exit 0 "$WAFER" run "$MODELS/$model/model.onnx" --input "x=$MODELS/$model/inputs/x.npy" \
    --expect "y=$MODELS/$model/outputs/y.npy" --output-dir "$TMP" --json
  [ "$(json_get "$TMP/out" '.verified')" = true ] || fail "$model not verified: $(cat "$TMP/out")"
  [ -f "$TMP/y.npy" ] || fail "$model: no y.npy written"
  # Computed in fp32 (each node rounded), the output written as f32 reads back exactly.
  expect_exit 0 "$WAFER" run "$MODELS/$model/model.onnx" --input "x=$MODELS/$model/inputs/x.npy" \
    --dtype fp32 --output-dir "$TMP"
  expect_exit 0 "$WAFER" run "$MODELS/$model/model.onnx" --input "x=$MODELS/$model/inputs/x.npy" \
    --dtype fp32 --expect "y=$TMP/y.npy" --tolerance 0 --json
  [ "$(json_get "$TMP/out" '.outputs.y.max_abs_error')" = 0 ] || fail "$model: y.npy does not read back exactly"
done

expect_exit 0 "$WAFER" run "$MODELS/mlp/model.onnx" --seed 3
expect_contains "$TMP/out" "output y [4,16]"

expect_exit 1 "$WAFER" compile "$MODELS/errors/unsupported_ops.onnx"
expect_contains "$TMP/err" "Round (1 node: '/Round')"
expect_contains "$TMP/err" "Atan (2 nodes: '/Atan', '/Atan_1')"
expect_exit 1 "$WAFER" compile "$MODELS/errors/dynamic_batch.onnx"
expect_contains "$TMP/err" "input 'x' axis 0 is 'batch'"
expect_exit 0 "$WAFER" compile "$MODELS/errors/dynamic_batch.onnx" --dim batch=2 --json
[ "$(json_get "$TMP/out" '.outputs[0].shape | join(",")')" = "2,16" ] || fail "--dim batch=2"
expect_exit 1 "$WAFER" compile "$TMP/none.onnx"
expect_contains "$TMP/err" "none.onnx: cannot open the file"

expect_exit 2 "$WAFER" run "$MODELS/mlp/model.onnx" --input "z=$MODELS/mlp/inputs/x.npy"
expect_contains "$TMP/err" "the model has no input 'z'"
expect_exit 2 "$WAFER" run "$MODELS/mlp/model.onnx" --engine wafr
expect_contains "$TMP/err" "--engine 'wafr'"
expect_exit 2 "$WAFER" run "$MODELS/mlp/model.onnx" --dtype fp8
expect_contains "$TMP/err" "--dtype 'fp8'"
expect_exit 2 "$WAFER" compile "$MODELS/mlp/model.onnx" --emit grap
expect_contains "$TMP/err" "did you mean 'graph'?"
expect_exit 2 "$WAFER" compile "$MODELS/mlp/model.onnx" --dim batch
expect_contains "$TMP/err" "--dim 'batch': expected NAME=VALUE"

finish

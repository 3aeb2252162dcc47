# `wafer compile` and `wafer run` end to end on the committed reference models
# (tests/models/, scripts/onnx_models.py): the MLP's graph IR and plan (golden files), runs on
# the reference interpreter checked against PyTorch's saved output, runs compiled onto the
# simulated wafer checked against the interpreter and PyTorch, outputs written as .npy that
# read back, and bad input: an unsupported op and a symbolic axis (exit 1, every problem
# named), ops the wafer has no kernel for, a grid too small, a missing file, unknown flags
# and values (exit 2 with the nearest word).
source "$(dirname "$0")/lib.bash"

MODELS="$SRC/tests/models"

expect_exit 0 "$WAFER" compile "$MODELS/mlp/model.onnx" --emit graph
compare_golden compile_mlp_graph.txt "$TMP/out"

expect_exit 0 "$WAFER" compile "$MODELS/mlp/model.onnx" --emit plan
compare_golden compile_mlp_plan.txt "$TMP/out"

expect_exit 0 "$WAFER" compile "$MODELS/gpt2_mlp_op17/model.onnx" --mode streaming --json
[ "$(json_get "$TMP/out" '.opset')" = 17 ] || fail "gpt2 opset"
[ "$(json_get "$TMP/out" '.ops.LayerNormalization')" = 1 ] || fail "one LayerNormalization node"
[ "$(json_get "$TMP/out" '.inputs[0].shape | join(",")')" = "1,16,64" ] || fail "input shape"
# LayerNorm's 2 x 64, fc's 64 x 256 + 256, out's 256 x 64 + 64 (tanh GELU's 4 scalars went
# with its fusion).
[ "$(json_get "$TMP/out" '.parameters')" = 33216 ] || fail "parameters"
[ "$(json_get "$TMP/out" '.plan.mode')" = streaming ] || fail "plan mode"
[ "$(json_get "$TMP/out" '.plan.layers | map(.kernel) | join(",")')" = \
  "layernorm,gemm summa + bias,gelu-tanh,gemm summa + bias,add bcast=full" ] || fail "gpt2_mlp's layers"
[ "$(json_get "$TMP/out" '.fusion["fuse-gelu"]')" = 1 ] || fail "gpt2_mlp: tanh GELU fused"
# fc's weight and bias in fp32: (64 x 256 + 256) x 4.
[ "$(json_get "$TMP/out" '.plan.layers[1].weight_bytes')" = 66560 ] || fail "fc's weight bytes"

# What the back end has no kernel for is named with its node and the reason.
expect_exit 1 "$WAFER" compile "$MODELS/errors/no_kernel.onnx"
expect_contains "$TMP/err" "Conv (groups (group = 4)): /depthwise/Conv"
expect_contains "$TMP/err" "Pad (padding (the window kernels pad: give the Conv or pool its pads)): /Pad"

for model in mlp mlp_flat_b1 gpt2_block_op13 gpt2_block_op17 gpt2_block_b2 llama_block llama_block_hf cnn cnn_b3 \
  encoder_layer gpt2_tiny gpt2_mlp_op17 llama_mlp; do
  ref=(--engine reference)
  expect_exit 0 "$WAFER" run "$MODELS/$model/model.onnx" "${ref[@]}" --input "x=$MODELS/$model/inputs/x.npy" \
    --expect "y=$MODELS/$model/outputs/y.npy" --output-dir "$TMP" --json
  [ "$(json_get "$TMP/out" '.verified')" = true ] || fail "$model not verified: $(cat "$TMP/out")"
  [ -f "$TMP/y.npy" ] || fail "$model: no y.npy written"
  # Computed in fp32 (each node rounded), the output written as f32 reads back exactly.
  expect_exit 0 "$WAFER" run "$MODELS/$model/model.onnx" "${ref[@]}" --input "x=$MODELS/$model/inputs/x.npy" \
    --dtype fp32 --output-dir "$TMP"
  expect_exit 0 "$WAFER" run "$MODELS/$model/model.onnx" "${ref[@]}" --input "x=$MODELS/$model/inputs/x.npy" \
    --dtype fp32 --expect "y=$TMP/y.npy" --tolerance 0 --json
  [ "$(json_get "$TMP/out" '.outputs.y.max_abs_error')" = 0 ] || fail "$model: y.npy does not read back exactly"
done

# Compiled onto the simulated wafer (fp32, streaming): each output against the interpreter
# (rounded to fp32 after every node) and against PyTorch, within 1e-6 of both.
for model in mlp mlp_flat_b1 gpt2_block_op13 gpt2_block_op17 gpt2_block_b2 llama_block llama_block_hf cnn cnn_b3 \
  encoder_layer gpt2_tiny gpt2_mlp_op17 llama_mlp; do
  expect_exit 0 "$WAFER" run "$MODELS/$model/model.onnx" --input "x=$MODELS/$model/inputs/x.npy" \
    --expect "y=$MODELS/$model/outputs/y.npy" --output-dir "$TMP" --mode streaming --json
  for key in model arch mode grid pes_used cycles seconds sim_wall_seconds layers; do
    [ "$(json_get "$TMP/out" "has(\"$key\")")" = true ] || fail "$model: no '$key' in the run's JSON"
  done
  [ "$(json_get "$TMP/out" '.verified')" = true ] || fail "$model on the wafer not verified: $(cat "$TMP/out")"
  [ "$(json_get "$TMP/out" '.outputs.y.max_rel_error < 1e-6 and .outputs.y.expect.max_rel_error < 1e-6')" = true ] \
    || fail "$model on the wafer: errors $(cat "$TMP/out")"
  [ "$(json_get "$TMP/out" '[.layers[] | .cycles > 0 and .estimated_cycles > 0] | all')" = true ] \
    || fail "$model: a layer without cycles"
  [ -f "$TMP/y.npy" ] || fail "$model: no y.npy written by the wafer engine"
done
# RMSNorm, SiLU and the matmuls of the Llama MLP, each fused chain one kernel.
[ "$(json_get "$TMP/out" '.layers | map(.kernel) | join(",")')" = \
  "rmsnorm,gemm summa,silu,gemm summa,mul bcast=full,gemm summa,add bcast=full" ] || fail "llama_mlp's layers"
[ "$(json_get "$TMP/out" '.fusion["fuse-rmsnorm"]')" = 1 ] || fail "llama_mlp: RMSNorm fused"
# The CNN: convolutions and pools on the window kernels, the two images on a band of PE rows
# each, their inputs relaid out through the host; BatchNormalization folded on the host.
expect_exit 0 "$WAFER" run "$MODELS/cnn/model.onnx" --input "x=$MODELS/cnn/inputs/x.npy" --mode streaming --json
[ "$(json_get "$TMP/out" '.grid')" = 1x2 ] || fail "cnn grid"
[ "$(json_get "$TMP/out" '.layers | map(.kernel) | join(",")')" = \
  "conv2d k3s1p1, 2 images,relu,maxpool k2s2p0, 2 images,conv2d k3s1p1, 2 images,maxpool k1s1p0, 2 images,batchnorm, 2 images,relu,avgpool k2s2p0, 2 images,avgpool k4s1p0, 2 images,gemm-bt summa + bias" ] \
  || fail "cnn's layers: $(json_get "$TMP/out" '.layers | map(.kernel) | join(",")')"
[ "$(json_get "$TMP/out" '[.layers[] | .relayout_io_cycles > 0] | map(tostring) | join(",")')" = \
  "true,false,true,true,true,false,false,true,true,false" ] || fail "cnn: relayouts only into window kernels"
# The GPT-2 block's attention chain (Split, head Reshapes and Transposes, attention) is one layer.
expect_exit 0 "$WAFER" run "$MODELS/gpt2_block_op17/model.onnx" --input "x=$MODELS/gpt2_block_op17/inputs/x.npy" \
  --mode streaming --json
[ "$(json_get "$TMP/out" '.layers[2].kernel')" = "attention 4x16 heads (3 slices, 2 relayouts)" ] || fail "gpt2 attention layer"
[ "$(json_get "$TMP/out" '.layers | length')" = 10 ] || fail "gpt2 block: 10 layers"
# One sample of a flattened image, 144 -> 100 -> 10: the host writes the input flattened, and
# on 3 x 1 PEs the 1 row, 100 and 10 columns are padded (to 3 x 102 and 3 x 12).
expect_exit 0 "$WAFER" run "$MODELS/mlp_flat_b1/model.onnx" --input "x=$MODELS/mlp_flat_b1/inputs/x.npy" \
  --expect "y=$MODELS/mlp_flat_b1/outputs/y.npy" --mode streaming --json
[ "$(json_get "$TMP/out" '.grid')" = 3x1 ] || fail "mlp_flat_b1 grid"
[ "$(json_get "$TMP/out" '.verified')" = true ] || fail "mlp_flat_b1 padded on 3x1: $(cat "$TMP/out")"
# Over a batch of two sequences, each sequence's attention on a band of PE rows.
expect_exit 0 "$WAFER" run "$MODELS/gpt2_block_b2/model.onnx" --input "x=$MODELS/gpt2_block_b2/inputs/x.npy" \
  --mode streaming --json
[ "$(json_get "$TMP/out" '.layers[2].kernel')" = \
  "attention 4x16 heads (3 slices, 2 relayouts), 2 sequences on a band of PE rows each" ] || fail "gpt2 b2 attention"
[ "$(json_get "$TMP/out" '.grid')" = 4x2 ] || fail "gpt2 b2 grid"
# The Llama block's: three projections, RoPE on Q and K, 4 heads reading 2 key-value heads.
expect_exit 0 "$WAFER" run "$MODELS/llama_block/model.onnx" --input "x=$MODELS/llama_block/inputs/x.npy" \
  --mode streaming --json
[ "$(json_get "$TMP/out" '.layers[4].kernel')" = "attention 4x16 heads, 2 kv (2 ropes, 2 relayouts)" ] \
  || fail "llama attention layer: $(json_get "$TMP/out" '.layers[4].kernel')"

# In fp16 and bf16 (GEMMs accumulating in their type): within the types' default tolerances
# of the interpreter rounded to the same type and of PyTorch's fp32.
for dtype in fp16 bf16; do
  for model in gpt2_mlp_op17 cnn; do
    expect_exit 0 "$WAFER" run "$MODELS/$model/model.onnx" --input "x=$MODELS/$model/inputs/x.npy" \
      --expect "y=$MODELS/$model/outputs/y.npy" --dtype $dtype --json
    [ "$(json_get "$TMP/out" '.verified')" = true ] || fail "$model in $dtype: $(cat "$TMP/out")"
  done
done

# --output-dir is made when missing; a file in its place is a usage error.
expect_exit 0 "$WAFER" run "$MODELS/mlp/model.onnx" --seed 3 --output-dir "$TMP/made/here"
[ -f "$TMP/made/here/y.npy" ] || fail "--output-dir not made"
expect_exit 2 "$WAFER" run "$MODELS/mlp/model.onnx" --output-dir "$MODELS/mlp/model.onnx"
expect_contains "$TMP/err" "--output-dir '$MODELS/mlp/model.onnx': not a directory (Not a directory)"
expect_exit 0 "$WAFER" run "$MODELS/mlp/model.onnx" --seed 3
expect_contains "$TMP/out" "output y [4,16]"
expect_contains "$TMP/out" "fp32, 2x1 PEs or more a layer of wse3, pipelined"
expect_contains "$TMP/out" "move /fc1/Gemm_output_0  reshard 8x2 to 2x1 at (8,0)"
expect_contains "$TMP/out" "speed: "

# A grid too small names the layer and the bytes; modes not built are usage errors.
expect_exit 1 "$WAFER" compile "$MODELS/mlp/model.onnx" --grid 1x1
expect_contains "$TMP/err" "layer '/fc2/Gemm' (Gemm): code 'layer2' needs 55496 bytes of SRAM"
expect_exit 2 "$WAFER" compile "$MODELS/mlp/model.onnx" --mode pipelind
expect_contains "$TMP/err" "--mode: expected one of auto|streaming|pipelined, got 'pipelind'"

# Pipelined, auto's choice when every layer fits the fabric: each layer on a rectangle of its
# own, activations moved between them; the same outputs as streaming, bit for bit, and a
# batch every slowest-stage interval.
mkdir -p "$TMP/streaming" "$TMP/pipelined"
for model in mlp mlp_flat_b1 gpt2_block_op17 llama_block llama_block_hf cnn cnn_b3 gpt2_tiny; do
  run=("$WAFER" run "$MODELS/$model/model.onnx" --input "x=$MODELS/$model/inputs/x.npy")
  expect_exit 0 "${run[@]}" --mode streaming --output-dir "$TMP/streaming"
  expect_exit 0 "${run[@]}" --output-dir "$TMP/pipelined" --json
  [ "$(json_get "$TMP/out" '.mode')" = pipelined ] || fail "$model: auto did not pipeline"
  [ "$(json_get "$TMP/out" '.verified')" = true ] || fail "$model pipelined not verified"
  [ "$(json_get "$TMP/out" '.interval_cycles < .cycles')" = true ] || fail "$model: no overlap between batches"
  [ "$(json_get "$TMP/out" '[.layers[] | select(.name | startswith("move "))] | length > 0')" = true ] \
    || fail "$model: no moves"
  cmp -s "$TMP/streaming/y.npy" "$TMP/pipelined/y.npy" || fail "$model: pipelined and streaming outputs differ"
done
# The batch of three images: bands of one PE row each on 1x3 PEs, channels padded to 3's
# multiples (the classifier's K = 8 to 9).
expect_exit 0 "$WAFER" run "$MODELS/cnn_b3/model.onnx" --input "x=$MODELS/cnn_b3/inputs/x.npy" --mode streaming --json
[ "$(json_get "$TMP/out" '.grid')" = 1x3 ] || fail "cnn_b3 grid: $(cat "$TMP/out")"
[ "$(json_get "$TMP/out" '.layers | map(.kernel) | index("avgpool k4s1p0, 3 images") != null')" = true ] \
  || fail "cnn_b3: the mean is not a global pool"
# torch's encoder layer: attention without a mask, on 3 PE columns (each third of the QKV
# matrix moved onto all of them). Its default grids differ (1x2 streaming, from 1x4
# pipelined), and so do its outputs in the last bits, so the modes are compared on one grid.
for mode in streaming pipelined; do
  expect_exit 0 "$WAFER" run "$MODELS/encoder_layer/model.onnx" --input "x=$MODELS/encoder_layer/inputs/x.npy" \
    --expect "y=$MODELS/encoder_layer/outputs/y.npy" --grid 3x1 --mode $mode --output-dir "$TMP/$mode" --json
  [ "$(json_get "$TMP/out" '.verified')" = true ] || fail "encoder_layer $mode not verified: $(cat "$TMP/out")"
done
[ "$(json_get "$TMP/out" '[.layers[].kernel | select(startswith("attention"))][0]')" = \
  "attention 3x16 heads, no mask (3 slices, 2 relayouts)" ] || fail "encoder_layer's attention: $(cat "$TMP/out")"
cmp -s "$TMP/streaming/y.npy" "$TMP/pipelined/y.npy" || fail "encoder_layer: pipelined and streaming outputs differ"
# On the smallest streaming grid the GPT-2 block's residual move finds a full PE: the PE, the
# programs and the bytes.
expect_exit 1 "$WAFER" compile "$MODELS/gpt2_block_op17/model.onnx" --grid 4x1 --mode pipelined
expect_contains "$TMP/err" "pipelined on 4x1 PEs a layer: move /Add_output_0: PE (32,0) would hold 3284 bytes of "
expect_exit 0 "$WAFER" compile "$MODELS/gpt2_block_op17/model.onnx"
expect_contains "$TMP/out" "mode: pipelined (every layer fits the fabric on a rectangle of its own, from 4x2 PEs up by its share of the work"
expect_exit 0 "$WAFER" compile "$MODELS/mlp/model.onnx" --print-after fuse-gelu
expect_contains "$TMP/out" 'wafer.Gelu(%9) {approximate="none"}'
expect_exit 2 "$WAFER" compile "$MODELS/mlp/model.onnx" --print-after fuse-gelo
expect_contains "$TMP/err" "did you mean 'fuse-gelu'?"
expect_exit 2 "$WAFER" compile "$MODELS/mlp/model.onnx" --dtype fp64
expect_contains "$TMP/err" "--dtype 'fp64': the wafer computes in fp32, fp16 or bf16"

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

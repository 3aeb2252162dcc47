# `wafer compile|run MODEL.onnx` with pictures, traces and defects, end to end on the
# committed MLP (tests/models/mlp: 5 layers on a 2x1 grid, streaming): the placement and
# heatmap PNGs and their sizes, the trace's layers on one time line (every layer's events
# inside its span, --trace-window and --trace-max-events over the model's time line), what a
# failed run writes, a run
# on a repaired wafer with outputs identical to the perfect wafer's, and bad paths (exit 2).
source "$(dirname "$0")/lib.bash"

MLP="$SRC/tests/models/mlp"
# Streaming: the 5 layers one at a time on one 2x1 rectangle.
RUN=("$WAFER" run "$MLP/model.onnx" --mode streaming --input "x=$MLP/inputs/x.npy")
COMPILE=("$WAFER" compile "$MLP/model.onnx" --mode streaming)

# png_size FILE: "WIDTHxHEIGHT" from the IHDR chunk (bytes 16..23, big-endian), after
# checking the 8-byte PNG signature.
png_size() {
  [ "$(od -An -tx1 -N8 "$1" | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "not a PNG"; return; }
  local b=($(od -An -tu1 -j16 -N8 "$1"))
  echo "$(((b[0] << 24) + (b[1] << 16) + (b[2] << 8) + b[3]))x$(((b[4] << 24) + (b[5] << 16) + (b[6] << 8) + b[7]))"
}

# The placement picture from `compile`: 960 px wide; high: a 2x-scale title (12 + 16 + 14 =
# 42), the 2x1 grid at 374 px a PE (748 px across) = 374, 28 for its caption, a legend of one
# rectangle and its 5 layers (6 rows of 14) and a 12 px margin: 42 + 374 + 28 + 84 + 12 = 540.
expect_exit 0 "${COMPILE[@]}" --placement "$TMP/place.png"
[ "$(png_size "$TMP/place.png")" = 960x540 ] || fail "placement size $(png_size "$TMP/place.png")"
expect_contains "$TMP/err" "wrote placement $TMP/place.png (960x540 px)"

# The run with every observation: the same placement, and the heatmap of the 2x1 grid (each
# PE enlarged to 256 px to reach the 512 px minimum width, with axes, title and colour bar:
# 634x317, as any 2x1 heatmap).
expect_exit 0 "${RUN[@]}" --placement "$TMP/place_run.png" --trace "$TMP/t.json" --heatmap "$TMP/h.png" --stats --json
[ "$(png_size "$TMP/place_run.png")" = 960x540 ] || fail "run's placement size"
[ "$(png_size "$TMP/h.png")" = 634x317 ] || fail "heatmap size $(png_size "$TMP/h.png")"
cp "$TMP/out" "$TMP/run.json"
[ "$(json_get "$TMP/run.json" '.verified')" = true ] || fail "observed run not verified"
expect_contains "$TMP/err" "stats: 32443 cycles"  # the summary covers all 5 layers' fabric cycles

# The trace: a "layers" span per layer, in order, each as long as the layer's cycles and
# starting where the previous one ended (times in us at 1.1 GHz: cycles / 1100).
LAYERS='[.traceEvents[] | select(.cat == "layer")]'
[ "$(json_get "$TMP/t.json" "$LAYERS | map(.name) | join(\",\")")" = \
  "/fc1/Gemm,/Relu,/fc2/Gemm,/Div../Mul_1,/fc3/Gemm" ] || fail "layer spans: $(json_get "$TMP/t.json" "$LAYERS | map(.name)")"
[ "$(json_get "$TMP/t.json" "$LAYERS | map(.args.cycles) | join(\",\")")" = \
  "$(json_get "$TMP/run.json" '.layers | map(.cycles) | join(",")')" ] || fail "layer spans' cycles differ from the run's"
# Start of span i = the cycles of spans 0..i-1, to the 6 decimals the file has.
[ "$(jq -r "$LAYERS as \$s | [range(1; \$s | length)]
       | map((([\$s[0:.][] | .args.cycles] | add) / 1100 - \$s[.].ts | fabs) < 1e-6) | all" "$TMP/t.json")" = true ] \
  || fail "layer spans do not follow one another"
# Every PE event lies inside exactly one layer's span, and every layer has some; /Relu's are
# 4: a task span and its vector op on each of the 2 PEs.
PER_LAYER="$LAYERS as \$s | [.traceEvents[] | select(.ph == \"X\" and .cat != \"layer\")]
  | map(. as \$e | [\$s[] | select(.ts - 1e-6 <= \$e.ts and \$e.ts + \$e.dur <= .ts + .dur + 1e-6) | .args.layer] | first)"
[ "$(jq -r "$PER_LAYER | map(select(. == null)) | length" "$TMP/t.json")" = 0 ] || fail "events outside every layer's span"
[ "$(jq -r "$PER_LAYER | group_by(.) | map(length > 0) | length" "$TMP/t.json")" = 5 ] || fail "a layer without events"
[ "$(jq -r "$PER_LAYER | map(select(. == 1)) | length" "$TMP/t.json")" = 4 ] || fail "/Relu's events"
EVENTS=$(jq -r '[.traceEvents[] | select(.ph == "X" and .cat != "layer")] | length' "$TMP/t.json")
expect_contains "$TMP/err" "wrote trace $TMP/t.json ($((EVENTS + 5)) events, 0 dropped"

# --trace-window on the model's time line: /Relu's span, cycles [6688, 6772), holds its 4
# events and no other layer's (fc1's end at 6688, fc2's start at 6772).
RELU_FROM=$(json_get "$TMP/run.json" '.layers[0].cycles')
RELU_TO=$((RELU_FROM + $(json_get "$TMP/run.json" '.layers[1].cycles')))
expect_exit 0 "${RUN[@]}" --trace "$TMP/w.json" --trace-window "$RELU_FROM,$RELU_TO"
[ "$(jq -r '[.traceEvents[] | select(.ph == "X" and .cat != "layer")] | length' "$TMP/w.json")" = 4 ] \
  || fail "--trace-window $RELU_FROM,$RELU_TO: $(jq -c '[.traceEvents[] | select(.ph == "X" and .cat != "layer") | .name]' "$TMP/w.json")"
# --trace-max-events over the whole model: 10 kept, the rest counted.
expect_exit 0 "${RUN[@]}" --trace "$TMP/m.json" --trace-max-events 10
[ "$(jq -r '[.traceEvents[] | select(.ph == "X" and .cat != "layer")] | length' "$TMP/m.json")" = 10 ] || fail "max events"
[ "$(json_get "$TMP/m.json" .otherData.dropped_events)" = $((EVENTS - 10)) ] || fail "dropped events"

# A run that fails still writes what it observed: /fc1/Gemm takes 6688 cycles, so
# --max-cycles 6000 stops it in layer 0 at cycle 6000, the trace's only layer span.
expect_exit 1 "${RUN[@]}" --max-cycles 6000 --trace "$TMP/f.json" --heatmap "$TMP/f.png"
expect_contains "$TMP/err" "layer '/fc1/Gemm' (Gemm): the run exceeded --max-cycles 6000"
[ "$(jq -c '[.traceEvents[] | select(.cat == "layer") | [.name, .args.cycles]]' "$TMP/f.json")" = '[["/fc1/Gemm",6000]]' ] \
  || fail "failed run's trace: $(jq -c '[.traceEvents[] | select(.cat == "layer")]' "$TMP/f.json")"
[ "$(png_size "$TMP/f.png")" = 634x317 ] || fail "failed run's heatmap"

# A defective wafer: the core of physical PE (1,0) dead, so shift-2d moves logical column 1
# one PE east and the grid's one east link is one hop longer. The outputs are those of the
# perfect wafer, byte for byte.
printf 'wafer-defects v1 826 1174\ncore 1 0\n' >"$TMP/one.defects"
expect_exit 0 "${COMPILE[@]}" --defects "$TMP/one.defects" --json
[ "$(json_get "$TMP/out" '.plan.defects | [.defects, .dead_pes, .longer_links, .extra_hops_max] | join(",")')" = 1,1,1,1 ] \
  || fail "compile's defects: $(json_get "$TMP/out" .plan.defects)"
mkdir -p "$TMP/perfect" "$TMP/defective"
expect_exit 0 "${RUN[@]}" --output-dir "$TMP/perfect"
expect_exit 0 "${RUN[@]}" --output-dir "$TMP/defective" --defects "$TMP/one.defects" --json
[ "$(json_get "$TMP/out" '.verified')" = true ] || fail "defective run not verified"
[ "$(json_get "$TMP/out" '.defects.outputs_identical')" = true ] || fail "outputs differ"
[ "$(json_get "$TMP/out" '.defects.longer_links')" = 1 ] || fail "longer links"
[ "$(json_get "$TMP/out" '.defects.cycles_perfect')" = "$(json_get "$TMP/run.json" .cycles)" ] || fail "perfect cycles"
cmp -s "$TMP/perfect/y.npy" "$TMP/defective/y.npy" || fail "y.npy differs between the perfect and the defective wafer"
expect_exit 0 "${RUN[@]}" --defects "$TMP/one.defects"
expect_contains "$TMP/out" "outputs identical"
# Pipelined, each layer at its own place on the fabric, sized by its work: the trace names the
# PEs where they lie (the last GEMM on PEs (26,0)..(29,0)), and the heatmap covers all 30
# columns and the 4 rows of fc2's rectangle.
expect_exit 0 "$WAFER" run "$MLP/model.onnx" --mode pipelined --input "x=$MLP/inputs/x.npy" --trace "$TMP/p.json" \
  --heatmap "$TMP/p.png" --stats
expect_contains "$TMP/err" "(662x152 px, a PE is 18x18 px)"
[ "$(json_get "$TMP/p.json" '[.traceEvents[] | select(.name == "thread_name") | .args.name] | map(select(. == "PE (29,0)")) | length')" = 1 ] \
  || fail "pipelined trace: no PE (29,0)"
# --trace-region is on the fabric: (8,0) and (9,0) hold the Relu and the ends of its moves.
expect_exit 0 "$WAFER" run "$MLP/model.onnx" --mode pipelined --input "x=$MLP/inputs/x.npy" --trace "$TMP/r.json" \
  --trace-region 8,0,2,1
[ "$(json_get "$TMP/r.json" '[.traceEvents[] | select(.name == "thread_name") | .args.name | .[0:6]] | unique | join(",")')" = \
  "PE (8,,PE (9," ] || fail "pipelined trace region: $(json_get "$TMP/r.json" '[.traceEvents[] | select(.name == "thread_name") | .args.name] | unique')"
# Pipelined, each layer at its own place: a dead core at (5,0), under the first GEMM's 8 x 1
# rectangle, lengthens links there (the repair shifts the PEs past it).
printf 'wafer-defects v1 826 1174\ncore 5 0\n' >"$TMP/five.defects"
expect_exit 0 "$WAFER" run "$MLP/model.onnx" --mode pipelined --input "x=$MLP/inputs/x.npy" --defects "$TMP/five.defects" --json
[ "$(json_get "$TMP/out" '.defects | [.outputs_identical, .longer_links > 0] | map(tostring) | join(",")')" = true,true ] \
  || fail "pipelined on a defective wafer: $(json_get "$TMP/out" .defects)"

# Bad paths are usage errors naming the flag, before any simulation.
expect_exit 2 "${COMPILE[@]}" --placement "$TMP/no/such/dir/p.png"
expect_contains "$TMP/err" "--placement"
expect_exit 2 "${RUN[@]}" --placement "$TMP/no/such/dir/p.png"
expect_contains "$TMP/err" "--placement"
expect_exit 2 "${RUN[@]}" --trace "$TMP/no/such/dir/t.json"
expect_contains "$TMP/err" "--trace"
expect_exit 2 "${RUN[@]}" --heatmap "$TMP"
expect_contains "$TMP/err" "--heatmap"
expect_exit 2 "${RUN[@]}" --engine reference --trace "$TMP/t2.json"
expect_contains "$TMP/err" "need --engine wafer"

finish

# The command line as one tool: every verb (and estimate's verbs) exits 2 on a usage error with
# a message naming the flag or word (and the nearest one), takes --json where it prints
# numbers and then prints valid JSON only, keeps informational lines off stdout, refuses an
# output path it cannot write before any work, and fails when stdout cannot be written.
source "$(dirname "$0")/lib.bash"

PROGRAM="$SRC/examples/programs/broadcast.wafer"
# The verbs `wafer --help` lists, and estimate's.
VERBS="info sim kernel bench yield estimate cluster compile run"
ESTIMATE_VERBS="models model systems train infer compare"
for verb in $VERBS; do
  "$WAFER" --help | grep -q "^  $verb" || fail "wafer --help does not list '$verb'"
done
for verb in $ESTIMATE_VERBS; do
  "$WAFER" estimate --help | grep -q "^  $verb" || fail "wafer estimate --help does not list '$verb'"
done

# expect_usage WORD SUGGESTION CMD...: exit 2, `wafer: error:` naming WORD (and SUGGESTION,
# when not empty), the --help hint, and never CLI11's own wording.
expect_usage() {
  local word="$1" hint="$2"
  shift 2
  expect_exit 2 "$@"
  expect_contains "$TMP/err" "wafer: error:"
  expect_contains "$TMP/err" "$word"
  [ -z "$hint" ] || expect_contains "$TMP/err" "did you mean '$hint'?"
  expect_contains "$TMP/err" "for usage"
  if grep -qE "Could not convert|not expected|A subcommand|not in range" "$TMP/err"; then
    fail "raw parser text: $(cat "$TMP/err")"
  fi
}

# Unknown verbs and flags, on every verb.
expect_usage "'frob'" "" "$WAFER" frob
expect_usage "'kernal'" kernel "$WAFER" kernal
expect_usage "'tran'" train "$WAFER" estimate tran
expect_usage "needs a verb" "" "$WAFER"
expect_usage "needs a verb" "" "$WAFER" estimate
MODEL="$SRC/tests/models/mlp/model.onnx"
for verb in info "sim $PROGRAM" "kernel gemv" bench yield "compile $MODEL" "run $MODEL"; do
  # shellcheck disable=SC2086
  expect_usage "'--jsn'" --json "$WAFER" $verb --jsn
done
for verb in models "model gpt3-13b" systems; do
  # shellcheck disable=SC2086
  expect_usage "'--jsn'" --json "$WAFER" estimate $verb --jsn
done
expect_usage "'--tokns'" --tokens "$WAFER" estimate train --model gpt3-13b --system h100 --tokns 1B
expect_usage "'--prompts'" --prompt "$WAFER" estimate infer --model gpt3-13b --system h100 --prompts 9
expect_usage "'--sytems'" --systems "$WAFER" estimate compare --model gpt3-13b --tokens 1B --sytems cs3:1
expect_usage "'--count'" "" "$WAFER" kernel gemv --count 3

# Malformed values and unknown choices name the flag, the value and what was expected.
expect_usage "--count: expected an integer, got 'abc'" "" "$WAFER" estimate train --model gpt3-13b --system h100 --count abc
expect_usage "--alpha: expected a number, got 'x'" "" "$WAFER" kernel gemv --defect-density 0.001 --alpha x
expect_usage "--wafers: expected an integer, got 'abc'" "" "$WAFER" yield --wafers abc
expect_usage "--defect-model: expected one of poisson|negbin, got 'foo'" "" "$WAFER" kernel gemv --defect-density 0.1 --defect-model foo
expect_usage "--scheme: expected one of row-shift|shift-2d, got 'foo'" "" "$WAFER" kernel gemv --defect-density 0.1 --scheme foo
expect_usage "--superstep: expected an integer from 0 to 16, got '99'" "" "$WAFER" sim "$PROGRAM" --superstep 99
expect_usage "--max-cycles: expected an integer of at least 1, got '0'" "" "$WAFER" kernel gemv --max-cycles 0
expect_usage "--max-cycles" "" "$WAFER" sim "$PROGRAM" --max-cycles 0
expect_usage "--format: expected one of md, markdown, csv, json or text, got 'xml'" "" "$WAFER" bench --format xml
expect_usage "--format" "" "$WAFER" estimate compare --model gpt3-13b --tokens 1B --systems cs3:1 --format xml
expect_usage "--format" "" "$WAFER" yield --format xml
expect_usage "--zero: expected an integer from 0 to 3, got '7'" "" "$WAFER" estimate train --model gpt3-13b --system h100 --zero 7
expect_usage "--recompute: unknown recompute 'foo'" "" "$WAFER" estimate train --model gpt3-13b --system h100 --recompute foo
expect_usage "--precision: unknown precision 'fp4'" "" "$WAFER" estimate infer --model gpt3-13b --system h100 --precision fp4
expect_usage "--tokens: expected a positive number" "" "$WAFER" estimate train --model gpt3-13b --system h100 --tokens abc
expect_usage "--global-batch: expected an integer of at least 1, got '0'" "" "$WAFER" estimate train --model gpt3-13b --system h100 --global-batch 0
expect_usage "--batch: expected an integer of at least 1, got '0'" "" "$WAFER" estimate infer --model llama3-8b --system h100 --batch 0
expect_usage "--layers: expected an integer of at least 1, got '0'" "" "$WAFER" estimate model --layers 0 --hidden 64 --heads 2
expect_usage "--mlp: expected one of gelu|swiglu, got 'relu'" "" "$WAFER" estimate train --layers 2 --hidden 64 --heads 2 --mlp relu --system h100
expect_usage "--dollars-per-hour: expected a finite number of at least 0, got '-5'" "" "$WAFER" estimate train --model gpt3-13b --system h100 --dollars-per-hour -5
expect_usage "--dollars-per-hour" "" "$WAFER" estimate infer --model gpt3-13b --system h100 --dollars-per-hour nan
expect_usage "--systems 'cs3:abc'" "" "$WAFER" estimate compare --model gpt3-13b --tokens 1B --systems cs3:abc
expect_usage "--count: a value is required" "" "$WAFER" estimate train --model gpt3-13b --system h100 --count
expect_usage "no kernel named" "" "$WAFER" kernel
expect_usage "file is required" "" "$WAFER" sim

# Ranges: the message gives the valid range.
expect_usage "wafer count 0 is out of range (must be 1..1000000)" "" "$WAFER" yield --wafers 0
expect_usage "--wafer-cost nan must be finite" "" "$WAFER" yield --wafer-cost nan
expect_usage "--core-area 10 mm²" "" "$WAFER" yield --core-area 10
expect_contains "$TMP/err" "at most 0.07289 mm² per PE"
expect_usage "--segment 1000 is longer than a row of 762 logical columns (must be 1..762)" "" "$WAFER" yield --segment 1000
expect_usage "--sweep cannot be combined" "" "$WAFER" yield --sweep defect-density=0.1 --save-map "$TMP/m.defects"
expect_exit 1 "$WAFER" estimate train --model gpt3-13b --system h100 --count 8 --tokens 10
expect_contains "$TMP/err" "--tokens 10 is less than one step of"

# The deprecated spelling still works; the two spellings together are refused.
expect_exit 0 "$WAFER" yield --wafers 1 --model negbin --json
[ "$(json_get "$TMP/out" .model)" = negbin ] || fail "--model negbin (deprecated) was ignored"
expect_exit 0 "$WAFER" yield --wafers 1 --defect-model negbin --json
[ "$(json_get "$TMP/out" .model)" = negbin ] || fail "--defect-model negbin was ignored"
expect_exit 2 "$WAFER" yield --model negbin --defect-model poisson

# --json on every verb that prints numbers, and stdout is JSON only.
expect_json() {
  expect_exit 0 "$@"
  jq -e . "$TMP/out" >/dev/null || fail "not JSON: $* -> $(head -c 200 "$TMP/out")"
}
expect_json "$WAFER" info --json
expect_json "$WAFER" info --list --json
expect_json "$WAFER" kernel --list --json
expect_json "$WAFER" kernel stream-fma --grid 2x2 --json
expect_json "$WAFER" sim "$PROGRAM" --json
expect_json "$WAFER" bench --quick --threads 1 --grid 4x4 --json
expect_json "$WAFER" bench --quick --threads 1 --grid 4x4 --format json
expect_json "$WAFER" yield --wafers 1 --json
expect_json "$WAFER" yield --wafers 1 --sweep defect-density=0.001 --json
expect_json "$WAFER" estimate models --json
expect_json "$WAFER" estimate model gpt3-13b --json
expect_json "$WAFER" estimate systems --json
expect_json "$WAFER" estimate train --model gpt3-13b --system h100 --count 8 --json
expect_json "$WAFER" estimate infer --model gpt3-13b --system h100 --json
expect_json "$WAFER" estimate compare --model gpt3-13b --tokens 1B --systems cs3:1 --json
expect_json "$WAFER" estimate compare --model gpt3-13b --tokens 1B --systems cs3:1 --format json

# --format md|markdown|csv everywhere a table is printed; CSV is snake_case keys and plain numbers.
for format in md markdown; do
  expect_exit 0 "$WAFER" estimate compare --model gpt3-13b --tokens 1B --systems cs3:1 --format $format
  expect_contains "$TMP/out" "| system | count |"
done
expect_exit 0 "$WAFER" bench --quick --threads 1 --grid 4x4 --format markdown
expect_contains "$TMP/out" "| workload | arch |"
expect_exit 0 "$WAFER" yield --wafers 1 --format md
expect_contains "$TMP/out" "| scheme | repaired |"
expect_csv() {  # snake_case headers; as many cells as headers; no number with a unit or a %
  head -1 "$TMP/out" | grep -qE '^[a-z0-9_]+(,[a-z0-9_]+)*$' || fail "CSV header not snake_case: $(head -1 "$TMP/out")"
  awk -F, 'NR == 1 { n = NF } NF != n { exit 1 }' "$TMP/out" || fail "CSV rows differ in cell count"
  if tail -n +2 "$TMP/out" | tr ',' '\n' | grep -qE '^-?[0-9.]+ ?[a-zA-Z%$]+$'; then
    fail "CSV cell with a unit: $(tail -n +2 "$TMP/out" | head -2)"
  fi
}
expect_exit 0 "$WAFER" estimate compare --model gpt3-13b --tokens 260B --systems cs3:1,h100:1024 --format csv
expect_csv
expect_contains "$TMP/out" "time_to_train_days"
expect_exit 0 "$WAFER" bench --quick --threads 1 --grid 4x4 --format csv
expect_csv
expect_exit 0 "$WAFER" yield --wafers 1 --sweep defect-density=0.001,0.01
expect_csv
expect_exit 0 "$WAFER" yield --wafers 1 --format csv
expect_csv
# The listings: info's parameters, the model zoo and the systems.
expect_exit 0 "$WAFER" estimate models --format csv
expect_csv
expect_contains "$TMP/out" "gpt3-13b,40,5120,40/40,20480,50257,2048,12853"
expect_exit 0 "$WAFER" estimate systems --format csv
expect_csv
expect_contains "$TMP/out" "h100,gpu,989.0,80.0,3.35,"
expect_exit 0 "$WAFER" estimate systems --format md
expect_contains "$TMP/out" "| system | kind | peak bf16 TFLOP/s |"
expect_exit 0 "$WAFER" info --format md
expect_contains "$TMP/out" "| fabric_width | 762 | PEs |"
expect_exit 0 "$WAFER" info --arch wse2 --format csv
expect_contains "$TMP/out" "key,value,unit,source,meaning"
expect_contains "$TMP/out" "clock_ghz,1.1,GHz,"

# Informational lines go to stderr: stdout holds only the table.
expect_exit 0 "$WAFER" estimate compare --model gpt3-13b --tokens 1B --systems cs3:1 --format csv --plot "$TMP/c.png"
[ "$(wc -l <"$TMP/out")" = 2 ] || fail "compare --format csv --plot: stdout is not just the CSV: $(cat "$TMP/out")"
expect_contains "$TMP/err" "wafer: wrote plot $TMP/c.png"
expect_exit 0 "$WAFER" yield --wafers 1 --sweep defect-density=0.001 --plot "$TMP/y.png"
[ "$(wc -l <"$TMP/out")" = 2 ] || fail "yield --sweep --plot: stdout is not just the CSV"
expect_exit 0 "$WAFER" kernel stream-fma --grid 2x2 --json --heatmap "$TMP/h.png" --trace "$TMP/t.json"
jq -e . "$TMP/out" >/dev/null || fail "kernel --json --heatmap: stdout is not JSON only"
expect_contains "$TMP/err" "wrote heatmap"

# Output paths are refused before the run: nothing is simulated or drawn, no file is left.
for args in "kernel stream-fma --grid 2x2 --trace $TMP/no/t.json" "kernel stream-fma --grid 2x2 --heatmap $TMP" \
  "sim $PROGRAM --trace $TMP/no/t.json" "yield --wafers 1 --save-map $TMP/no/m.defects" \
  "yield --wafers 1 --map $TMP/no/m.png" "yield --wafers 1 --sweep defect-density=0.001 --plot $TMP" \
  "estimate compare --model gpt3-13b --tokens 1B --systems cs3:1 --plot $TMP/no/c.png"; do
  # shellcheck disable=SC2086
  expect_exit 1 "$WAFER" $args
  expect_contains "$TMP/err" "cannot write there"
  [ ! -s "$TMP/out" ] || fail "output before the path check: $args -> $(head -c 200 "$TMP/out")"
done

# Warnings for flags that have no effect; the run goes on.
expect_exit 0 "$WAFER" kernel stream-fma --grid 2x2 --trace-region 0,0,1,1
expect_contains "$TMP/err" "wafer: warning: --trace-region has no effect without --trace"
expect_exit 0 "$WAFER" kernel stream-fma --grid 2x2 --trace "$TMP/t.json" --trace-region 0,0,9,9
expect_contains "$TMP/err" "--trace-region 0,0,9,9 reaches outside the 2x2 grid"
expect_exit 0 "$WAFER" kernel stream-fma --grid 2x2 --heatmap "$TMP/h.jpg"
expect_contains "$TMP/err" "--heatmap '$TMP/h.jpg' does not end in .png"
expect_exit 0 "$WAFER" kernel stream-fma --grid 2x2 --alpha 3
expect_contains "$TMP/err" "--alpha has no effect"
expect_exit 0 "$WAFER" yield --wafers 1 --alpha 3
expect_contains "$TMP/err" "--alpha has no effect without --defect-model negbin"

# A write error on stdout is an error: a full disk, a closed pipe.
"$WAFER" info >/dev/full 2>"$TMP/err"
[ $? = 1 ] || fail "wafer info >/dev/full did not exit 1"
expect_contains "$TMP/err" "cannot write to stdout: no space left on device"
"$WAFER" estimate models --json >/dev/full 2>"$TMP/err"
[ $? = 1 ] || fail "wafer estimate models --json >/dev/full did not exit 1"
(sleep 0.3; "$WAFER" info --json 2>"$TMP/err") | true  # the reader is gone before the write
[ "${PIPESTATUS[0]}" = 1 ] || fail "a closed pipe did not exit 1"
expect_contains "$TMP/err" "cannot write to stdout: broken pipe"

finish

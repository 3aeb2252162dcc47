// How `wafer estimate train|infer|compare` present an estimate: the JSON objects of the
// documented contract (docs/estimator.md), the human tables, and readable durations; and
// the model-shape flags that `estimate model|train|infer|compare` share.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "wafer/estimate/infer.hpp"
#include "wafer/estimate/train.hpp"

namespace wafer::cli {

using Json = nlohmann::ordered_json;

Json train_json(const estimate::TrainEstimate& e);
Json infer_json(const estimate::InferEstimate& e);
void print_train(const estimate::TrainEstimate& e);
void print_infer(const estimate::InferEstimate& e);

// 93784 -> "1.09 days"; 12.5 -> "12.5 s".
std::string duration(double seconds);
// --layers --hidden --heads --kv-heads --ffn --vocab --seq --mlp, for every estimate verb.
void add_shape_flags(CLI::App& cmd, estimate::ModelShape& shape);
// The model of a verb: shape flags other than --seq build one (model_from_shape); else
// `name_or_file` is a zoo name or a model file, whose sequence --seq overrides. Both, or
// neither, is an error.
Expected<estimate::Model> model_from_flags(const std::string& name_or_file,
                                           const estimate::ModelShape& shape);

// "260e9", "260B", "1.5T", "300M", "4K" -> the number; an error names the flag.
Expected<double> parse_count(const std::string& text, const std::string& flag);

}  // namespace wafer::cli

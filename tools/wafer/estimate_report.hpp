// How `wafer estimate train|infer|compare` present an estimate: the JSON objects of the
// documented contract (docs/estimator.md), the human tables, and readable durations.
#pragma once

#include <string>

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
// "260e9", "260B", "1.5T", "300M", "4K" -> the number; an error names the flag.
Expected<double> parse_count(const std::string& text, const std::string& flag);

}  // namespace wafer::cli

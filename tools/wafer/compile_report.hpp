// The compiler's reports (`wafer compile` and `wafer run --engine wafer`): the plan's layers
// and totals, and a run's per-layer cycles beside the estimates, as JSON objects with one
// text rendering each (the layer tables go through table.hpp's one renderer).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "wafer/compiler/compiler.hpp"
#include "wafer/graph/graph.hpp"

namespace wafer::cli {

using Json = nlohmann::ordered_json;

// Samples (or tokens, for a [batch, sequence, hidden] input) one run of the graph processes,
// and the unit's name.
struct Throughput {
  int64_t items = 1;
  std::string unit = "samples";
};
Throughput throughput_of(const graph::Graph& g);

// `dtype` as the flags spell it ("fp16"). "arch", "mode", "grid", "dtype", "pes_used", "active_pes_percent", "layers" (name, op,
// kernel, rect, pes, sram_bytes_per_pe, colors, tasks, weight_bytes, weight_io_cycles,
// estimated_cycles), "estimated_cycles", "estimated_seconds", "<unit>_per_s", "views",
// "max_sram_bytes_per_pe".
Json plan_json(const graph::Graph& g, const compiler::Plan& plan, const std::string& dtype);
void print_plan(const Json& plan);
// "2x1 PEs" of a plan's or run's JSON, "2x1 PEs or more a layer" when it is pipelined.
std::string grid_text(const Json& plan);

// The run's keys: "cycles", "fabric_cycles", "seconds", "<unit>_per_s", "sim_wall_seconds",
// and in each of plan_json's layers "cycles", "compute_cycles", "weight_io_cycles" (the
// simulator's) and "max_rel_error" (against the reference's value of the same node).
Json run_json(const graph::Graph& g, const compiler::Plan& plan, const compiler::ModelRun& run,
              const std::string& dtype);
void print_run_layers(const Json& run);

}  // namespace wafer::cli

// What `wafer run MODEL.onnx` observes of a model's run: --stats, --trace and --heatmap over
// all of its layers, each of which runs on a simulator of its own (compiler::run).
//
// The trace is one time line: layer i's events come after the cycles of layers 0 .. i - 1.
// After each layer the observer writes that layer's trace with sim::write_trace_json into a
// scratch file, and finish() splices the files into one. write_trace_json writes one JSON
// object per line between `{"traceEvents":[` and `],`; the splice moves each event by its
// layer's offset (rewriting "ts"), keeps the events that overlap --trace-window on that
// model time line (the layers' simulators trace without the window: see sim_options_for_model),
// keeps each PE's naming metadata once, keeps at most --trace-max-events events over the
// whole model (the rest are counted as dropped), and adds a "layers" process with one span
// per layer (its name, kernel and cycles) above the PE rows. (Each layer's simulator starts
// at cycle 0 as it does unobserved: Options::first_cycle is left alone.) The counters (busy,
// stall, compute, link wavelets and the totals) are added up over the layers per PE of the
// plan's PEs (model_placement.hpp's plan_extent), each layer's at its own PEs, and so are the
// cycles they cover: the heatmap and the stats summary show the whole model, a PE's busy
// fraction being its busy cycles in all layers over all layers' cycles.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "run_flags.hpp"
#include "wafer/compiler/compiler.hpp"
#include "wafer/sim/simulator.hpp"
#include "wafer/support/error.hpp"

namespace wafer::cli {

// The layers' engine options for these flags: sim_options without the trace window, which
// applies to the model's time line (ModelObservation filters by it).
Expected<sim::Options> sim_options_for_model(const RunFlags& flags);

// Adds `layer`'s per-PE counters into `total` (a grid of total.width x total.height PEs; PEs
// outside it are left out) with the layer's PE (0, 0) at (origin_x, origin_y), and its totals
// and cycles into total's.
void add_layer_stats(sim::Stats& total, const sim::Stats& layer, int origin_x = 0, int origin_y = 0);

class ModelObservation {
 public:
  // `model` heads the heatmap's title. Scratch files live in a directory made here (with
  // --trace) and removed by the destructor.
  static Expected<std::unique_ptr<ModelObservation>> create(const compiler::Plan& plan, const RunFlags& flags,
                                                            const std::string& model);
  ModelObservation(const ModelObservation&) = delete;
  ModelObservation& operator=(const ModelObservation&) = delete;
  ~ModelObservation();

  // For compiler::run: records the layer's counters and trace.
  compiler::LayerObserver observer();
  // Prints the stats summary and writes the trace and heatmap; also after a failed run
  // (with the layers that ran).
  Status finish() const;

 private:
  struct LayerSpan {
    std::string name, kernel;
    uint64_t start = 0, end = 0;  // on the model's clock
    std::string trace_file;       // scratch
    uint64_t dropped = 0;
  };
  ModelObservation(const compiler::Plan& plan, const RunFlags& flags, std::string model);
  Status observe(size_t layer, const sim::Simulator& sim);
  Status write_trace() const;

  arch::Arch arch_;
  struct LayerInfo {
    std::string name, kernel;
    int origin_x, origin_y;  // where its program's PE (0, 0) lies on the fabric
  };
  std::vector<LayerInfo> layers_;  // per plan layer
  RunFlags flags_;
  std::string model_;
  std::filesystem::path scratch_;
  sim::Stats total_;
  std::vector<LayerSpan> spans_;
};

}  // namespace wafer::cli

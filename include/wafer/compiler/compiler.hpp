// The graph compiler's back end: a graph (graph/graph.hpp, after the fusion passes) lowered
// onto the kernel library, placed on the wafer, and run on the simulator (../shared/COMPILER.md,
// layer `compiler`; docs/compiler.md).
//
// Two modes. Weight streaming: the model runs one layer at a time on one rectangle of W x H
// PEs (the grid), each layer a program of its own; the layer's weights arrive through the
// host I/O at the arch's bandwidth, its activations stay in the PEs' SRAM where the previous
// layer left them. Pipelined: every layer has a W x H rectangle of its own (in snake order
// over the fabric, so that consecutive layers touch), its weights loaded once and resident,
// and an activation a layer reads on another rectangle is moved there by a translation (a
// move, planned as a layer of its own); one map of the fabric's SRAM, colors and task ids
// per PE checks that the programs sharing PEs fit together. Auto takes pipelined when it fits.
//
// Every activation is a 2-D tensor (the leading dimensions flattened into rows, the last one
// the columns; an image channels-last) in one layout, the one GEMM's C, the norms' X and the
// element-wise kernels' A share: rows split over the grid's y, columns over its x,
// column-major blocks. A layer therefore reads its input where the producer wrote it, and the
// compiler checks that the two layouts are the same before it plans the layer. Views
// (Reshape, Flatten, Squeeze, Unsqueeze, Identity) that keep the last dimension and the row
// count are free: the consumer reads the producer's blocks under another name.
//
// A layer is one kernel: GEMM (MatMul or Gemm with a constant right operand and bias, SUMMA),
// an element-wise op (with a constant or same-shape second operand, broadcast as a scalar, a
// row or a column), a row reduction (Softmax, LayerNormalization, wafer.RMSNorm over the last
// axis), a fused activation (wafer.Gelu, wafer.Silu), the attention chain, or an image
// operation (Conv, pooling, BatchNormalization). Everything else is listed, all at once, in
// the error of compile().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wafer/arch/arch.hpp"
#include "wafer/graph/graph.hpp"
#include "wafer/ir/program.hpp"
#include "wafer/kernels/compose.hpp"
#include "wafer/kernels/kernels.hpp"
#include "wafer/sim/simulator.hpp"
#include "wafer/support/error.hpp"

namespace wafer::compiler {

// How the layers share the fabric (docs/compiler.md, "Modes").
enum class Mode : uint8_t {
  streaming,  // one layer at a time on one W x H grid, its weights streamed in through the host I/O
  pipelined,  // every layer on a W x H rectangle of its own, weights resident, activations moved
  automatic,  // pipelined when every layer fits the fabric, else streaming
};
const char* mode_name(Mode m);  // "streaming", "pipelined", "auto"

struct CompileOptions {
  int grid_w = 0, grid_h = 0;  // PEs (of each layer); 0 x 0: the smallest grid every layer fits on
  DType dtype = DType::f32;    // what every kernel computes and stores in
  Mode mode = Mode::automatic;
};

// One tensor a layer reads or writes, and where its blocks are.
struct Binding {
  int value = -1;             // graph value id (after views: the producer's)
  kernels::DistTensor layout;  // symbol name, type, shape, PEs
  bool weight = false;        // a constant streamed in through the host I/O
  bool image = false;         // an N x C x H x W value seen channels-last (N·H·W x C)
  // An activation the kernel takes in a layout of its own (the window kernels' padded input
  // bands): the host reads it out of the producer's layout and writes it in, both at the
  // arch's I/O bandwidth (Layer::relayout_io_cycles).
  bool via_host = false;
};

// One kernel launch of the compiled model.
struct Layer {
  std::string name;            // the ONNX node's name
  std::string op;              // the graph op it computes ("Gemm", "wafer.Gelu")
  std::string kernel;          // what runs: "gemm summa", "add bcast=row", "softmax"
  ir::Rect rect;               // PEs it runs on, on the fabric (a move: the rectangle it crosses)
  int origin_x = 0, origin_y = 0;  // the fabric PE of its program's PE (0, 0)
  ir::Program program;         // its code and routes
  std::string launch;          // the task that starts it
  std::vector<Binding> inputs;     // value -1: zeros (LayerNormalization without a bias)
  Binding output;
  // The host copies of its inputs, from one element function per input (in `inputs` order)
  // over the value's 2-D view (row, column).
  std::function<std::vector<kernels::HostCopy>(const std::vector<kernels::ElementFn>&)> copies;
  int64_t sram_bytes_per_pe = 0;   // the program's symbols on one PE
  int colors = 0, tasks = 0;       // of the arch's
  int64_t weight_bytes = 0;        // streamed in before it runs
  double flops = 0;                // an FMA is 2; 0 for data movement
  uint64_t estimated_cycles = 0;   // the cost model's (plan.cpp)
  uint64_t weight_io_cycles = 0;   // weight_bytes at the arch's host bandwidth
  // The via-host inputs' bytes, read out and written in at the host bandwidth; it cannot
  // overlap the producer's compute, so it adds to the streamed time.
  uint64_t relayout_io_cycles = 0;
};

struct Plan {
  arch::Arch arch;
  int grid_w = 0, grid_h = 0;    // PEs of the grid (streaming) or of each layer (pipelined)
  DType dtype = DType::f32;
  Mode mode = Mode::streaming;
  std::string mode_reason;       // why --mode auto chose it
  std::vector<Layer> layers;
  std::map<int, int> alias;     // value id -> the value whose blocks it reads (views)
  std::map<int, int> relaid;    // value id -> the image it reorders, read through the host
  int views = 0;                // nodes that became views
  uint64_t estimated_cycles = 0;  // one batch (batch_cycles)
  uint64_t estimated_interval = 0;  // between batches in steady state (interval_cycles)
  int64_t max_sram_bytes_per_pe = 0;
};

// Lowers and places `g` (shapes inferred, constants folded). Errors: every node the wafer
// engine cannot lower, by op and node name; a grid on which a layer does not fit, naming
// the layer, its rectangle and the number that is wrong.
Expected<Plan> compile(const graph::Graph& g, const arch::Arch& arch, const CompileOptions& o);

// Streaming time of a list of layers: the first layer's weights, then each layer's relayout
// through the host and its compute or the next layer's weights, whichever is longer.
uint64_t streamed_cycles(const std::vector<uint64_t>& compute, const std::vector<uint64_t>& weight_io,
                         const std::vector<uint64_t>& relayout_io);
// One batch through the layers: streaming, streamed_cycles; pipelined, every layer and move
// in turn with the weights already resident (they load once, before the first batch).
uint64_t batch_cycles(Mode m, const std::vector<uint64_t>& compute, const std::vector<uint64_t>& weight_io,
                      const std::vector<uint64_t>& relayout_io);
// Cycles between batches in steady state: pipelined, the slowest layer or move with its
// relayouts (each works on another batch at once); streaming, a whole batch.
uint64_t interval_cycles(Mode m, const std::vector<uint64_t>& compute, const std::vector<uint64_t>& weight_io,
                         const std::vector<uint64_t>& relayout_io);

struct LayerRun {
  uint64_t cycles = 0;           // fabric cycles from launch to completion
  uint64_t compute_cycles = 0;   // the busiest PE's compute (sim::Stats::compute)
  uint64_t weight_io_cycles = 0;  // the simulator's host-copy cycles for the weights
  uint64_t relayout_io_cycles = 0;  // the via-host inputs: the read-out and the simulator's write
  double max_rel_error = 0;      // normwise, against the reference's value of the same node
  double sim_wall_seconds = 0;
};

struct ModelRun {
  std::map<std::string, graph::Tensor> outputs;  // by graph output name
  std::vector<LayerRun> layers;                  // one per Plan::layers
  // The layers' runs added up: fabric cycles, active PE-cycles and wall seconds (threads:
  // the last layer's).
  sim::RunResult total;
  uint64_t cycles = 0;    // batch_cycles of the layers' cycles, weight I/O and relayouts
  uint64_t interval = 0;  // interval_cycles of the same
};

// Called after each layer's simulation, also one that failed, with the layer's index in
// Plan::layers and its simulator (stats and trace as `options` asked); an error stops the run.
using LayerObserver = std::function<Status(size_t layer, const sim::Simulator&)>;

// Runs the plan on the simulator: `inputs` by graph input name, `reference` every value the
// reference interpreter computed (EvalOptions::all_values, rounded to the plan's dtype) for
// the per-layer errors; `observe`, when given, sees every layer's simulator after its run.
Expected<ModelRun> run(const graph::Graph& g, const Plan& plan, const std::map<std::string, graph::Tensor>& inputs,
                       const std::map<std::string, graph::Tensor>& reference, const sim::Options& options,
                       const LayerObserver& observe = {});

}  // namespace wafer::compiler

// The compiler's internal step list (lower.cpp): which kernel computes each graph node, with
// which operands, before any grid is chosen.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "wafer/compiler/compiler.hpp"
#include "wafer/graph/graph.hpp"
#include "wafer/kernels/conv.hpp"
#include "wafer/kernels/eltwise.hpp"
#include "wafer/kernels/norms.hpp"
#include "wafer/support/error.hpp"

namespace wafer::compiler {

enum class StepKind : uint8_t { gemm, eltwise, norm, attention, window, batchnorm, gather };

// One node lowered to one kernel. Value ids are after views (Lowered::alias applied).
struct Step {
  StepKind kind = StepKind::eltwise;
  int node = -1;        // index into Graph::nodes
  int a = -1;           // the activation it reads
  int b = -1;           // gemm: the weight; eltwise: the second operand (activation or constant);
                        // gather: the table (a is the token ids, a model input)
  int bias = -1;        // gemm: 1-D constant of N, or -1
  int gamma = -1, beta = -1;  // norm: the constants of LayerNormalization / wafer.RMSNorm
  int out = -1;
  bool b_transposed = false;  // gemm: the weight is given as N x K (Gemm's transB)
  kernels::EltwiseOp op = kernels::EltwiseOp::add;
  kernels::Broadcast form = kernels::Broadcast::full;
  kernels::NormKind norm = kernels::NormKind::softmax;
  double eps = 1e-5;
  // attention: with k = v = -1, a is the S x 3D QKV matrix; else a, k and v are Q (S x D)
  // and K and V (S x kv_heads·d), each of `batch` sequences of S rows one after another;
  // rope_cos/sin: the rotary tables' constants, or -1.
  int64_t heads = 0, kv_heads = 0, batch = 1;
  bool causal = true;  // attention: the causal mask, or none (an encoder's)
  int k = -1, v = -1, rope_cos = -1, rope_sin = -1;
  // window (Conv, MaxPool, AveragePool, GlobalAveragePool): the operation and its window;
  // conv's weight is b and its bias `bias`. batchnorm: gamma, beta, mean, var (eps above).
  kernels::TapOp tap = kernels::TapOp::conv;
  kernels::Window window;
  int mean = -1, var = -1;
};

struct Lowered {
  std::vector<Step> steps;
  std::map<int, int> alias;  // view value -> the value whose blocks it is
  std::set<int> images;      // values a step leaves channels-last (see rows_of)
  // A view that reorders an image (Flatten of C x H x W), or that reshapes a model input:
  // its consumers read it through the host, which holds it in the graph's order (view value
  // -> the image or the input). The host has a model input already, so that costs no more
  // than any input.
  std::map<int, int> relaid;
  int views = 0;
};

// A value as the kernels see it: the leading dimensions flattened into rows, the last one the
// columns (a scalar is 1 x 1, a vector 1 x n); an image, an N x C x H x W value held
// channels-last, is the N·H·W x C matrix of its pixels (an N x C image, a global pooling's
// with its 1 x 1 dimensions dropped, is one pixel).
int64_t pixels_of(const graph::Value& image);
int64_t rows_of(const graph::Value& v, bool image = false);
int64_t cols_of(const graph::Value& v, bool image = false);
// Where element (row, col) of that matrix lies in the value's row-major values.
size_t element_index(const graph::Value& v, bool image, int64_t row, int64_t col);

// Conv, MaxPool, AveragePool, BatchNormalization and GlobalAveragePool onto the window and
// batch-norm kernels (lower_image.cpp); the error says what the kernels do not take.
Expected<Step> lower_image_op(const graph::Graph& g, const graph::Node& n);
bool is_image_op(const std::string& op);

// A wafer.Attention node with the Split, Reshapes and Transposes around it that it takes its
// Q, Kᵀ, V from and gives its result to (lower_attention.cpp): one step, and the nodes it
// absorbs. The error says what differs from the chain the kernel takes.
struct AttentionChain {
  Step step;
  std::vector<int> nodes;
};
Expected<AttentionChain> match_attention(const graph::Graph& g, int node);

// The window and batch-norm layers on layer.rect (image_layers.cpp): the kernel, bindings,
// copies, estimate and relayout I/O of `s`.
struct LayerContext {
  const graph::Graph& g;
  const arch::Arch& arch;
  DType t;
};
Status emit_image_layer(kernels::Emit& e, const LayerContext& c, const Step& s, Layer& layer);
// Reading an activation out to the host for a relayout: its bytes in `t` at the host
// bandwidth, or 0 for a model input, which the host has.
uint64_t readout_cycles(const graph::Graph& g, const arch::Arch& a, DType t, int value);

// The cost model's rates (plan.cpp): `bytes` through the host I/O, in cycles; elements of `t`
// the PE's write port stores a cycle.
uint64_t host_io_cycles(const arch::Arch& a, double bytes);
// The columns an activation of `cols` columns takes on rectangle `r`: padded at the end to a
// multiple of lcm(W, H) (docs/compiler.md, "Padding").
int64_t padded_columns(int64_t cols, const ir::Rect& r);
double write_port_elements(const arch::Arch& a, DType t);

// Whether two bindings are the same blocks on the same PEs (the symbol aside), and one's
// description for an error.
bool same_layout(const Binding& x, const Binding& y);
std::string describe(const Binding& b);
// Host copies of each binding's blocks from its element function (Layer::copies), then
// `tables` (the move kernels' per-PE tables, which do not depend on the values).
using LayerCopies = std::function<std::vector<kernels::HostCopy>(const std::vector<kernels::ElementFn>&)>;
LayerCopies block_copies(const std::vector<Binding>& bindings, std::vector<kernels::HostCopy> tables = {});

// The pipelined placement (pipeline.cpp): layer i (emit(i, w, h), a program on PEs (0, 0)..
// (w-1, h-1)) on a rectangle of its own of sizes[i], the moves its inputs need from other
// rectangles before it, and the fabric's SRAM, colors and task ids checked per PE.
using GridSize = std::pair<int, int>;  // PEs: width, height
using EmitLayer = std::function<Expected<Layer>(size_t step, int w, int h)>;
Expected<std::vector<Layer>> place_pipelined(const LayerContext& c, const std::vector<GridSize>& sizes,
                                             const EmitLayer& emit);

// Every node becomes a step or a view; the error lists every node that cannot, by op.
Expected<Lowered> lower(const graph::Graph& g);

}  // namespace wafer::compiler

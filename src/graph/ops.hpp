// The graph library's one internal header: how an op's row is written (op_table.cpp and the
// ops_*.cpp families), and the helpers the rows share.
//
// Each op has one shape-and-type rule, `sig`, used both by infer_shapes (inputs are the graph's
// values; `data` is set where the value is a constant) and by the reference evaluation (every
// input's `data` is set). A rule that needs an input's values (Reshape's shape, Slice's
// starts) calls need_data(), which is the "dynamic shape" error when they are not known. The
// evaluation then only fills values: `compute` receives outputs whose type and shape the rule
// has already set and whose values are sized.
#pragma once

#include <string>
#include <vector>

#include "wafer/graph/graph.hpp"

namespace wafer::graph {

// One input as a rule sees it.
struct Arg {
  bool present = false;          // false for an omitted optional input
  ElemType type = ElemType::f32;
  const Shape* shape = nullptr;
  const Tensor* data = nullptr;  // the values when known
  std::string name;              // for messages: the value's name, or "#i" without a graph
};
using Args = std::vector<Arg>;

struct OutSig {
  ElemType type;
  Shape shape;
};
using Sig = std::vector<OutSig>;

struct OpRule {
  const char* name;
  int min_inputs, max_inputs;  // max -1: variadic
  int min_outputs, max_outputs;
  Expected<Sig> (*sig)(const Node& node, const Args& in);
  Status (*compute)(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out);
};

// The element-wise maps' shared parts (ops_elementwise.cpp, ops_activation.cpp): the output
// has the first input's type and shape, and is f of each of its elements.
Expected<Sig> same_as_input(const Node& node, const Args& in);
template <class F>
Status map_unary(const std::vector<const Tensor*>& in, std::vector<Tensor>& out, F f) {
  const std::vector<double>& x = in[0]->values;
  for (size_t i = 0; i < x.size(); ++i) out[0].values[i] = f(x[i]);
  return Status::ok();
}

// The families' rows (ops_elementwise.cpp, ops_shape.cpp, ops_reduce.cpp, ops_nn.cpp,
// ops_linalg.cpp).
void add_elementwise_ops(std::vector<OpRule>& rows);
void add_reduce_ops(std::vector<OpRule>& rows);
void add_shape_ops(std::vector<OpRule>& rows);
void add_nn_ops(std::vector<OpRule>& rows);
void add_linalg_ops(std::vector<OpRule>& rows);
void add_pad_ops(std::vector<OpRule>& rows);  // ops_pad.cpp
void add_fused_ops(std::vector<OpRule>& rows);  // ops_fused.cpp: the wafer.* ops fusion produces
void add_activation_ops(std::vector<OpRule>& rows);  // ops_activation.cpp: LeakyRelu, Clip, ...

const OpRule* find_rule(const std::string& op);
// "node '/fc1/MatMul' (MatMul)": the prefix of every message about a node.
std::string node_label(const Node& node);
// The node's arity against the rule.
Status check_arity(const OpRule& rule, const Node& node);
// Args of a node in a graph (names and constants from the graph's values).
Args graph_args(const Node& node, const Graph& g);
// Runs the rule and the compute on tensors; `names` label the inputs in messages. Errors
// carry the node label.
Status evaluate_node(const OpRule& rule, const Node& node, const std::vector<const Tensor*>& in,
                     const std::vector<std::string>& names, std::vector<Tensor>& out);

// Drops the nodes none of whose outputs is used (walking back from the graph outputs), then
// the values that are neither graph inputs nor outputs nor touched by a remaining node;
// value ids are renumbered in their old order (fold.cpp).
void remove_dead_code(Graph& g);

// --- helpers for rules ---
// The values of input `i` (constant or evaluated), or the dynamic-shape error naming it.
Expected<const Tensor*> need_data(const Args& in, int i, const char* role);
// The values of an integer tensor as int64.
std::vector<int64_t> as_ints(const Tensor& t);
// An axis in [-rank, rank) made non-negative, or an error naming the attribute or input.
Expected<int64_t> normalize_axis(int64_t axis, int64_t rank, const char* what);
// The node's `axis` attribute (or `fallback` when absent), normalized for `rank`.
Expected<int64_t> axis_attr(const Node& node, int64_t rank, std::optional<int64_t> fallback = std::nullopt);
// The NumPy broadcast of two shapes, or an error naming both inputs.
Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b, const std::string& a_name,
                                 const std::string& b_name);
// For each element of `out`, the flat index of the element of `in` (broadcast to `out`) it reads.
std::vector<int64_t> broadcast_offsets(const Shape& in, const Shape& out);
// Row-major strides of a shape.
std::vector<int64_t> strides_of(const Shape& s);
// Rounds a value to what an element of type `t` holds (floats to nearest even, integers
// truncated toward zero, bool to 0/1; f64 unchanged).
double round_to_elem(ElemType t, double v);
// A tensor with a type, a shape and zeroed values.
Tensor make_tensor(ElemType t, Shape shape);
// Same type for every present input from `first` on, or an error naming the two that differ.
Status check_same_type(const Args& in, size_t first = 0);

}  // namespace wafer::graph

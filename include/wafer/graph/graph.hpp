// The tensor-level graph IR that the compiler works on (../shared/COMPILER.md, layer `graph`).
//
// A Graph is a list of Values (typed tensors with static shapes: graph inputs, constants such
// as weights, and node results) and a list of Nodes in topological order, each an op applied
// to value ids. Op names and attributes follow ONNX (opsets 13-17; the importer in
// src/onnx/ turns a model into this form), so the reference interpreter's semantics are
// ONNX's; compiler passes add ops of their own (fused chains) with a leading "wafer." in
// their name. Every op has one row in the op table (op_table.cpp): its arity, its attributes,
// its shape and type rule, and its reference evaluation. verify() checks a graph against the
// table (ids in range, arity, shapes as the rule infers them, topological order), so a pass
// that breaks a graph is caught right after it runs.
//
// Elements are held as doubles on the host (every float type, and integers up to 2^53 such
// as shapes and indices, are exact in a double); ElemType says what the model declares.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "wafer/support/error.hpp"
#include "wafer/support/numeric.hpp"

namespace wafer::graph {

// The element types an exported model uses: floats for data, int64 for shapes and indices,
// bool for masks.
enum class ElemType : uint8_t { f32, f16, bf16, f64, i64, i32, i8, u8, boolean };
std::string_view elem_name(ElemType t);  // "f32", "i64", "bool"
std::optional<ElemType> parse_elem(std::string_view name);
bool elem_is_float(ElemType t);
// Bytes of one element as files store it (bool: 1), and one element read from little-endian
// bytes (f16 and bf16 as their bit patterns), as .npy and ONNX raw data hold them.
int elem_bytes(ElemType t);
double load_element(ElemType t, const char* bytes);
// The ElemType of an ONNX TensorProto.DataType code (1 FLOAT, 7 INT64, 9 BOOL, 10 FLOAT16,
// 16 BFLOAT16...), as Cast's `to` and ConstantOfShape's value use them; nullopt for others.
std::optional<ElemType> elem_from_onnx(int64_t code);

using Shape = std::vector<int64_t>;
int64_t element_count(const Shape& s);  // saturates at INT64_MAX; 0 when a size is <= 0
std::string shape_text(const Shape& s);  // "[2,64]", "[]" for a scalar

// A tensor with its values, row-major (C order).
struct Tensor {
  ElemType type = ElemType::f32;
  Shape shape;
  std::vector<double> values;
  int64_t size() const { return int64_t(values.size()); }
};

struct Value {
  std::string name;               // the ONNX name (unique in the graph)
  ElemType type = ElemType::f32;
  Shape shape;
  std::optional<Tensor> constant;  // set for weights and folded constants
};

using Attr = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>, Tensor>;

struct Node {
  std::string name;                 // the ONNX node name ("/blocks.0/attn/MatMul"), for every message
  std::string op;                   // "MatMul", "LayerNormalization", "wafer.gelu"
  std::vector<int> inputs;          // value ids; -1 for an omitted optional input
  std::vector<int> outputs;         // value ids
  std::map<std::string, Attr> attrs;

  // Attribute lookups with defaults; a present attribute of another kind is an error naming
  // the node and the attribute (attr_float also accepts an int attribute).
  Expected<int64_t> attr_int(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const;
  Expected<double> attr_float(const std::string& key, std::optional<double> fallback = std::nullopt) const;
  Expected<std::string> attr_string(const std::string& key, std::optional<std::string> fallback = std::nullopt) const;
  Expected<std::vector<int64_t>> attr_ints(const std::string& key,
                                          std::optional<std::vector<int64_t>> fallback = std::nullopt) const;
};

struct Graph {
  std::string name;
  std::vector<Value> values;
  std::vector<Node> nodes;    // topological order
  std::vector<int> inputs;    // value ids the caller supplies (no constants)
  std::vector<int> outputs;   // value ids the model returns

  int add_value(Value v);     // returns its id
  // The id of the value named `name`, or -1.
  int find_value(const std::string& name) const;
  // Whether value `id` is one the caller supplies.
  bool is_input(int id) const;
};

// One row per op: how many inputs (max -1: variadic) and outputs, how shapes and types
// follow from the inputs (constant inputs such as Reshape's shape are available through
// Graph::values[id].constant), and how the reference evaluates it.
struct OpInfo {
  const char* name;
  int min_inputs, max_inputs;
  int min_outputs, max_outputs;
  // Sets the type and shape of node.outputs from its inputs; errors name the node.
  Status (*infer)(const Node& node, Graph& g);
  // Evaluates the node on double tensors (the inputs in node.inputs order, nullptr for an
  // omitted optional input) into `out` (one per output).
  Status (*eval)(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out);
};

const std::vector<OpInfo>& op_table();
const OpInfo* find_op(const std::string& name);
// Names of every op in the table, sorted, for error messages ("supported ops: ...").
std::vector<std::string> supported_ops();

// Runs each node's shape rule in order, filling every node output's type and shape.
Status infer_shapes(Graph& g);
// Checks ids, arity, topological order, that every non-input value is produced once, and
// that shapes agree with the rules; errors name the node and its op.
Status verify(const Graph& g);

// Constant folding (fold.cpp): every node whose inputs are all constants is evaluated by the
// reference interpreter and its outputs become constants (a Shape node folds whenever its
// input's shape is known); the other nodes get their shapes inferred in the same walk, so
// folding replaces infer_shapes for a graph whose shapes come from Shape->...->Reshape
// chains. Nodes and values nothing uses any more are removed (ids renumbered). Returns how
// many nodes were folded.
Expected<int> fold_constants(Graph& g);

// The text form (printer.cpp), for --emit graph and golden files: one line per input,
// constant (values elided past `max_values`), node and output, e.g.
//   %3 = MatMul(%x, %w1) : f32[2,128]  # /fc1/MatMul
std::string print(const Graph& g, int max_values = 8);

// How the reference interpreter rounds: `none` computes in double throughout; a float dtype
// rounds every node's float outputs to it (the data a machine of that type would hold), and
// the float graph inputs and constants as they enter; each op still computes in double.
struct EvalOptions {
  std::optional<DType> round_to;
  // Return every value the evaluation holds (inputs, constants and each node's results) by
  // name, not only the graph outputs: per-node differential checks compare against these.
  bool all_values = false;
};

// The reference interpreter (interpreter.cpp): evaluates every node in order; `inputs` by
// value name, each with the declared shape (an error names the input and both shapes).
// Returns every graph output by name.
Expected<std::map<std::string, Tensor>> evaluate(const Graph& g, const std::map<std::string, Tensor>& inputs,
                                                 const EvalOptions& options = {});

}  // namespace wafer::graph

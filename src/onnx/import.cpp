// ONNX import: protobuf in, graph IR out (wafer/onnx/import.hpp).
//
// The model is parsed with libprotobuf, checked with onnx::checker (structure, opset, types)
// and given shapes with onnx::shape_inference (static shapes through the whole graph, so the
// graph's own rules can be compared against ONNX's). Nothing is built until two lists are
// complete: the ops the graph IR lacks (grouped by op, with every node name) and the
// dimensions that are not fixed numbers (input and axis); either list stops the import with
// every entry in one message, because finding unsupported ops one at a time is what users of
// other compilers complain about most. Then initializers and Constant nodes become constant
// values, every other node becomes a graph node of the same op name with its attributes,
// constant folding (graph::fold_constants, which infers shapes on its way, so that shapes
// computed by Shape/Gather/Concat chains are constants before the Reshape or Expand that
// needs them) and graph::infer_shapes run, and every value ONNX gave a static shape must have
// the same shape in the graph.
//
// Tensor data: raw_data (little-endian) or the typed repeated fields, for the element types
// graph::ElemType has; external data and string tensors are refused with the tensor's name.
#include "wafer/onnx/import.hpp"

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "wafer/support/numeric.hpp"

namespace wafer::onnx_import {

namespace {

using graph::ElemType;
using graph::Graph;
using graph::Shape;
using graph::Tensor;

Expected<ElemType> elem_type(int onnx_type, const std::string& what) {
  switch (onnx_type) {
    case onnx::TensorProto::FLOAT: return ElemType::f32;
    case onnx::TensorProto::FLOAT16: return ElemType::f16;
    case onnx::TensorProto::BFLOAT16: return ElemType::bf16;
    case onnx::TensorProto::DOUBLE: return ElemType::f64;
    case onnx::TensorProto::INT64: return ElemType::i64;
    case onnx::TensorProto::INT32: return ElemType::i32;
    case onnx::TensorProto::INT8: return ElemType::i8;
    case onnx::TensorProto::UINT8: return ElemType::u8;
    case onnx::TensorProto::BOOL: return ElemType::boolean;
    default: break;
  }
  return make_error("{}: element type {} ({}) is not supported (float, float16, bfloat16, double, "
                    "int64, int32, int8, uint8, bool are)",
                    what, onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(onnx_type)), onnx_type);
}

// An element stored in int32_data: the integer itself, or the 16-bit pattern of a half.
double int32_field_element(ElemType t, int32_t v) {
  if (t == ElemType::f16) return f16_to_double(uint16_t(v));
  if (t == ElemType::bf16) return bf16_to_double(uint16_t(v));
  if (t == ElemType::boolean) return v != 0;
  return v;
}

Expected<Tensor> to_tensor(const onnx::TensorProto& p, const std::string& what) {
  if (p.data_location() == onnx::TensorProto::EXTERNAL)
    return make_error("{}: tensor data in an external file is not supported (save the model with "
                      "the weights inside it)", what);
  auto type = elem_type(p.data_type(), what);
  if (!type) return type.status();
  Tensor t;
  t.type = *type;
  for (int64_t d : p.dims()) {
    if (d < 0 || d > (int64_t(1) << 40)) return make_error("{}: dimension {} is not a size", what, d);
    t.shape.push_back(d);
  }
  // The element count, checked against the data present before anything is allocated (a
  // damaged file may claim any shape).
  // Without raw data, the values are in the one typed field the element type uses.
  const int typed = t.type == ElemType::f32   ? p.float_data_size()
                    : t.type == ElemType::f64 ? p.double_data_size()
                    : t.type == ElemType::i64 ? p.int64_data_size()
                                              : p.int32_data_size();
  const int64_t available = p.has_raw_data() ? int64_t(p.raw_data().size()) / graph::elem_bytes(t.type) : typed;
  const double claimed = [&] {
    double c = 1;
    for (int64_t d : t.shape) c *= double(d);
    return c;
  }();
  if (claimed != double(available) ||
      (p.has_raw_data() && int64_t(p.raw_data().size()) != available * graph::elem_bytes(t.type)))
    return make_error("{}: the data holds {} values of {}, the shape {} needs {:.0f}", what, available,
                      graph::elem_name(t.type), graph::shape_text(t.shape), claimed);
  const int64_t n = available;
  t.values.reserve(size_t(n));
  if (p.has_raw_data()) {
    const std::string& raw = p.raw_data();
    for (int64_t i = 0; i < n; ++i) t.values.push_back(graph::load_element(t.type, raw.data() + i * graph::elem_bytes(t.type)));
  } else if (t.type == ElemType::f32) {
    for (float v : p.float_data()) t.values.push_back(v);
  } else if (t.type == ElemType::f64) {
    for (double v : p.double_data()) t.values.push_back(v);
  } else if (t.type == ElemType::i64) {
    for (int64_t v : p.int64_data()) t.values.push_back(double(v));
  } else {
    for (int32_t v : p.int32_data()) t.values.push_back(int32_field_element(t.type, v));
  }
  return t;
}

Expected<graph::Attr> to_attr(const onnx::AttributeProto& a, const std::string& node) {
  const std::string what = fmt::format("node '{}' attribute '{}'", node, a.name());
  switch (a.type()) {
    case onnx::AttributeProto::INT: return graph::Attr(int64_t(a.i()));
    case onnx::AttributeProto::FLOAT: return graph::Attr(double(a.f()));
    case onnx::AttributeProto::STRING: return graph::Attr(a.s());
    case onnx::AttributeProto::INTS: return graph::Attr(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    case onnx::AttributeProto::FLOATS: return graph::Attr(std::vector<double>(a.floats().begin(), a.floats().end()));
    case onnx::AttributeProto::TENSOR: {
      auto t = to_tensor(a.t(), what);
      if (!t) return t.status();
      return graph::Attr(std::move(*t));
    }
    default: break;
  }
  return make_error("{}: attributes of type {} are not supported", what,
                    onnx::AttributeProto::AttributeType_Name(a.type()));
}

// The value a Constant node holds (value, value_float(s), value_int(s)).
Expected<Tensor> constant_value(const onnx::NodeProto& n) {
  const std::string what = fmt::format("Constant node '{}'", n.name());
  for (const onnx::AttributeProto& a : n.attribute()) {
    if (a.name() == "value") return to_tensor(a.t(), what);
    if (a.name() == "value_float") return Tensor{ElemType::f32, {}, {double(a.f())}};
    if (a.name() == "value_int") return Tensor{ElemType::i64, {}, {double(a.i())}};
    if (a.name() == "value_floats")
      return Tensor{ElemType::f32, {a.floats_size()}, std::vector<double>(a.floats().begin(), a.floats().end())};
    if (a.name() == "value_ints") {
      Tensor t{ElemType::i64, {a.ints_size()}, {}};
      for (int64_t v : a.ints()) t.values.push_back(double(v));
      return t;
    }
  }
  return make_error("{}: no value attribute this importer reads (value, value_float(s), value_int(s))", what);
}

std::string node_name(const onnx::NodeProto& n, int index) {
  return n.name().empty() ? fmt::format("{}_{}", n.op_type(), index) : n.name();
}

bool default_domain(const std::string& d) { return d.empty() || d == "ai.onnx"; }

// The ops of an older-opset model whose definition at its opset is not the one opset 13
// uses ("Gemm-11, Gemm-13"); empty when every op is the same in both.
std::string ops_changed_since(const onnx::GraphProto& g, int opset) {
  std::set<std::string> changed;
  for (const onnx::NodeProto& n : g.node()) {
    if (!default_domain(n.domain())) continue;
    const onnx::OpSchema* old_schema = onnx::OpSchemaRegistry::Schema(n.op_type(), opset);
    const onnx::OpSchema* new_schema = onnx::OpSchemaRegistry::Schema(n.op_type(), kMinOpset);
    const int old_version = old_schema ? old_schema->since_version() : 0;
    const int new_version = new_schema ? new_schema->since_version() : 0;
    if (old_version != new_version)
      changed.insert(fmt::format("{}-{} (opset {} uses {}-{})", n.op_type(), old_version, kMinOpset, n.op_type(),
                                 new_version));
  }
  return fmt::format("{}", fmt::join(changed, ", "));
}

// The model's opset of the default domain. An older opset is taken when every op the model
// uses has the same definition there as in opset 13 (ONNX versions each op separately, so a
// Conv-11 node test is exactly the Conv an opset-13 model has); newer ones are refused.
Expected<int> default_opset(const onnx::ModelProto& m, const std::string& path) {
  for (const onnx::OperatorSetIdProto& o : m.opset_import())
    if (default_domain(o.domain())) {
      const int v = int(o.version());
      if (v > kMaxOpset)
        return make_error("{}: opset {} is not supported (opsets {}-{} are; export with "
                          "torch.onnx.export(..., opset_version={}))",
                          path, v, kMinOpset, kMaxOpset, kMaxOpset);
      if (v < kMinOpset) {
        const std::string changed = ops_changed_since(m.graph(), v);
        if (!changed.empty())
          return make_error("{}: opset {} is not supported (opsets {}-{} are; an older model imports only "
                            "when its ops are defined as in opset {}, and these are not: {}; export with "
                            "torch.onnx.export(..., opset_version={}))",
                            path, v, kMinOpset, kMaxOpset, kMinOpset, changed, kMaxOpset);
      }
      return v;
    }
  return make_error("{}: the model imports no opset of the default ONNX domain", path);
}

// Every op the graph IR lacks, by op with its node names; empty when all are supported.
std::string unsupported_ops(const onnx::GraphProto& g) {
  std::map<std::string, std::vector<std::string>> missing;
  for (int i = 0; i < g.node_size(); ++i) {
    const onnx::NodeProto& n = g.node(i);
    const std::string op = default_domain(n.domain()) ? n.op_type() : n.domain() + "." + n.op_type();
    if (op == "Constant" || (default_domain(n.domain()) && graph::find_op(op))) continue;
    missing[op].push_back(node_name(n, i));
  }
  std::string out;
  for (const auto& [op, nodes] : missing) {
    std::string names;
    for (size_t i = 0; i < nodes.size() && i < 8; ++i) names += (i ? ", " : "") + fmt::format("'{}'", nodes[i]);
    if (nodes.size() > 8) names += fmt::format(" and {} more", nodes.size() - 8);
    out += fmt::format("\n  {} ({} node{}: {})", op, nodes.size(), nodes.size() == 1 ? "" : "s", names);
  }
  return out;
}

// The largest size of one dimension the importer takes (a larger one is a damaged file).
constexpr int64_t kMaxDim = int64_t(1) << 32;

// The shape of a graph input, with symbolic dimensions resolved from the options; each one
// that is not resolved is appended to `dynamic`.
Shape input_shape(const onnx::ValueInfoProto& v, const ImportOptions& o, std::string& dynamic) {
  Shape s;
  const auto& dims = v.type().tensor_type().shape().dim();
  for (int axis = 0; axis < dims.size(); ++axis) {
    const onnx::TensorShapeProto::Dimension& d = dims[axis];
    if (d.has_dim_value()) {
      if (d.dim_value() < 0 || d.dim_value() > kMaxDim)
        dynamic += fmt::format("\n  input '{}' axis {} has size {}, not one in 0..{}", v.name(), axis, d.dim_value(), kMaxDim);
      s.push_back(d.dim_value());
      continue;
    }
    const std::string by_axis = fmt::format("{}:{}", v.name(), axis);
    auto fixed = o.dims.find(d.has_dim_param() ? d.dim_param() : by_axis);
    if (fixed == o.dims.end()) fixed = o.dims.find(by_axis);
    if (fixed != o.dims.end()) {
      s.push_back(fixed->second);
      continue;
    }
    dynamic += fmt::format("\n  input '{}' axis {} is {} (give it a size: '{}=N' or '{}=N')", v.name(), axis,
                           d.has_dim_param() ? fmt::format("'{}'", d.dim_param()) : std::string("unknown"),
                           d.has_dim_param() ? d.dim_param() : by_axis, by_axis);
    s.push_back(1);
  }
  return s;
}

std::optional<Shape> static_shape(const onnx::TypeProto& t) {
  if (!t.has_tensor_type() || !t.tensor_type().has_shape()) return std::nullopt;
  Shape s;
  for (const auto& d : t.tensor_type().shape().dim()) {
    if (!d.has_dim_value()) return std::nullopt;
    s.push_back(d.dim_value());
  }
  return s;
}

// The graph's shape rules against ONNX shape inference, value by value.
Status compare_shapes(const onnx::GraphProto& proto, const Graph& g) {
  auto check = [&](const onnx::ValueInfoProto& v) -> Status {
    const int id = g.find_value(v.name());
    const std::optional<Shape> onnx_shape = static_shape(v.type());
    if (id < 0 || !onnx_shape || g.values[size_t(id)].shape == *onnx_shape) return Status::ok();
    std::string producer = "a graph input";
    for (const graph::Node& n : g.nodes)
      for (int out : n.outputs)
        if (out == id) producer = fmt::format("node '{}' ({})", n.name, n.op);
    return make_error("value '{}' of {} has shape {} by Wafer's shape rule but {} by ONNX shape inference",
                      v.name(), producer, graph::shape_text(g.values[size_t(id)].shape),
                      graph::shape_text(*onnx_shape));
  };
  for (const onnx::ValueInfoProto& v : proto.value_info()) WAFER_TRY(check(v));
  for (const onnx::ValueInfoProto& v : proto.output()) WAFER_TRY(check(v));
  return Status::ok();
}

// `constant_nodes` counts the Constant nodes, which become constant values, not nodes.
Expected<Graph> build_graph(const onnx::GraphProto& proto, const ImportOptions& o, int& constant_nodes) {
  Graph g;
  g.name = proto.name();
  std::set<std::string> initializers;
  for (const onnx::TensorProto& init : proto.initializer()) {
    auto t = to_tensor(init, fmt::format("initializer '{}'", init.name()));
    if (!t) return t.status();
    initializers.insert(init.name());
    g.add_value({init.name(), t->type, t->shape, std::move(*t)});
  }
  std::string dynamic;
  for (const onnx::ValueInfoProto& in : proto.input()) {
    if (initializers.count(in.name())) continue;
    auto type = elem_type(in.type().tensor_type().elem_type(), fmt::format("input '{}'", in.name()));
    if (!type) return type.status();
    if (auto bound = o.constants.find(in.name()); bound != o.constants.end()) {
      graph::Tensor t = bound->second;
      t.type = *type;
      g.add_value({in.name(), *type, t.shape, std::move(t)});
      continue;
    }
    g.inputs.push_back(g.add_value({in.name(), *type, input_shape(in, o, dynamic), std::nullopt}));
  }
  for (const auto& [name, t] : o.constants)
    if (g.find_value(name) < 0 || !g.values[size_t(g.find_value(name))].constant)
      return make_error("a constant is given for '{}', which is not an input of the model", name);
  if (!dynamic.empty())
    return make_error("the model has input dimensions that are not fixed sizes (Wafer compiles static shapes):{}", dynamic);
  auto value_id = [&](const std::string& name, const std::string& node) -> Expected<int> {
    const int id = g.find_value(name);
    if (id < 0) return make_error("node '{}': input '{}' is not produced before it", node, name);
    return id;
  };
  for (int i = 0; i < proto.node_size(); ++i) {
    const onnx::NodeProto& n = proto.node(i);
    const std::string name = node_name(n, i);
    if (n.op_type() == "Constant") {
      ++constant_nodes;
      auto t = constant_value(n);
      if (!t) return t.status();
      g.add_value({n.output(0), t->type, t->shape, std::move(*t)});
      continue;
    }
    graph::Node node{name, n.op_type(), {}, {}, {}};
    for (const std::string& in : n.input()) {
      if (in.empty()) {
        node.inputs.push_back(-1);
        continue;
      }
      auto id = value_id(in, name);
      if (!id) return id.status();
      node.inputs.push_back(*id);
    }
    for (const std::string& out : n.output()) node.outputs.push_back(out.empty() ? -1 : g.add_value({out, ElemType::f32, {}, std::nullopt}));
    for (const onnx::AttributeProto& a : n.attribute()) {
      auto attr = to_attr(a, name);
      if (!attr) return attr.status();
      node.attrs.emplace(a.name(), std::move(*attr));
    }
    g.nodes.push_back(std::move(node));
  }
  for (const onnx::ValueInfoProto& out : proto.output()) {
    auto id = value_id(out.name(), "graph output");
    if (!id) return id.status();
    g.outputs.push_back(*id);
  }
  return g;
}

Expected<onnx::ModelProto> read_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("{}: cannot open the file", path);
  onnx::ModelProto m;
  if (!m.ParseFromIstream(&in)) return make_error("{}: not an ONNX model (the protobuf does not parse)", path);
  return m;
}

}  // namespace

Expected<graph::Graph> import_model(const std::string& path, const ImportOptions& options, ImportReport* report) {
  auto model = read_model(path);
  if (!model) return model.status();
  ImportReport local;
  ImportReport& r = report ? *report : local;
  r = {};
  for (const onnx::NodeProto& n : model->graph().node()) ++r.file_ops[n.op_type()];
  auto opset = default_opset(*model, path);
  if (!opset) return opset.status();
  r.opset = *opset;
  r.producer = fmt::format("{} {}", model->producer_name(), model->producer_version());
  r.onnx_nodes = model->graph().node_size();
  try {
    onnx::checker::check_model(*model);
    onnx::shape_inference::InferShapes(*model);
  } catch (const std::exception& e) {
    return make_error("{}: the ONNX checker refuses the model: {}", path, e.what());
  }
  const std::string missing = unsupported_ops(model->graph());
  if (!missing.empty()) {
    std::vector<std::string> onnx_ops;  // the compiler's own wafer.* ops are no ONNX ops
    for (const std::string& op : graph::supported_ops())
      if (op.rfind("wafer.", 0) != 0) onnx_ops.push_back(op);
    return make_error("{}: ops Wafer does not support (all are listed; supported: {}):{}", path,
                      fmt::join(onnx_ops, ", "), missing);
  }
  auto g = build_graph(model->graph(), options, r.constant_nodes);
  if (!g) return g.status().with_context(path);
  // Folding first: it infers shapes on its way, so a shape computed by a chain of constants
  // and Shape nodes (torch's reshapes and expands) is known before the node that needs it.
  if (options.fold_constants) {
    auto folded = graph::fold_constants(*g);
    if (!folded) return folded.status().with_context(path);
    r.folded = *folded;
  }
  WAFER_TRY(graph::infer_shapes(*g).with_context(path));
  WAFER_TRY(compare_shapes(model->graph(), *g).with_context(path));
  WAFER_TRY(graph::verify(*g).with_context(path));
  return g;
}

Expected<std::vector<std::string>> model_inputs(const std::string& path) {
  auto model = read_model(path);
  if (!model) return model.status();
  std::set<std::string> initializers;
  for (const onnx::TensorProto& init : model->graph().initializer()) initializers.insert(init.name());
  std::vector<std::string> names;
  for (const onnx::ValueInfoProto& in : model->graph().input())
    if (!initializers.count(in.name())) names.push_back(in.name());
  return names;
}

Expected<graph::Tensor> read_tensor_pb(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error("{}: cannot open the file", path);
  onnx::TensorProto p;
  if (!p.ParseFromIstream(&in)) return make_error("{}: not a serialized ONNX TensorProto", path);
  return to_tensor(p, path);
}

}  // namespace wafer::onnx_import

// The op table and what runs it: one OpRule per op (gathered from the ops_*.cpp families),
// exposed as OpInfo rows whose infer and eval both go through the rule's one shape-and-type
// function; shape inference and verification over a whole graph; and the helpers the rules
// share (axes, NumPy broadcasting, rounding to an element type).
//
// Verification walks the nodes in order with a "defined" mark per value (inputs and constants
// start defined): every input of a node must be defined before it, every output must be
// defined by it for the first time, and the rule's shapes must equal the recorded ones.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "ops.hpp"

namespace wafer::graph {

namespace {

std::vector<OpRule> build_rules() {
  std::vector<OpRule> rows;
  add_elementwise_ops(rows);
  add_shape_ops(rows);
  add_reduce_ops(rows);
  add_nn_ops(rows);
  add_linalg_ops(rows);
  add_pad_ops(rows);
  add_fused_ops(rows);
  add_activation_ops(rows);
  std::sort(rows.begin(), rows.end(), [](const OpRule& a, const OpRule& b) { return std::string(a.name) < b.name; });
  return rows;
}

const std::vector<OpRule>& rules() {
  static const std::vector<OpRule> rows = build_rules();
  return rows;
}

Status infer_through_rule(const Node& node, Graph& g);
Status eval_through_rule(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out);

std::vector<OpInfo> build_infos() {
  std::vector<OpInfo> infos;
  for (const OpRule& r : rules())
    infos.push_back({r.name, r.min_inputs, r.max_inputs, r.min_outputs, r.max_outputs, infer_through_rule,
                     eval_through_rule});
  return infos;
}

Expected<Sig> run_sig(const OpRule& rule, const Node& node, const Args& args) {
  WAFER_TRY(check_arity(rule, node));
  Expected<Sig> sig = rule.sig(node, args);
  if (!sig) return sig.status().with_context(node_label(node));
  if (sig->size() != node.outputs.size())
    return make_error("{}: has {} outputs, the op gives {}", node_label(node), node.outputs.size(), sig->size());
  return sig;
}

Status infer_through_rule(const Node& node, Graph& g) {
  const OpRule* rule = find_rule(node.op);
  if (!rule) return make_error("{}: unsupported op", node_label(node));
  Expected<Sig> sig = run_sig(*rule, node, graph_args(node, g));
  if (!sig) return sig.status();
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    if (node.outputs[i] < 0) continue;
    g.values[node.outputs[i]].type = (*sig)[i].type;
    g.values[node.outputs[i]].shape = (*sig)[i].shape;
  }
  return Status::ok();
}

Status eval_through_rule(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const OpRule* rule = find_rule(node.op);
  if (!rule) return make_error("{}: unsupported op", node_label(node));
  std::vector<std::string> names;
  for (size_t i = 0; i < in.size(); ++i) names.push_back(fmt::format("#{}", i));
  return evaluate_node(*rule, node, in, names, out);
}

std::string value_label(const Graph& g, int id) {
  return id >= 0 && id < int(g.values.size()) ? fmt::format("'{}'", g.values[id].name) : fmt::format("#{}", id);
}

Status verify_ids(const Graph& g, const Node& node) {
  for (int id : node.inputs)
    if (id < -1 || id >= int(g.values.size()))
      return make_error("{}: input id {} is out of range (the graph has {} values)", node_label(node), id,
                        g.values.size());
  for (int id : node.outputs)
    if (id < 0 || id >= int(g.values.size()))
      return make_error("{}: output id {} is out of range (the graph has {} values)", node_label(node), id,
                        g.values.size());
  return Status::ok();
}

Status verify_node(const Graph& g, const Node& node, std::vector<char>& defined) {
  WAFER_TRY(verify_ids(g, node));
  const OpRule* rule = find_rule(node.op);
  if (!rule) return make_error("{}: unsupported op", node_label(node));
  for (int id : node.inputs)
    if (id >= 0 && !defined[id])
      return make_error("{}: input {} is used before it is defined", node_label(node), value_label(g, id));
  Expected<Sig> sig = run_sig(*rule, node, graph_args(node, g));
  if (!sig) return sig.status();
  for (size_t i = 0; i < node.outputs.size(); ++i) {
    const Value& v = g.values[node.outputs[i]];
    if (defined[node.outputs[i]])
      return make_error("{}: output '{}' is already defined", node_label(node), v.name);
    defined[node.outputs[i]] = 1;
    const OutSig& want = (*sig)[i];
    if (v.type != want.type || v.shape != want.shape)
      return make_error("{}: output '{}' is recorded as {}{} but the op gives {}{}", node_label(node), v.name,
                        elem_name(v.type), shape_text(v.shape), elem_name(want.type), shape_text(want.shape));
  }
  return Status::ok();
}

}  // namespace

const std::vector<OpInfo>& op_table() {
  static const std::vector<OpInfo> infos = build_infos();
  return infos;
}

const OpInfo* find_op(const std::string& name) {
  for (const OpInfo& info : op_table())
    if (name == info.name) return &info;
  return nullptr;
}

const OpRule* find_rule(const std::string& op) {
  for (const OpRule& r : rules())
    if (op == r.name) return &r;
  return nullptr;
}

std::vector<std::string> supported_ops() {
  std::vector<std::string> names;
  for (const OpRule& r : rules()) names.push_back(r.name);
  return names;
}

std::string node_label(const Node& node) { return fmt::format("node '{}' ({})", node.name, node.op); }

Status check_arity(const OpRule& rule, const Node& node) {
  int n_in = int(node.inputs.size()), n_out = int(node.outputs.size());
  if (n_in < rule.min_inputs || (rule.max_inputs >= 0 && n_in > rule.max_inputs)) {
    std::string want = rule.max_inputs < 0 ? fmt::format("at least {}", rule.min_inputs)
                       : rule.min_inputs == rule.max_inputs
                           ? fmt::format("{}", rule.min_inputs)
                           : fmt::format("{} to {}", rule.min_inputs, rule.max_inputs);
    return make_error("{}: takes {} inputs, got {}", node_label(node), want, n_in);
  }
  if (n_out < rule.min_outputs || n_out > rule.max_outputs) {
    std::string want = rule.min_outputs == rule.max_outputs ? fmt::format("{}", rule.min_outputs)
                                                            : fmt::format("{} to {}", rule.min_outputs, rule.max_outputs);
    return make_error("{}: gives {} outputs, got {}", node_label(node), want, n_out);
  }
  for (int i = 0; i < rule.min_inputs; ++i)
    if (node.inputs[i] < 0) return make_error("{}: input {} is required but omitted", node_label(node), i);
  return Status::ok();
}

Args graph_args(const Node& node, const Graph& g) {
  Args args;
  for (int id : node.inputs) {
    Arg a;
    if (id >= 0 && id < int(g.values.size())) {
      const Value& v = g.values[id];
      a = {true, v.type, &v.shape, v.constant ? &*v.constant : nullptr, v.name};
    }
    args.push_back(std::move(a));
  }
  return args;
}

Status evaluate_node(const OpRule& rule, const Node& node, const std::vector<const Tensor*>& in,
                     const std::vector<std::string>& names, std::vector<Tensor>& out) {
  Args args;
  for (size_t i = 0; i < in.size(); ++i) {
    Arg a;
    if (in[i]) a = {true, in[i]->type, &in[i]->shape, in[i], names[i]};
    args.push_back(std::move(a));
  }
  Expected<Sig> sig = run_sig(rule, node, args);
  if (!sig) return sig.status();
  out.clear();
  for (const OutSig& s : *sig) out.push_back(make_tensor(s.type, s.shape));
  return rule.compute(node, in, out).with_context(node_label(node));
}

Status infer_shapes(Graph& g) {
  for (const Node& node : g.nodes) {
    const OpRule* rule = find_rule(node.op);
    if (!rule) return make_error("{}: unsupported op", node_label(node));
    WAFER_TRY(verify_ids(g, node));
    WAFER_TRY(infer_through_rule(node, g));
  }
  return Status::ok();
}

Status verify(const Graph& g) {
  std::vector<char> defined(g.values.size(), 0);
  for (int id : g.inputs) {
    if (id < 0 || id >= int(g.values.size())) return make_error("graph input id {} is out of range", id);
    defined[id] = 1;
  }
  for (size_t i = 0; i < g.values.size(); ++i)
    if (g.values[i].constant) defined[i] = 1;
  for (const Node& node : g.nodes) WAFER_TRY(verify_node(g, node, defined));
  for (int id : g.outputs) {
    if (id < 0 || id >= int(g.values.size())) return make_error("graph output id {} is out of range", id);
    if (!defined[id]) return make_error("graph output '{}' is never defined", g.values[id].name);
  }
  return Status::ok();
}

// --- helpers for rules ---

Expected<const Tensor*> need_data(const Args& in, int i, const char* role) {
  if (i >= int(in.size()) || !in[i].present) return make_error("input {} ({}) is omitted", i, role);
  if (!in[i].data)
    return make_error("dynamic shape: input {} '{}' ({}) is not a constant", i, in[i].name, role);
  return in[i].data;
}

std::vector<int64_t> as_ints(const Tensor& t) {
  std::vector<int64_t> v;
  constexpr double kLimit = double(int64_t(1) << 62);  // beyond any dimension; INT64_MAX ends clamp here
  for (double x : t.values) v.push_back(int64_t(std::clamp(x, -kLimit, kLimit)));
  return v;
}

Expected<int64_t> normalize_axis(int64_t axis, int64_t rank, const char* what) {
  if (axis < -rank || axis >= rank)
    return make_error("{} {} is out of range for rank {}", what, axis, rank);
  return axis < 0 ? axis + rank : axis;
}

Expected<int64_t> axis_attr(const Node& node, int64_t rank, std::optional<int64_t> fallback) {
  Expected<int64_t> axis = node.attr_int("axis", fallback);
  if (!axis) return axis.status();
  return normalize_axis(*axis, rank, "attribute 'axis'");
}

Expected<Shape> broadcast_shapes(const Shape& a, const Shape& b, const std::string& a_name,
                                 const std::string& b_name) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return make_error("cannot broadcast input '{}' {} with input '{}' {}", a_name, shape_text(a), b_name,
                        shape_text(b));
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> strides_of(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (int i = int(s.size()) - 2; i >= 0; --i) st[i] = st[i + 1] * s[i + 1];
  return st;
}

std::vector<int64_t> broadcast_offsets(const Shape& in, const Shape& out) {
  size_t rank = out.size(), lead = rank - in.size();
  std::vector<int64_t> in_strides = strides_of(in), step(rank, 0);
  for (size_t i = lead; i < rank; ++i) step[i] = in[i - lead] == 1 ? 0 : in_strides[i - lead];
  std::vector<int64_t> offsets(element_count(out)), index(rank, 0);
  int64_t offset = 0;
  for (int64_t& o : offsets) {
    o = offset;
    for (int d = int(rank) - 1; d >= 0; --d) {
      offset += step[d];
      if (++index[d] < out[d]) break;
      offset -= step[d] * out[d];
      index[d] = 0;
    }
  }
  return offsets;
}

double round_to_elem(ElemType t, double v) {
  switch (t) {
    case ElemType::f32: return decode_value(DType::f32, encode_value(DType::f32, v));
    case ElemType::f16: return decode_value(DType::f16, encode_value(DType::f16, v));
    case ElemType::bf16: return decode_value(DType::bf16, encode_value(DType::bf16, v));
    case ElemType::f64: return v;
    case ElemType::boolean: return v != 0 ? 1 : 0;
    default: return std::isfinite(v) ? std::trunc(v) : 0;
  }
}

Tensor make_tensor(ElemType t, Shape shape) {
  Tensor r;
  r.type = t;
  r.values.assign(size_t(element_count(shape)), 0.0);
  r.shape = std::move(shape);
  return r;
}

Status check_same_type(const Args& in, size_t from) {
  const Arg* first = nullptr;
  for (size_t i = from; i < in.size(); ++i) {
    if (!in[i].present) continue;
    if (!first) first = &in[i];
    else if (in[i].type != first->type)
      return make_error("input '{}' is {} but input '{}' is {}", first->name, elem_name(first->type), in[i].name,
                        elem_name(in[i].type));
  }
  return Status::ok();
}

}  // namespace wafer::graph

// Element-wise ops: unary maps (Sqrt, Erf, Relu, Not...), binary and n-ary ops with
// multidirectional NumPy broadcasting (Add, Pow, Equal, Less, Where, Max...), Cast, Identity and
// inference-time Dropout (an identity; its optional mask output is all true).
//
// A broadcasting op's output shape is the broadcast of every input's shape; each input is then
// read through broadcast_offsets (the flat index of the input element that each output
// element reads), so one loop serves every combination of shapes. Integer results (Div on
// i64) are truncated toward zero as ONNX's integer division does; Cast rounds to the target
// type (floats to nearest even, integers toward zero, bool to 0/1).
#include <algorithm>
#include <cmath>

#include "ops.hpp"

namespace wafer::graph {

Expected<Sig> same_as_input(const Node&, const Args& in) { return Sig{{in[0].type, *in[0].shape}}; }

namespace {

using In = const std::vector<const Tensor*>&;
using Out = std::vector<Tensor>&;

Expected<Shape> broadcast_all(const Args& in) {
  Shape shape = *in[0].shape;
  std::string name = in[0].name;
  for (size_t i = 1; i < in.size(); ++i) {
    Expected<Shape> s = broadcast_shapes(shape, *in[i].shape, name, in[i].name);
    if (!s) return s.status();
    shape = *s;
    name = in[i].name;
  }
  return shape;
}

// Broadcasting ops whose inputs share one type and whose output has it (`bool_out`: bool).
Expected<Sig> broadcast_sig(const Args& in, int first, bool bool_out) {
  WAFER_TRY(check_same_type(in, size_t(first)));
  Expected<Shape> shape = broadcast_all(in);
  if (!shape) return shape.status();
  return Sig{{bool_out ? ElemType::boolean : in[first].type, *shape}};
}

Expected<Sig> arith_sig(const Node&, const Args& in) { return broadcast_sig(in, 0, false); }
Expected<Sig> compare_sig(const Node&, const Args& in) { return broadcast_sig(in, 0, true); }
Expected<Sig> where_sig(const Node&, const Args& in) { return broadcast_sig(in, 1, false); }

Expected<Sig> pow_sig(const Node&, const Args& in) {
  Expected<Shape> shape = broadcast_all(in);
  if (!shape) return shape.status();
  return Sig{{in[0].type, *shape}};
}

// out = f(a, b) with both inputs broadcast to the output; integer results are truncated.
Status map_binary(In in, Out out, double (*f)(double, double)) {
  Tensor& y = out[0];
  std::vector<int64_t> ia = broadcast_offsets(in[0]->shape, y.shape), ib = broadcast_offsets(in[1]->shape, y.shape);
  bool integer = !elem_is_float(y.type);
  for (size_t i = 0; i < y.values.size(); ++i) {
    double v = f(in[0]->values[ia[i]], in[1]->values[ib[i]]);
    y.values[i] = integer ? round_to_elem(y.type, v) : v;
  }
  return Status::ok();
}

// Max and Min over any number of inputs: fold pairwise into the output.
Status fold_nary(In in, Out out, double (*f)(double, double)) {
  Tensor& y = out[0];
  std::vector<int64_t> i0 = broadcast_offsets(in[0]->shape, y.shape);
  for (size_t i = 0; i < y.values.size(); ++i) y.values[i] = in[0]->values[i0[i]];
  for (size_t k = 1; k < in.size(); ++k) {
    std::vector<int64_t> ik = broadcast_offsets(in[k]->shape, y.shape);
    for (size_t i = 0; i < y.values.size(); ++i) y.values[i] = f(y.values[i], in[k]->values[ik[i]]);
  }
  return Status::ok();
}

Status compute_where(const Node&, In in, Out out) {
  Tensor& y = out[0];
  std::vector<int64_t> ic = broadcast_offsets(in[0]->shape, y.shape), ix = broadcast_offsets(in[1]->shape, y.shape),
                       iy = broadcast_offsets(in[2]->shape, y.shape);
  for (size_t i = 0; i < y.values.size(); ++i)
    y.values[i] = in[0]->values[ic[i]] != 0 ? in[1]->values[ix[i]] : in[2]->values[iy[i]];
  return Status::ok();
}

Expected<Sig> cast_sig(const Node& node, const Args& in) {
  Expected<int64_t> to = node.attr_int("to");
  if (!to) return to.status();
  std::optional<ElemType> t = elem_from_onnx(*to);
  if (!t) return make_error("attribute 'to' = {} is not a supported element type", *to);
  return Sig{{*t, *in[0].shape}};
}

Status compute_cast(const Node&, In in, Out out) {
  for (size_t i = 0; i < in[0]->values.size(); ++i) out[0].values[i] = round_to_elem(out[0].type, in[0]->values[i]);
  return Status::ok();
}

Status compute_identity(const Node&, In in, Out out) {
  out[0].values = in[0]->values;
  return Status::ok();
}

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

Expected<Sig> dropout_sig(const Node& node, const Args& in) {
  Sig sig = {{in[0].type, *in[0].shape}, {ElemType::boolean, *in[0].shape}};
  sig.resize(std::min<size_t>(node.outputs.size(), 2));
  return sig;
}

Status compute_dropout(const Node& node, In in, Out out) {
  if (in.size() > 2 && in[2] && in[2]->size() == 1 && in[2]->values[0] != 0)
    return make_error("training_mode is not supported (inference only)");
  out[0].values = in[0]->values;
  if (out.size() > 1) std::fill(out[1].values.begin(), out[1].values.end(), 1.0);
  return Status::ok();
}

}  // namespace

void add_elementwise_ops(std::vector<OpRule>& rows) {
  std::vector<OpRule> add = {
      {"Sqrt", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return std::sqrt(x); }); }},
      {"Reciprocal", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return 1 / x; }); }},
      {"Neg", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return -x; }); }},
      {"Abs", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return std::fabs(x); }); }},
      {"Erf", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return std::erf(x); }); }},
      {"Tanh", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return std::tanh(x); }); }},
      {"Exp", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return std::exp(x); }); }},
      {"Sigmoid", 1, 1, 1, 1, same_as_input, [](const Node&, In in, Out out) { return map_unary(in, out, sigmoid); }},
      {"Relu", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return x > 0 ? x : 0.0; }); }},
      {"Sin", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return std::sin(x); }); }},
      {"Cos", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return std::cos(x); }); }},
      {"Log", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return std::log(x); }); }},
      {"Not", 1, 1, 1, 1, same_as_input,
       [](const Node&, In in, Out out) { return map_unary(in, out, [](double x) { return x == 0 ? 1.0 : 0.0; }); }},
      {"Identity", 1, 1, 1, 1, same_as_input, compute_identity},
      {"Dropout", 1, 3, 1, 2, dropout_sig, compute_dropout},
      {"Cast", 1, 1, 1, 1, cast_sig, compute_cast},
      {"Add", 2, 2, 1, 1, arith_sig,
       [](const Node&, In in, Out out) { return map_binary(in, out, [](double a, double b) { return a + b; }); }},
      {"Sub", 2, 2, 1, 1, arith_sig,
       [](const Node&, In in, Out out) { return map_binary(in, out, [](double a, double b) { return a - b; }); }},
      {"Mul", 2, 2, 1, 1, arith_sig,
       [](const Node&, In in, Out out) { return map_binary(in, out, [](double a, double b) { return a * b; }); }},
      {"Div", 2, 2, 1, 1, arith_sig,
       [](const Node&, In in, Out out) { return map_binary(in, out, [](double a, double b) { return a / b; }); }},
      {"Pow", 2, 2, 1, 1, pow_sig,
       [](const Node&, In in, Out out) {
         return map_binary(in, out, [](double a, double b) { return std::pow(a, b); });
       }},
      {"Equal", 2, 2, 1, 1, compare_sig,
       [](const Node&, In in, Out out) {
         return map_binary(in, out, [](double a, double b) { return a == b ? 1.0 : 0.0; });
       }},
      {"Less", 2, 2, 1, 1, compare_sig,
       [](const Node&, In in, Out out) {
         return map_binary(in, out, [](double a, double b) { return a < b ? 1.0 : 0.0; });
       }},
      {"Greater", 2, 2, 1, 1, compare_sig,
       [](const Node&, In in, Out out) {
         return map_binary(in, out, [](double a, double b) { return a > b ? 1.0 : 0.0; });
       }},
      {"Max", 1, -1, 1, 1, arith_sig,
       [](const Node&, In in, Out out) {
         return fold_nary(in, out, [](double a, double b) { return std::isnan(a) || a >= b ? a : b; });
       }},
      {"Min", 1, -1, 1, 1, arith_sig,
       [](const Node&, In in, Out out) {
         return fold_nary(in, out, [](double a, double b) { return std::isnan(a) || a <= b ? a : b; });
       }},
      {"Where", 3, 3, 1, 1, where_sig, compute_where},
  };
  rows.insert(rows.end(), add.begin(), add.end());
}

}  // namespace wafer::graph

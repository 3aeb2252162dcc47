// The fused ops that the fusion passes (passes.cpp) produce, each standing for one exported
// chain that a backend lowers to one kernel:
//   wafer.Gelu (X) {approximate "none" | "tanh"}  0.5·x·(1 + erf(x/√2)), or
//                                                 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
//   wafer.Silu (X)                                x·sigmoid(x)
//   wafer.RMSNorm (X, gamma) {axis -1, epsilon}   x / sqrt(mean(x², last axis) + epsilon) · gamma
//   wafer.MatMulAdd (A, B, bias)                  A·B + bias; B [K, N], bias [N], A [..., M, K]
//   wafer.Rope (X, cos, sin)                      X·cos + rotate_half(X)·sin, rotate_half(X) =
//                                                 [-X2, X1] for X's last axis in halves X1 | X2;
//                                                 cos and sin broadcast to X
//   wafer.Attention (Q, Kt, V, [mask]) {scale, mask_mode "add" | "fill", fill}
//       softmax(scale·Q·Kt ⊕ mask, last axis)·V with Q [..., S, D], Kt [..., D, T] (K already
//       transposed, as the exported graphs compute it), V [..., T, Dv]; ⊕ adds a float mask
//       ("add") or sets the scores where a bool mask is true to `fill` ("fill"; default -inf,
//       masked_fill(mask, -1e9) gives -1e9)
//
// The reference evaluation computes in double in the order the exported chain does, so the
// graph evaluates to the same outputs (to a few ulps) before and after fusion. GELU's
// irrational constants (√2, √(2/π)) and 0.044715 are taken as X's element type holds them,
// which is what the exported chain's constants are (torch writes them as f32 literals) and
// what a kernel of that type computes with. MatMulAdd runs MatMul's own rule, then adds the
// bias, so its products are summed in MatMul's order; Attention likewise runs the MatMul and
// Softmax rules around its scale and mask.
#include <cmath>
#include <numbers>

#include "ops.hpp"

namespace wafer::graph {

namespace {

using In = const std::vector<const Tensor*>&;
using Out = std::vector<Tensor>&;

Status check_float(const Args& in) {
  if (!elem_is_float(in[0].type))
    return make_error("input '{}' is {}, expected a float type", in[0].name, elem_name(in[0].type));
  return Status::ok();
}

Expected<Sig> unary_float_sig(const Node&, const Args& in) {
  WAFER_TRY(check_float(in));
  return Sig{{in[0].type, *in[0].shape}};
}

// --- wafer.Gelu ---

Expected<bool> gelu_uses_tanh(const Node& node) {
  Expected<std::string> approximate = node.attr_string("approximate", "none");
  if (!approximate) return approximate.status();
  if (*approximate != "none" && *approximate != "tanh")
    return make_error("attribute 'approximate' is '{}', expected 'none' or 'tanh'", *approximate);
  return *approximate == "tanh";
}

Expected<Sig> gelu_sig(const Node& node, const Args& in) {
  Expected<bool> tanh_form = gelu_uses_tanh(node);
  if (!tanh_form) return tanh_form.status();
  return unary_float_sig(node, in);
}

Status compute_gelu(const Node& node, In in, Out out) {
  const bool tanh_form = *gelu_uses_tanh(node);
  const ElemType t = in[0]->type;
  const double sqrt2 = round_to_elem(t, std::numbers::sqrt2);
  const double sqrt_2_over_pi = round_to_elem(t, std::sqrt(2 / std::numbers::pi));
  const double cubic = round_to_elem(t, 0.044715);
  const std::vector<double>& x = in[0]->values;
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    const double gate = tanh_form ? 1 + std::tanh(sqrt_2_over_pi * (v + cubic * (v * (v * v))))
                                  : 1 + std::erf(v / sqrt2);
    out[0].values[i] = v * gate * 0.5;
  }
  return Status::ok();
}

// --- wafer.Silu ---

Status compute_silu(const Node&, In in, Out out) {
  const std::vector<double>& x = in[0]->values;
  for (size_t i = 0; i < x.size(); ++i) out[0].values[i] = x[i] * (1 / (1 + std::exp(-x[i])));
  return Status::ok();
}

// --- wafer.RMSNorm ---

// The input's size along the normalized (last) axis; `axis` must name it.
Expected<int64_t> rms_norm_width(const Node& node, const Shape& x) {
  Expected<int64_t> axis = axis_attr(node, int64_t(x.size()), -1);
  if (!axis) return axis.status();
  if (*axis != int64_t(x.size()) - 1)
    return make_error("attribute 'axis' is {}, only the last axis ({}) is supported", *axis, x.size() - 1);
  return x.back();
}

Expected<Sig> rms_norm_sig(const Node& node, const Args& in) {
  WAFER_TRY(check_float(in));
  WAFER_TRY(check_same_type(in));
  if (in[0].shape->empty()) return make_error("input '{}' is a scalar", in[0].name);
  Expected<int64_t> width = rms_norm_width(node, *in[0].shape);
  if (!width) return width.status();
  if (*in[1].shape != Shape{*width})
    return make_error("input '{}' (gamma) is {}, expected [{}] (the last axis of '{}')", in[1].name,
                      shape_text(*in[1].shape), *width, in[0].name);
  Expected<double> eps = node.attr_float("epsilon");
  if (!eps) return eps.status();
  return Sig{{in[0].type, *in[0].shape}};
}

Status compute_rms_norm(const Node& node, In in, Out out) {
  const Tensor& x = *in[0];
  const double eps = *node.attr_float("epsilon");
  const int64_t width = x.shape.back(), rows = width == 0 ? 0 : x.size() / width;
  const std::vector<double>& gamma = in[1]->values;
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = x.values.data() + r * width;
    double sum_squares = 0;
    for (int64_t j = 0; j < width; ++j) sum_squares += row[j] * row[j];
    const double inv_rms = 1 / std::sqrt(sum_squares / double(width) + eps);
    for (int64_t j = 0; j < width; ++j) out[0].values[r * width + j] = row[j] * inv_rms * gamma[j];
  }
  return Status::ok();
}

// A stand-in node for running another op's rule inside a fused op (only arity and attributes
// matter to a rule; the ids are placeholders).
Node inner_node(const Node& fused, const char* op, int inputs, std::map<std::string, Attr> attrs = {}) {
  return Node{fused.name, op, std::vector<int>(size_t(inputs), 0), {0}, std::move(attrs)};
}

// --- wafer.MatMulAdd ---

Expected<Sig> matmul_add_sig(const Node&, const Args& in) {
  WAFER_TRY(check_float(in));
  WAFER_TRY(check_same_type(in));
  const Shape &a = *in[0].shape, &b = *in[1].shape, &bias = *in[2].shape;
  if (a.size() < 2)
    return make_error("input '{}' {} has rank {}, expected at least 2", in[0].name, shape_text(a), a.size());
  if (b.size() != 2 || b[0] != a.back())
    return make_error("input '{}' is {}, expected [{}, N] for input '{}' {}", in[1].name, shape_text(b), a.back(),
                      in[0].name, shape_text(a));
  if (bias != Shape{b[1]})
    return make_error("input '{}' (bias) is {}, expected [{}]", in[2].name, shape_text(bias), b[1]);
  Shape out = a;
  out.back() = b[1];
  return Sig{{in[0].type, out}};
}

Status compute_matmul_add(const Node& node, In in, Out out) {
  std::vector<Tensor> product;
  WAFER_TRY(evaluate_node(*find_rule("MatMul"), inner_node(node, "MatMul", 2), {in[0], in[1]}, {"A", "B"}, product));
  const std::vector<double>& bias = in[2]->values;
  const size_t n = bias.size();
  for (size_t i = 0; i < product[0].values.size(); ++i) out[0].values[i] = product[0].values[i] + bias[i % n];
  return Status::ok();
}

// --- wafer.Attention ---

Expected<bool> attention_fills(const Node& node) {
  Expected<std::string> mode = node.attr_string("mask_mode", "add");
  if (!mode) return mode.status();
  if (*mode != "add" && *mode != "fill")
    return make_error("attribute 'mask_mode' is '{}', expected 'add' or 'fill'", *mode);
  return *mode == "fill";
}

Expected<Sig> attention_sig(const Node& node, const Args& in) {
  WAFER_TRY(check_float(in));
  WAFER_TRY(check_same_type({in[0], in[1], in[2]}));
  Expected<double> scale = node.attr_float("scale");
  if (!scale) return scale.status();
  Expected<bool> fills = attention_fills(node);
  if (!fills) return fills.status();
  const OpRule& matmul = *find_rule("MatMul");
  Expected<Sig> scores = matmul.sig(inner_node(node, "MatMul", 2), {in[0], in[1]});
  if (!scores) return scores.status();
  Arg scores_arg{true, in[0].type, &(*scores)[0].shape, nullptr, "scores"};
  if (in.size() > 3 && in[3].present) {
    const ElemType want = *fills ? ElemType::boolean : in[0].type;
    if (in[3].type != want)
      return make_error("input '{}' (mask) is {}, expected {} for mask_mode '{}'", in[3].name, elem_name(in[3].type),
                        elem_name(want), *fills ? "fill" : "add");
    Expected<Shape> b = broadcast_shapes((*scores)[0].shape, *in[3].shape, "scores", in[3].name);
    if (!b) return b.status();
    if (*b != (*scores)[0].shape)
      return make_error("input '{}' (mask) {} does not broadcast to the scores {}", in[3].name,
                        shape_text(*in[3].shape), shape_text((*scores)[0].shape));
  }
  return matmul.sig(inner_node(node, "MatMul", 2), {scores_arg, in[2]});
}

Expected<Sig> rope_sig(const Node&, const Args& in) {
  WAFER_TRY(check_float(in));
  WAFER_TRY(check_same_type(in));
  const Shape& x = *in[0].shape;
  if (x.empty() || x.back() % 2 != 0)
    return make_error("input '{}' is {}: the last axis must have an even length", in[0].name, shape_text(x));
  for (int i = 1; i < 3; ++i) {
    const Shape& t = *in[size_t(i)].shape;
    bool fits = t.size() <= x.size();
    for (size_t k = 0; fits && k < t.size(); ++k) {
      const int64_t dim = t[t.size() - 1 - k];
      fits = dim == 1 || dim == x[x.size() - 1 - k];
    }
    if (!fits || t.empty() || t.back() != x.back())
      return make_error("input '{}' ({}) is {}, which does not broadcast to '{}' {}", in[size_t(i)].name,
                        i == 1 ? "cos" : "sin", shape_text(t), in[0].name, shape_text(x));
  }
  return Sig{{in[0].type, x}};
}

Status compute_rope(const Node&, In in, Out out) {
  const Tensor& x = *in[0];
  const std::vector<int64_t> cos_at = broadcast_offsets(in[1]->shape, x.shape);
  const std::vector<int64_t> sin_at = broadcast_offsets(in[2]->shape, x.shape);
  const int64_t d = x.shape.back(), half = d / 2;
  for (size_t i = 0; i < x.values.size(); ++i) {
    const int64_t c = int64_t(i) % d;
    const double rotated = c < half ? -x.values[i + size_t(half)] : x.values[i - size_t(half)];
    out[0].values[i] = x.values[i] * in[1]->values[size_t(cos_at[i])] + rotated * in[2]->values[size_t(sin_at[i])];
  }
  return Status::ok();
}

Status compute_attention(const Node& node, In in, Out out) {
  const bool fills = *attention_fills(node);
  const double scale = *node.attr_float("scale"), fill = node.attr_float("fill", -INFINITY).value_or(-INFINITY);
  std::vector<Tensor> scores, probs, result;
  WAFER_TRY(evaluate_node(*find_rule("MatMul"), inner_node(node, "MatMul", 2), {in[0], in[1]}, {"Q", "Kt"}, scores));
  Tensor& s = scores[0];
  const Tensor* mask = in.size() > 3 ? in[3] : nullptr;
  std::vector<int64_t> at = mask ? broadcast_offsets(mask->shape, s.shape) : std::vector<int64_t>{};
  for (size_t i = 0; i < s.values.size(); ++i) {
    s.values[i] *= scale;
    if (!mask) continue;
    const double m = mask->values[size_t(at[i])];
    s.values[i] = fills ? (m != 0 ? fill : s.values[i]) : s.values[i] + m;
  }
  WAFER_TRY(evaluate_node(*find_rule("Softmax"), inner_node(node, "Softmax", 1, {{"axis", int64_t(-1)}}), {&s},
                          {"scores"}, probs));
  WAFER_TRY(evaluate_node(*find_rule("MatMul"), inner_node(node, "MatMul", 2), {&probs[0], in[2]}, {"P", "V"},
                          result));
  out[0].values = std::move(result[0].values);
  return Status::ok();
}

}  // namespace

void add_fused_ops(std::vector<OpRule>& rows) {
  std::vector<OpRule> add = {
      {"wafer.Gelu", 1, 1, 1, 1, gelu_sig, compute_gelu},
      {"wafer.Silu", 1, 1, 1, 1, unary_float_sig, compute_silu},
      {"wafer.RMSNorm", 2, 2, 1, 1, rms_norm_sig, compute_rms_norm},
      {"wafer.MatMulAdd", 3, 3, 1, 1, matmul_add_sig, compute_matmul_add},
      {"wafer.Rope", 3, 3, 1, 1, rope_sig, compute_rope},
      {"wafer.Attention", 3, 4, 1, 1, attention_sig, compute_attention},
  };
  rows.insert(rows.end(), add.begin(), add.end());
}

}  // namespace wafer::graph

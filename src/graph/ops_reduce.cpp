// Reductions and normalisations: ReduceSum, ReduceMean (axes as an attribute or as input 1,
// keepdims, noop_with_empty_axes), Softmax and LogSoftmax along one axis (opset 13) and LayerNormalization
// (opset 17: over the axes from `axis` on, scale and bias broadcast to them, optional Mean and
// InvStdDev outputs).
//
// A reduction maps every input element to the output element of its keepdims shape (the
// reduced axes set to 1) through broadcast_offsets, so any set of axes is one loop. Softmax
// subtracts the row's maximum before exponentiating; LayerNormalization uses the two-pass
// mean and variance, as the ONNX reference does.
#include <algorithm>
#include <cmath>

#include "ops.hpp"

namespace wafer::graph {

namespace {

using In = const std::vector<const Tensor*>&;
using Out = std::vector<Tensor>&;

// Which axes a reduction reduces: `reduce[d]` per axis; all of them for empty axes unless
// noop_with_empty_axes.
Expected<std::vector<char>> reduced_axes(const Node& node, const Shape& s, const Tensor* axes_input) {
  std::vector<int64_t> axes;
  if (axes_input) {
    axes = as_ints(*axes_input);
  } else {
    Expected<std::vector<int64_t>> a = node.attr_ints("axes", std::vector<int64_t>{});
    if (!a) return a.status();
    axes = *a;
  }
  Expected<int64_t> noop = node.attr_int("noop_with_empty_axes", 0);
  if (!noop) return noop.status();
  std::vector<char> reduce(s.size(), axes.empty() && !*noop);
  for (int64_t a : axes) {
    Expected<int64_t> d = normalize_axis(a, int64_t(s.size()), "axis");
    if (!d) return d.status();
    reduce[*d] = 1;
  }
  return reduce;
}

Shape kept_shape(const Shape& s, const std::vector<char>& reduce) {
  Shape k = s;
  for (size_t d = 0; d < s.size(); ++d)
    if (reduce[d]) k[d] = 1;
  return k;
}

Expected<Sig> reduce_sig(const Node& node, const Args& in) {
  const Tensor* axes = nullptr;
  if (in.size() > 1 && in[1].present) {
    Expected<const Tensor*> t = need_data(in, 1, "axes");
    if (!t) return t.status();
    axes = *t;
  }
  const Shape& s = *in[0].shape;
  auto reduce = reduced_axes(node, s, axes);
  if (!reduce) return reduce.status();
  Expected<int64_t> keepdims = node.attr_int("keepdims", 1);
  if (!keepdims) return keepdims.status();
  Shape shape;
  for (size_t d = 0; d < s.size(); ++d)
    if (!(*reduce)[d]) shape.push_back(s[d]);
    else if (*keepdims) shape.push_back(1);
  return Sig{{in[0].type, shape}};
}

Status compute_reduce(const Node& node, In in, Out out, bool mean) {
  const Tensor& x = *in[0];
  auto reduce = reduced_axes(node, x.shape, in.size() > 1 ? in[1] : nullptr);
  if (!reduce) return reduce.status();
  std::vector<int64_t> to_out = broadcast_offsets(kept_shape(x.shape, *reduce), x.shape);
  for (size_t i = 0; i < to_out.size(); ++i) out[0].values[to_out[i]] += x.values[i];
  if (mean && !out[0].values.empty()) {
    double count = double(x.size()) / double(out[0].size());
    for (double& v : out[0].values) v /= count;
  }
  return Status::ok();
}

// --- Softmax ---

Expected<Sig> softmax_sig(const Node& node, const Args& in) {
  Expected<int64_t> axis = node.attr_int("axis", -1);
  if (!axis) return axis.status();
  Expected<int64_t> a = normalize_axis(*axis, int64_t(in[0].shape->size()), "attribute 'axis'");
  if (!a) return a.status();
  return Sig{{in[0].type, *in[0].shape}};
}

// Softmax, or LogSoftmax: x - max - log(sum(e^(x - max))).
Status compute_softmax(const Node& node, In in, Out out, bool log) {
  const Shape& s = in[0]->shape;
  int64_t axis = *normalize_axis(*node.attr_int("axis", -1), int64_t(s.size()), "axis");
  int64_t dim = s[axis], inner = element_count(Shape(s.begin() + axis + 1, s.end()));
  int64_t outer = dim * inner == 0 ? 0 : in[0]->size() / (dim * inner);
  const double* x = in[0]->values.data();
  double* y = out[0].values.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      int64_t base = o * dim * inner + j;
      double top = -INFINITY, sum = 0;
      for (int64_t k = 0; k < dim; ++k) top = std::max(top, x[base + k * inner]);
      for (int64_t k = 0; k < dim; ++k) sum += y[base + k * inner] = std::exp(x[base + k * inner] - top);
      for (int64_t k = 0; k < dim; ++k)
        y[base + k * inner] = log ? x[base + k * inner] - top - std::log(sum) : y[base + k * inner] / sum;
    }
  return Status::ok();
}

// --- LayerNormalization ---

Expected<Sig> layer_norm_sig(const Node& node, const Args& in) {
  const Shape& s = *in[0].shape;
  Expected<int64_t> axis = axis_attr(node, int64_t(s.size()), -1);
  if (!axis) return axis.status();
  Shape normalized(s.begin() + *axis, s.end());
  for (int i = 1; i < int(in.size()); ++i) {
    if (!in[i].present) continue;
    Expected<Shape> b = broadcast_shapes(normalized, *in[i].shape, "normalized axes of " + in[0].name, in[i].name);
    if (!b) return b.status();
    if (*b != normalized)
      return make_error("input '{}' {} does not broadcast to the normalized axes {} of input '{}'", in[i].name,
                        shape_text(*in[i].shape), shape_text(normalized), in[0].name);
  }
  Shape stats = s;
  for (size_t d = size_t(*axis); d < s.size(); ++d) stats[d] = 1;
  Sig sig = {{in[0].type, s}};
  for (size_t i = 1; i < node.outputs.size(); ++i) sig.push_back({ElemType::f32, stats});
  return sig;
}

Status compute_layer_norm(const Node& node, In in, Out out) {
  const Tensor& x = *in[0];
  int64_t axis = *normalize_axis(*node.attr_int("axis", -1), int64_t(x.shape.size()), "axis");
  Expected<double> eps = node.attr_float("epsilon", 1e-5);
  if (!eps) return eps.status();
  Shape normalized(x.shape.begin() + axis, x.shape.end());
  int64_t inner = element_count(normalized), outer = inner == 0 ? 0 : x.size() / inner;
  std::vector<int64_t> scale_at = broadcast_offsets(in[1]->shape, normalized), bias_at;
  const Tensor* bias = in.size() > 2 ? in[2] : nullptr;
  if (bias) bias_at = broadcast_offsets(bias->shape, normalized);
  for (int64_t o = 0; o < outer; ++o) {
    const double* row = x.values.data() + o * inner;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < inner; ++j) mean += row[j];
    mean /= double(inner);
    for (int64_t j = 0; j < inner; ++j) var += (row[j] - mean) * (row[j] - mean);
    double inv_std = 1 / std::sqrt(var / double(inner) + *eps);
    for (int64_t j = 0; j < inner; ++j)
      out[0].values[o * inner + j] =
          (row[j] - mean) * inv_std * in[1]->values[scale_at[j]] + (bias ? bias->values[bias_at[j]] : 0.0);
    if (out.size() > 1) out[1].values[o] = mean;
    if (out.size() > 2) out[2].values[o] = inv_std;
  }
  return Status::ok();
}

}  // namespace

void add_reduce_ops(std::vector<OpRule>& rows) {
  std::vector<OpRule> add = {
      {"ReduceSum", 1, 2, 1, 1, reduce_sig, [](const Node& n, In in, Out out) { return compute_reduce(n, in, out, false); }},
      {"ReduceMean", 1, 2, 1, 1, reduce_sig, [](const Node& n, In in, Out out) { return compute_reduce(n, in, out, true); }},
      {"Softmax", 1, 1, 1, 1, softmax_sig,
       [](const Node& n, In in, Out out) { return compute_softmax(n, in, out, false); }},
      {"LogSoftmax", 1, 1, 1, 1, softmax_sig,
       [](const Node& n, In in, Out out) { return compute_softmax(n, in, out, true); }},
      {"LayerNormalization", 2, 3, 1, 3, layer_norm_sig, compute_layer_norm},
  };
  rows.insert(rows.end(), add.begin(), add.end());
}

}  // namespace wafer::graph

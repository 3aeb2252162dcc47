// Shape and data-movement ops: Reshape, Flatten, Squeeze, Unsqueeze (the values unchanged),
// Transpose, Slice, Concat, Split, Gather, Expand, Trilu, and the value makers Constant,
// ConstantOfShape, Shape and Range.
//
// The shape-giving inputs (Reshape's shape, Slice's starts/ends/axes/steps, Unsqueeze's axes,
// Split's split, Expand's shape) must be known when shapes are inferred: the rules read them
// with need_data, which names the input when it is not a constant ("dynamic shape"). Moves are
// written as "for each output element, the flat offset of the input element it copies",
// walking the output's multi-index in row-major order.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "ops.hpp"

namespace wafer::graph {

namespace {

using In = const std::vector<const Tensor*>&;
using Out = std::vector<Tensor>&;

// Advances a row-major multi-index within `shape`.
void next_index(std::vector<int64_t>& index, const Shape& shape) {
  for (int d = int(shape.size()) - 1; d >= 0; --d) {
    if (++index[d] < shape[d]) return;
    index[d] = 0;
  }
}

Status copy_values(const Node&, In in, Out out) {
  out[0].values = in[0]->values;
  return Status::ok();
}

// --- Reshape, Flatten, Squeeze, Unsqueeze ---

Expected<Sig> reshape_sig(const Node& node, const Args& in) {
  Expected<const Tensor*> target = need_data(in, 1, "shape");
  if (!target) return target.status();
  Expected<int64_t> allowzero = node.attr_int("allowzero", 0);
  if (!allowzero) return allowzero.status();
  const Shape& from = *in[0].shape;
  Shape shape = as_ints(**target);
  int infer_at = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !*allowzero) {
      if (i >= from.size()) return make_error("shape entry {} is 0 but input '{}' has rank {}", i, in[0].name, from.size());
      shape[i] = from[i];
    }
    if (shape[i] == -1) {
      if (infer_at >= 0) return make_error("shape {} has more than one -1", shape_text(as_ints(**target)));
      infer_at = int(i);
    } else if (shape[i] < 0) {
      return make_error("shape {} has a negative entry", shape_text(as_ints(**target)));
    } else {
      known *= shape[i];
    }
  }
  int64_t count = element_count(from);
  if (infer_at >= 0 && known > 0 && count % known == 0) shape[infer_at] = count / known;
  if ((infer_at >= 0 && shape[infer_at] == -1) || element_count(shape) != count)
    return make_error("cannot reshape input '{}' {} ({} elements) to {}", in[0].name, shape_text(from), count,
                      shape_text(as_ints(**target)));
  return Sig{{in[0].type, shape}};
}

Expected<Sig> flatten_sig(const Node& node, const Args& in) {
  const Shape& s = *in[0].shape;
  int64_t rank = int64_t(s.size());
  Expected<int64_t> axis = node.attr_int("axis", 1);
  if (!axis) return axis.status();
  if (*axis < -rank || *axis > rank) return make_error("attribute 'axis' {} is out of range for rank {}", *axis, rank);
  int64_t a = *axis < 0 ? *axis + rank : *axis;
  Shape head(s.begin(), s.begin() + a), tail(s.begin() + a, s.end());
  return Sig{{in[0].type, {element_count(head), element_count(tail)}}};
}

// Axes from input 1 (opset 13+) or the `axes` attribute (older opsets); nullopt when neither.
Expected<std::optional<std::vector<int64_t>>> axes_of(const Node& node, const Args& in) {
  if (in.size() > 1 && in[1].present) {
    Expected<const Tensor*> t = need_data(in, 1, "axes");
    if (!t) return t.status();
    return std::optional<std::vector<int64_t>>(as_ints(**t));
  }
  if (node.attrs.count("axes")) {
    Expected<std::vector<int64_t>> a = node.attr_ints("axes");
    if (!a) return a.status();
    return std::optional<std::vector<int64_t>>(*a);
  }
  return std::optional<std::vector<int64_t>>();
}

// Axes made non-negative against `rank`, sorted, without repeats.
Expected<std::vector<int64_t>> normalize_axes(const std::vector<int64_t>& axes, int64_t rank) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    Expected<int64_t> n = normalize_axis(a, rank, "axis");
    if (!n) return n.status();
    out.push_back(*n);
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end())
    return make_error("axes {} repeat an axis", shape_text(axes));
  return out;
}

Expected<Sig> unsqueeze_sig(const Node& node, const Args& in) {
  auto axes = axes_of(node, in);
  if (!axes) return axes.status();
  if (!*axes) return make_error("has no axes (input 1 or attribute 'axes')");
  const Shape& s = *in[0].shape;
  auto sorted = normalize_axes(**axes, int64_t(s.size() + (*axes)->size()));
  if (!sorted) return sorted.status();
  Shape shape;
  size_t next = 0, k = 0;
  for (size_t d = 0; d < s.size() + sorted->size(); ++d) {
    if (k < sorted->size() && (*sorted)[k] == int64_t(d)) {
      shape.push_back(1);
      ++k;
    } else {
      shape.push_back(s[next++]);
    }
  }
  return Sig{{in[0].type, shape}};
}

Expected<Sig> squeeze_sig(const Node& node, const Args& in) {
  auto axes = axes_of(node, in);
  if (!axes) return axes.status();
  const Shape& s = *in[0].shape;
  std::vector<char> drop(s.size(), 0);
  if (*axes) {
    auto sorted = normalize_axes(**axes, int64_t(s.size()));
    if (!sorted) return sorted.status();
    for (int64_t a : *sorted) {
      if (s[a] != 1) return make_error("cannot squeeze axis {} of input '{}' {}: its size is not 1", a, in[0].name, shape_text(s));
      drop[a] = 1;
    }
  } else {
    for (size_t d = 0; d < s.size(); ++d) drop[d] = s[d] == 1;
  }
  Shape shape;
  for (size_t d = 0; d < s.size(); ++d)
    if (!drop[d]) shape.push_back(s[d]);
  return Sig{{in[0].type, shape}};
}

// --- Transpose ---

Expected<std::vector<int64_t>> perm_of(const Node& node, size_t rank) {
  std::vector<int64_t> reversed(rank);
  for (size_t i = 0; i < rank; ++i) reversed[i] = int64_t(rank - 1 - i);
  Expected<std::vector<int64_t>> perm = node.attr_ints("perm", reversed);
  if (!perm) return perm.status();
  std::vector<int64_t> sorted = *perm;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(rank);
  std::iota(identity.begin(), identity.end(), 0);
  if (sorted != identity) return make_error("attribute 'perm' {} is not a permutation of {} axes", shape_text(*perm), rank);
  return perm;
}

Expected<Sig> transpose_sig(const Node& node, const Args& in) {
  const Shape& s = *in[0].shape;
  auto perm = perm_of(node, s.size());
  if (!perm) return perm.status();
  Shape shape;
  for (int64_t p : *perm) shape.push_back(s[p]);
  return Sig{{in[0].type, shape}};
}

Status compute_transpose(const Node& node, In in, Out out) {
  auto perm = perm_of(node, in[0]->shape.size());
  if (!perm) return perm.status();
  std::vector<int64_t> in_strides = strides_of(in[0]->shape), step, index(perm->size(), 0);
  for (int64_t p : *perm) step.push_back(in_strides[p]);
  for (double& v : out[0].values) {
    int64_t offset = 0;
    for (size_t d = 0; d < index.size(); ++d) offset += index[d] * step[d];
    v = in[0]->values[offset];
    next_index(index, out[0].shape);
  }
  return Status::ok();
}

// --- Slice ---

// Per axis of the data: first index, step and count.
struct SliceAxis {
  int64_t start = 0, step = 1, count = 0;
};

Expected<std::vector<SliceAxis>> slice_plan(const Shape& s, const Tensor& starts, const Tensor& ends,
                                            const Tensor* axes_t, const Tensor* steps_t) {
  std::vector<int64_t> st = as_ints(starts), en = as_ints(ends);
  std::vector<int64_t> axes(st.size()), steps(st.size(), 1);
  std::iota(axes.begin(), axes.end(), 0);
  if (axes_t) axes = as_ints(*axes_t);
  if (steps_t) steps = as_ints(*steps_t);
  if (en.size() != st.size() || axes.size() != st.size() || steps.size() != st.size())
    return make_error("starts, ends, axes and steps have {}, {}, {} and {} entries", st.size(), en.size(), axes.size(),
                      steps.size());
  std::vector<SliceAxis> plan(s.size());
  for (size_t d = 0; d < s.size(); ++d) plan[d] = {0, 1, s[d]};
  for (size_t i = 0; i < st.size(); ++i) {
    Expected<int64_t> a = normalize_axis(axes[i], int64_t(s.size()), "axis");
    if (!a) return a.status();
    int64_t dim = s[*a], step = steps[i];
    if (step == 0) return make_error("step of axis {} is 0", *a);
    int64_t start = st[i] < 0 ? st[i] + dim : st[i], end = en[i] < 0 ? en[i] + dim : en[i];
    if (dim == 0) {
      start = end = 0;
    } else if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
    }
    int64_t span = step > 0 ? end - start : start - end, stride = step > 0 ? step : -step;
    plan[*a] = {start, step, std::max<int64_t>(0, (span + stride - 1) / stride)};
  }
  return plan;
}

const Tensor* optional_input(In in, size_t i) { return i < in.size() ? in[i] : nullptr; }

Expected<Sig> slice_sig(const Node&, const Args& in) {
  Expected<const Tensor*> starts = need_data(in, 1, "starts"), ends = need_data(in, 2, "ends");
  if (!starts) return starts.status();
  if (!ends) return ends.status();
  const Tensor* optional[2] = {nullptr, nullptr};
  const char* roles[2] = {"axes", "steps"};
  for (int i = 0; i < 2; ++i) {
    if (int(in.size()) <= 3 + i || !in[3 + i].present) continue;
    Expected<const Tensor*> t = need_data(in, 3 + i, roles[i]);
    if (!t) return t.status();
    optional[i] = *t;
  }
  auto plan = slice_plan(*in[0].shape, **starts, **ends, optional[0], optional[1]);
  if (!plan) return plan.status();
  Shape shape;
  for (const SliceAxis& a : *plan) shape.push_back(a.count);
  return Sig{{in[0].type, shape}};
}

Status compute_slice(const Node&, In in, Out out) {
  auto plan = slice_plan(in[0]->shape, *in[1], *in[2], optional_input(in, 3), optional_input(in, 4));
  if (!plan) return plan.status();
  std::vector<int64_t> strides = strides_of(in[0]->shape), index(plan->size(), 0);
  for (double& v : out[0].values) {
    int64_t offset = 0;
    for (size_t d = 0; d < index.size(); ++d) offset += ((*plan)[d].start + index[d] * (*plan)[d].step) * strides[d];
    v = in[0]->values[offset];
    next_index(index, out[0].shape);
  }
  return Status::ok();
}

// --- Concat, Split ---

// Elements before the axis (outer) and after it (inner).
void outer_inner(const Shape& s, int64_t axis, int64_t& outer, int64_t& inner) {
  outer = element_count(Shape(s.begin(), s.begin() + axis));
  inner = element_count(Shape(s.begin() + axis + 1, s.end()));
}

Expected<Sig> concat_sig(const Node& node, const Args& in) {
  WAFER_TRY(check_same_type(in));
  Shape shape = *in[0].shape;
  Expected<int64_t> axis = axis_attr(node, int64_t(shape.size()));
  if (!axis) return axis.status();
  for (size_t i = 1; i < in.size(); ++i) {
    const Shape& s = *in[i].shape;
    bool fits = s.size() == shape.size();
    for (size_t d = 0; fits && d < s.size(); ++d) fits = int64_t(d) == *axis || s[d] == shape[d];
    if (!fits)
      return make_error("input '{}' {} does not match input '{}' {} outside axis {}", in[i].name, shape_text(s),
                        in[0].name, shape_text(*in[0].shape), *axis);
    shape[*axis] += s[*axis];
  }
  return Sig{{in[0].type, shape}};
}

Status compute_concat(const Node& node, In in, Out out) {
  Expected<int64_t> axis = normalize_axis(*node.attr_int("axis"), int64_t(out[0].shape.size()), "axis");
  int64_t outer, inner, at = 0;
  outer_inner(out[0].shape, *axis, outer, inner);
  int64_t row = out[0].shape[*axis] * inner;
  for (const Tensor* t : in) {
    int64_t chunk = t->shape[*axis] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::copy_n(t->values.begin() + o * chunk, chunk, out[0].values.begin() + o * row + at);
    at += chunk;
  }
  return Status::ok();
}

// The sizes of Split's parts along the axis: the `split` input (or attribute, before opset
// 13), else `num_outputs` parts of ceil(dim / n) with a smaller last one (opset 18), else
// equal parts, one per output.
Expected<std::vector<int64_t>> split_sizes(const Node& node, const Args& in, int64_t dim) {
  size_t parts = node.outputs.size();
  std::vector<int64_t> sizes;
  if (in.size() > 1 && in[1].present) {
    Expected<const Tensor*> t = need_data(in, 1, "split");
    if (!t) return t.status();
    sizes = as_ints(**t);
  } else if (node.attrs.count("split")) {
    sizes = *node.attr_ints("split");
  } else {
    Expected<int64_t> n = node.attr_int("num_outputs", int64_t(parts));
    if (!n) return n.status();
    int64_t each = (dim + *n - 1) / std::max<int64_t>(*n, 1);
    if (!node.attrs.count("num_outputs") && dim % int64_t(parts) != 0)
      return make_error("axis of size {} does not split into {} equal parts", dim, parts);
    for (int64_t i = 0; i < *n; ++i) sizes.push_back(std::min(each, dim - i * each));
  }
  if (sizes.size() != parts)
    return make_error("split {} has {} parts but the node has {} outputs", shape_text(sizes), sizes.size(), parts);
  if (std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != dim ||
      std::any_of(sizes.begin(), sizes.end(), [](int64_t s) { return s < 0; }))
    return make_error("split {} does not add up to the axis size {}", shape_text(sizes), dim);
  return sizes;
}

Expected<Sig> split_sig(const Node& node, const Args& in) {
  const Shape& s = *in[0].shape;
  Expected<int64_t> axis = axis_attr(node, int64_t(s.size()), 0);
  if (!axis) return axis.status();
  auto sizes = split_sizes(node, in, s[*axis]);
  if (!sizes) return sizes.status();
  Sig sig;
  for (int64_t size : *sizes) {
    Shape part = s;
    part[*axis] = size;
    sig.push_back({in[0].type, part});
  }
  return sig;
}

Status compute_split(const Node& node, In in, Out out) {
  const Shape& s = in[0]->shape;
  int64_t axis = *normalize_axis(*node.attr_int("axis", 0), int64_t(s.size()), "axis");
  int64_t outer, inner, at = 0, row = s[axis];
  outer_inner(s, axis, outer, inner);
  row *= inner;
  for (Tensor& part : out) {
    int64_t chunk = part.shape[axis] * inner;
    for (int64_t o = 0; o < outer; ++o)
      std::copy_n(in[0]->values.begin() + o * row + at, chunk, part.values.begin() + o * chunk);
    at += chunk;
  }
  return Status::ok();
}

// --- Gather, Expand ---

Expected<Sig> gather_sig(const Node& node, const Args& in) {
  const Shape& s = *in[0].shape;
  Expected<int64_t> axis = axis_attr(node, int64_t(s.size()), 0);
  if (!axis) return axis.status();
  if (elem_is_float(in[1].type)) return make_error("indices '{}' are {}, not integers", in[1].name, elem_name(in[1].type));
  Shape shape(s.begin(), s.begin() + *axis);
  shape.insert(shape.end(), in[1].shape->begin(), in[1].shape->end());
  shape.insert(shape.end(), s.begin() + *axis + 1, s.end());
  return Sig{{in[0].type, shape}};
}

Status compute_gather(const Node& node, In in, Out out) {
  const Shape& s = in[0]->shape;
  int64_t axis = *normalize_axis(*node.attr_int("axis", 0), int64_t(s.size()), "axis");
  int64_t outer, inner, dim = s[axis];
  outer_inner(s, axis, outer, inner);
  std::vector<int64_t> indices = as_ints(*in[1]);
  auto dst = out[0].values.begin();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t index : indices) {
      if (index < -dim || index >= dim)
        return make_error("input 1 (indices): index {} is out of range for axis {} of size {}", index, axis, dim);
      int64_t k = index < 0 ? index + dim : index;
      dst = std::copy_n(in[0]->values.begin() + (o * dim + k) * inner, inner, dst);
    }
  return Status::ok();
}

Expected<Sig> expand_sig(const Node&, const Args& in) {
  Expected<const Tensor*> target = need_data(in, 1, "shape");
  if (!target) return target.status();
  Expected<Shape> shape = broadcast_shapes(*in[0].shape, as_ints(**target), in[0].name, in[1].name);
  if (!shape) return shape.status();
  return Sig{{in[0].type, *shape}};
}

Status compute_broadcast_copy(const Node&, In in, Out out) {
  std::vector<int64_t> offsets = broadcast_offsets(in[0]->shape, out[0].shape);
  for (size_t i = 0; i < offsets.size(); ++i) out[0].values[i] = in[0]->values[offsets[i]];
  return Status::ok();
}

// --- Constant, ConstantOfShape, Shape ---

// The tensor a Constant node holds, from whichever of its attributes is set.
Expected<Tensor> constant_value(const Node& node) {
  auto it = node.attrs.find("value");
  if (it != node.attrs.end()) {
    if (const Tensor* t = std::get_if<Tensor>(&it->second)) return *t;
    return make_error("attribute 'value' is not a tensor");
  }
  Tensor t;
  if (node.attrs.count("value_float")) {
    t = make_tensor(ElemType::f32, {});
    t.values[0] = *node.attr_float("value_float");
  } else if (node.attrs.count("value_int")) {
    t = make_tensor(ElemType::i64, {});
    t.values[0] = double(*node.attr_int("value_int"));
  } else if (node.attrs.count("value_ints")) {
    Expected<std::vector<int64_t>> v = node.attr_ints("value_ints");
    if (!v) return v.status();
    t = make_tensor(ElemType::i64, {int64_t(v->size())});
    std::copy(v->begin(), v->end(), t.values.begin());
  } else if (auto f = node.attrs.find("value_floats"); f != node.attrs.end()) {
    const auto* v = std::get_if<std::vector<double>>(&f->second);
    if (!v) return make_error("attribute 'value_floats' is not a list of floats");
    t = make_tensor(ElemType::f32, {int64_t(v->size())});
    t.values = *v;
  } else {
    return make_error("has none of the attributes value, value_float(s), value_int(s)");
  }
  return t;
}

Expected<Sig> constant_sig(const Node& node, const Args&) {
  Expected<Tensor> t = constant_value(node);
  if (!t) return t.status();
  return Sig{{t->type, t->shape}};
}

Status compute_constant(const Node& node, In, Out out) {
  out[0].values = constant_value(node)->values;
  return Status::ok();
}

Expected<Tensor> fill_value(const Node& node) {
  auto it = node.attrs.find("value");
  if (it == node.attrs.end()) return make_tensor(ElemType::f32, {1});
  const Tensor* t = std::get_if<Tensor>(&it->second);
  if (!t || t->size() != 1) return make_error("attribute 'value' is not a one-element tensor");
  return *t;
}

Expected<Sig> constant_of_shape_sig(const Node& node, const Args& in) {
  Expected<const Tensor*> target = need_data(in, 0, "shape");
  if (!target) return target.status();
  Expected<Tensor> value = fill_value(node);
  if (!value) return value.status();
  Shape shape = as_ints(**target);
  if (std::any_of(shape.begin(), shape.end(), [](int64_t d) { return d < 0; }))
    return make_error("shape {} has a negative entry", shape_text(shape));
  return Sig{{value->type, shape}};
}

Status compute_constant_of_shape(const Node& node, In, Out out) {
  std::fill(out[0].values.begin(), out[0].values.end(), fill_value(node)->values[0]);
  return Status::ok();
}

// Shape's [start, end) window (opset 15), clamped to the rank.
void shape_window(const Node& node, int64_t rank, int64_t& start, int64_t& end) {
  Expected<int64_t> first = node.attr_int("start", 0), last = node.attr_int("end", rank);
  start = first ? *first : 0;
  end = last ? *last : rank;
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  end = std::max(start, end);
}

Expected<Sig> shape_sig(const Node& node, const Args& in) {
  int64_t start, end;
  shape_window(node, int64_t(in[0].shape->size()), start, end);
  return Sig{{ElemType::i64, {end - start}}};
}

Status compute_shape(const Node& node, In in, Out out) {
  int64_t start, end;
  shape_window(node, int64_t(in[0]->shape.size()), start, end);
  for (int64_t d = start; d < end; ++d) out[0].values[d - start] = double(in[0]->shape[d]);
  return Status::ok();
}

// --- Range, Trilu ---

// Range's three scalars; the length is max(ceil((limit - start) / delta), 0).
Expected<Sig> range_sig(const Node&, const Args& in) {
  const char* roles[] = {"start", "limit", "delta"};
  double v[3];
  for (int i = 0; i < 3; ++i) {
    Expected<const Tensor*> t = need_data(in, i, roles[i]);
    if (!t) return t.status();
    if ((*t)->size() != 1) return make_error("input {} '{}' ({}) is not a scalar", i, in[i].name, roles[i]);
    v[i] = (*t)->values[0];
  }
  if (v[2] == 0) return make_error("delta is 0");
  WAFER_TRY(check_same_type(in));
  return Sig{{in[0].type, {std::max<int64_t>(0, int64_t(std::ceil((v[1] - v[0]) / v[2])))}}};
}

Status compute_range(const Node&, In in, Out out) {
  for (size_t i = 0; i < out[0].values.size(); ++i)
    out[0].values[i] = in[0]->values[0] + double(i) * in[2]->values[0];
  return Status::ok();
}

Expected<Sig> trilu_sig(const Node&, const Args& in) {
  if (in[0].shape->size() < 2) return make_error("input '{}' {} has rank below 2", in[0].name, shape_text(*in[0].shape));
  return Sig{{in[0].type, *in[0].shape}};
}

// Keeps element (i, j) of each matrix where j - i >= k (upper) or j - i <= k (lower).
Status compute_trilu(const Node& node, In in, Out out) {
  Expected<int64_t> upper = node.attr_int("upper", 1);
  if (!upper) return upper.status();
  int64_t k = in.size() > 1 && in[1] ? int64_t(in[1]->values.at(0)) : 0;
  const Shape& s = in[0]->shape;
  int64_t rows = s[s.size() - 2], cols = s.back();
  for (int64_t i = 0; i < in[0]->size(); ++i) {
    int64_t r = (i / cols) % rows, c = i % cols;
    bool keep = *upper ? c - r >= k : c - r <= k;
    out[0].values[i] = keep ? in[0]->values[i] : 0.0;
  }
  return Status::ok();
}

}  // namespace

void add_shape_ops(std::vector<OpRule>& rows) {
  std::vector<OpRule> add = {
      {"Reshape", 2, 2, 1, 1, reshape_sig, copy_values},
      {"Flatten", 1, 1, 1, 1, flatten_sig, copy_values},
      {"Squeeze", 1, 2, 1, 1, squeeze_sig, copy_values},
      {"Unsqueeze", 1, 2, 1, 1, unsqueeze_sig, copy_values},
      {"Transpose", 1, 1, 1, 1, transpose_sig, compute_transpose},
      {"Slice", 3, 5, 1, 1, slice_sig, compute_slice},
      {"Concat", 1, -1, 1, 1, concat_sig, compute_concat},
      {"Split", 1, 2, 1, 64, split_sig, compute_split},
      {"Gather", 2, 2, 1, 1, gather_sig, compute_gather},
      {"Expand", 2, 2, 1, 1, expand_sig, compute_broadcast_copy},
      {"Constant", 0, 0, 1, 1, constant_sig, compute_constant},
      {"ConstantOfShape", 1, 1, 1, 1, constant_of_shape_sig, compute_constant_of_shape},
      {"Shape", 1, 1, 1, 1, shape_sig, compute_shape},
      {"Range", 3, 3, 1, 1, range_sig, compute_range},
      {"Trilu", 1, 2, 1, 1, trilu_sig, compute_trilu},
  };
  rows.insert(rows.end(), add.begin(), add.end());
}

}  // namespace wafer::graph

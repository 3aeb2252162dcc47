// Pad (opsets 13-17: data, pads [begin_0..begin_{r-1}, end_0..end_{r-1}], optional
// constant_value; mode constant, reflect or edge). torch exports it for F.pad and, with zero
// pads, in front of every AveragePool that counts padding (count_include_pad, its default).
//
// Each output element reads the input element at (output index - begin pad) on every axis;
// an index that falls outside the input takes the constant (constant mode), the nearest edge
// element (edge), or its mirror image without repeating the edge (reflect: -1 reads 1, dim
// reads dim - 2). Negative pads crop, as ONNX allows.
#include <fmt/format.h>

#include "ops.hpp"

namespace wafer::graph {

namespace {

enum class PadMode { constant, reflect, edge };

Expected<PadMode> pad_mode(const Node& node) {
  auto mode = node.attr_string("mode", std::string("constant"));
  if (!mode) return mode.status();
  if (*mode == "constant") return PadMode::constant;
  if (*mode == "reflect") return PadMode::reflect;
  if (*mode == "edge") return PadMode::edge;
  return make_error("{}: mode '{}' is not one of constant, reflect, edge", node_label(node), *mode);
}

Expected<std::vector<int64_t>> pads_of(const Args& in, size_t rank) {
  Expected<const Tensor*> t = need_data(in, 1, "pads");
  if (!t) return t.status();
  std::vector<int64_t> pads = as_ints(**t);
  if (pads.size() != 2 * rank)
    return make_error("input 1 '{}' (pads) has {} values, data of rank {} needs {}", in[1].name, pads.size(), rank,
                      2 * rank);
  return pads;
}

Expected<Sig> pad_sig(const Node& node, const Args& in) {
  const Shape& s = *in[0].shape;
  auto pads = pads_of(in, s.size());
  if (!pads) return pads.status();
  auto mode = pad_mode(node);
  if (!mode) return mode.status();
  Shape out;
  for (size_t d = 0; d < s.size(); ++d) {
    const int64_t size = s[d] + (*pads)[d] + (*pads)[d + s.size()];
    if (size < 0) return make_error("pads crop axis {} of size {} below zero", d, s[d]);
    if (*mode == PadMode::reflect && s[d] < 2 && size != s[d])
      return make_error("reflect padding of axis {} needs at least 2 elements, it has {}", d, s[d]);
    if (*mode == PadMode::edge && s[d] == 0 && size != 0)
      return make_error("edge padding of the empty axis {}", d);
    out.push_back(size);
  }
  return Sig{{in[0].type, out}};
}

// The input index an output index reads on one axis, or -1 for the constant.
int64_t source_index(int64_t i, int64_t dim, PadMode mode) {
  if (i >= 0 && i < dim) return i;
  switch (mode) {
    case PadMode::constant: return -1;
    case PadMode::edge: return i < 0 ? 0 : dim - 1;
    case PadMode::reflect: {
      const int64_t period = 2 * (dim - 1);
      int64_t m = ((i % period) + period) % period;
      return m < dim ? m : period - m;
    }
  }
  return -1;
}

Status compute_pad(const Node& node, const std::vector<const Tensor*>& in, std::vector<Tensor>& out) {
  const Tensor& x = *in[0];
  const size_t rank = x.shape.size();
  const std::vector<int64_t> pads = as_ints(*in[1]);
  auto mode = pad_mode(node);
  if (!mode) return mode.status();
  const double fill = in.size() > 2 && in[2] && !in[2]->values.empty() ? in[2]->values[0] : 0.0;
  const std::vector<int64_t> strides = strides_of(x.shape);
  std::vector<int64_t> index(rank, 0);
  for (double& v : out[0].values) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank && offset >= 0; ++d) {
      const int64_t s = source_index(index[d] - pads[d], x.shape[d], *mode);
      offset = s < 0 ? -1 : offset + s * strides[d];
    }
    v = offset < 0 ? fill : x.values[size_t(offset)];
    for (int d = int(rank) - 1; d >= 0; --d) {
      if (++index[size_t(d)] < out[0].shape[size_t(d)]) break;
      index[size_t(d)] = 0;
    }
  }
  return Status::ok();
}

}  // namespace

void add_pad_ops(std::vector<OpRule>& rows) { rows.push_back({"Pad", 2, 3, 1, 1, pad_sig, compute_pad}); }

}  // namespace wafer::graph

// Convolutional-network ops on NCHW tensors: Conv (1 to 3 spatial axes: strides, pads,
// dilations, group, auto_pad, bias), BatchNormalization (inference form), MaxPool and
// AveragePool (1 to 3 spatial axes: pads, strides, dilations, ceil_mode, count_include_pad) and
// GlobalAveragePool (any spatial rank).
//
// Conv and the pools share one window geometry per spatial axis: kernel k, stride s, dilation
// d, padding before and after (from `pads`, or from auto_pad SAME_UPPER/SAME_LOWER/VALID), and
// the output size floor-or-ceil((in + pads - ((k-1)d + 1)) / s) + 1 (with ceil_mode, a last
// window that would start in the end padding is dropped, as PyTorch and ONNX do). The
// evaluation walks the output positions and, for each, the window's taps (input offsets, -1 for
// padding) in the kernel's row-major order: a direct sum where padded positions read nothing
// (Conv adds 0, MaxPool skips them, AveragePool counts them only with count_include_pad).
#include <algorithm>
#include <cmath>

#include "ops.hpp"

namespace wafer::graph {

namespace {

using In = const std::vector<const Tensor*>&;
using Out = std::vector<Tensor>&;

struct Axis {
  int64_t in = 0, kernel = 1, stride = 1, dilation = 1, pad_begin = 0, pad_end = 0, out = 0;
};
using Window = std::vector<Axis>;  // one per spatial axis

Expected<std::vector<int64_t>> ints_or(const Node& node, const char* key, size_t n, int64_t fill) {
  Expected<std::vector<int64_t>> v = node.attr_ints(key, std::vector<int64_t>(n, fill));
  if (!v) return v.status();
  if (v->size() != n) return make_error("attribute '{}' {} has {} entries, expected {}", key, shape_text(*v), v->size(), n);
  return v;
}

// The window geometry of a Conv or pool over `spatial` (the input's spatial sizes) with the
// given kernel sizes.
Expected<Window> window_of(const Node& node, const Shape& spatial, const std::vector<int64_t>& kernel) {
  size_t n = spatial.size();
  auto strides = ints_or(node, "strides", n, 1), dilations = ints_or(node, "dilations", n, 1);
  auto pads = ints_or(node, "pads", 2 * n, 0);
  if (!strides) return strides.status();
  if (!dilations) return dilations.status();
  if (!pads) return pads.status();
  Expected<std::string> auto_pad = node.attr_string("auto_pad", "NOTSET");
  Expected<int64_t> ceil_mode = node.attr_int("ceil_mode", 0);
  if (!auto_pad) return auto_pad.status();
  if (!ceil_mode) return ceil_mode.status();
  Window w(n);
  for (size_t i = 0; i < n; ++i) {
    Axis& a = w[i];
    a = {spatial[i], kernel[i], (*strides)[i], (*dilations)[i], (*pads)[i], (*pads)[i + n], 0};
    if (a.stride < 1 || a.dilation < 1 || a.kernel < 1)
      return make_error("kernel {}, stride {} and dilation {} of spatial axis {} must be positive", a.kernel, a.stride,
                        a.dilation, i);
    int64_t extent = (a.kernel - 1) * a.dilation + 1;
    if (*auto_pad == "VALID") {
      a.pad_begin = a.pad_end = 0;
    } else if (*auto_pad == "SAME_UPPER" || *auto_pad == "SAME_LOWER") {
      int64_t total = std::max<int64_t>(0, ((a.in + a.stride - 1) / a.stride - 1) * a.stride + extent - a.in);
      a.pad_begin = *auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      a.pad_end = total - a.pad_begin;
    } else if (*auto_pad != "NOTSET") {
      return make_error("attribute 'auto_pad' \"{}\" is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", *auto_pad);
    }
    int64_t span = a.in + a.pad_begin + a.pad_end - extent;
    if (span < 0)
      return make_error("window of {} on spatial axis {} does not fit the padded input of {}", extent, i,
                        a.in + a.pad_begin + a.pad_end);
    a.out = (*ceil_mode ? (span + a.stride - 1) / a.stride : span / a.stride) + 1;
    if (*ceil_mode && (a.out - 1) * a.stride >= a.in + a.pad_begin) --a.out;
  }
  return w;
}

Shape spatial_of(const Shape& s) { return Shape(s.begin() + 2, s.end()); }

Status need_rank(const Arg& x, size_t lo, size_t hi) {
  size_t r = x.shape->size();
  if (r < lo || r > hi)
    return make_error("input '{}' {} has rank {}; the op takes {}", x.name, shape_text(*x.shape), r,
                      lo == hi ? fmt::format("rank {}", lo) : fmt::format("rank {} to {}", lo, hi));
  return Status::ok();
}

Shape output_shape(int64_t n, int64_t c, const Window& w) {
  Shape s = {n, c};
  for (const Axis& a : w) s.push_back(a.out);
  return s;
}

// One position of a window: the flat offset of the input element within its plane, or -1
// where the position is padding (or past it, in ceil mode); `within_pads` when it lies inside
// the input or its explicit padding.
struct Tap {
  int64_t offset;
  bool within_pads;
};

int64_t window_count(const Window& w) {
  int64_t n = 1;
  for (const Axis& a : w) n *= a.out;
  return n;
}

// Advances a row-major output position.
void next_position(std::vector<int64_t>& position, const Window& w) {
  for (int d = int(w.size()) - 1; d >= 0; --d) {
    if (++position[d] < w[d].out) return;
    position[d] = 0;
  }
}

// The window's taps at an output position, kernel positions in row-major order (the order of
// a Conv weight's kernel elements).
void window_taps(const Window& w, const std::vector<int64_t>& position, std::vector<Tap>& taps) {
  taps.assign(1, {0, true});
  for (size_t d = 0; d < w.size(); ++d) {
    const Axis& a = w[d];
    std::vector<Tap> next;
    next.reserve(taps.size() * size_t(a.kernel));
    for (const Tap& t : taps)
      for (int64_t k = 0; k < a.kernel; ++k) {
        int64_t i = position[d] * a.stride - a.pad_begin + k * a.dilation;
        bool inside = t.offset >= 0 && i >= 0 && i < a.in;
        next.push_back({inside ? t.offset * a.in + i : -1, t.within_pads && i < a.in + a.pad_end});
      }
    taps = std::move(next);
  }
}

// --- Conv ---

Expected<Window> conv_window(const Node& node, const Shape& x, const Shape& weight) {
  std::vector<int64_t> kernel = spatial_of(weight);
  Expected<std::vector<int64_t>> given = node.attr_ints("kernel_shape", kernel);
  if (!given) return given.status();
  if (*given != kernel)
    return make_error("attribute 'kernel_shape' {} differs from the weight's {}", shape_text(*given), shape_text(kernel));
  return window_of(node, spatial_of(x), kernel);
}

Expected<Sig> conv_sig(const Node& node, const Args& in) {
  WAFER_TRY(check_same_type(in));
  WAFER_TRY(need_rank(in[0], 3, 5));
  WAFER_TRY(need_rank(in[1], in[0].shape->size(), in[0].shape->size()));
  const Shape &x = *in[0].shape, &w = *in[1].shape;
  Expected<int64_t> group = node.attr_int("group", 1);
  if (!group) return group.status();
  if (*group < 1 || w[0] % *group != 0 || x[1] != w[1] * *group)
    return make_error("input '{}' {} has {} channels but weight '{}' {} with group {} takes {}", in[0].name,
                      shape_text(x), x[1], in[1].name, shape_text(w), *group, w[1] * *group);
  if (in.size() > 2 && in[2].present && *in[2].shape != Shape{w[0]})
    return make_error("bias '{}' {} is not [{}]", in[2].name, shape_text(*in[2].shape), w[0]);
  Expected<Window> win = conv_window(node, x, w);
  if (!win) return win.status();
  return Sig{{in[0].type, output_shape(x[0], w[0], *win)}};
}

Status compute_conv(const Node& node, In in, Out out) {
  const Tensor &x = *in[0], &w = *in[1];
  const Tensor* bias = in.size() > 2 ? in[2] : nullptr;
  Window win = *conv_window(node, x.shape, w.shape);
  int64_t group = *node.attr_int("group", 1), cin = w.shape[1], cout = w.shape[0], per_group = cout / group;
  int64_t area = element_count(spatial_of(x.shape)), taps_per_window = element_count(spatial_of(w.shape));
  std::vector<Tap> taps;
  std::vector<int64_t> position(win.size(), 0);
  double* y = out[0].values.data();
  for (int64_t n = 0; n < x.shape[0]; ++n)
    for (int64_t m = 0; m < cout; ++m)
      for (int64_t p = 0; p < window_count(win); ++p, next_position(position, win)) {
        window_taps(win, position, taps);
        double acc = bias ? bias->values[m] : 0.0;
        for (int64_t c = 0; c < cin; ++c) {
          const double* plane = x.values.data() + (n * x.shape[1] + (m / per_group) * cin + c) * area;
          const double* kernel = w.values.data() + (m * cin + c) * taps_per_window;
          for (size_t t = 0; t < taps.size(); ++t)
            if (taps[t].offset >= 0) acc += plane[taps[t].offset] * kernel[t];
        }
        *y++ = acc;
      }
  return Status::ok();
}

// --- MaxPool, AveragePool, GlobalAveragePool ---

Expected<Window> pool_window(const Node& node, const Shape& x) {
  Expected<std::vector<int64_t>> kernel = node.attr_ints("kernel_shape");
  if (!kernel) return kernel.status();
  if (kernel->size() != x.size() - 2)
    return make_error("attribute 'kernel_shape' {} does not match the {} spatial axes", shape_text(*kernel), x.size() - 2);
  return window_of(node, spatial_of(x), *kernel);
}

Expected<Sig> pool_sig(const Node& node, const Args& in) {
  WAFER_TRY(need_rank(in[0], 3, 5));
  const Shape& x = *in[0].shape;
  Expected<Window> win = pool_window(node, x);
  if (!win) return win.status();
  return Sig{{in[0].type, output_shape(x[0], x[1], *win)}};
}

Status compute_pool(const Node& node, In in, Out out, bool is_max) {
  const Tensor& x = *in[0];
  Window win = *pool_window(node, x.shape);
  bool include_pad = *node.attr_int("count_include_pad", 0) != 0;
  int64_t area = element_count(spatial_of(x.shape));
  std::vector<Tap> taps;
  std::vector<int64_t> position(win.size(), 0);
  double* y = out[0].values.data();
  for (int64_t plane = 0; plane < x.shape[0] * x.shape[1]; ++plane)
    for (int64_t p = 0; p < window_count(win); ++p, next_position(position, win)) {
      window_taps(win, position, taps);
      double acc = is_max ? -INFINITY : 0.0;
      int64_t count = 0;
      for (const Tap& t : taps) {
        if (t.offset >= 0) {
          double v = x.values[plane * area + t.offset];
          acc = is_max ? std::max(acc, v) : acc + v;
        }
        count += t.offset >= 0 || (include_pad && t.within_pads);
      }
      *y++ = is_max ? acc : acc / double(std::max<int64_t>(count, 1));
    }
  return Status::ok();
}

Expected<Sig> global_pool_sig(const Node&, const Args& in) {
  WAFER_TRY(need_rank(in[0], 3, 8));
  Shape s = *in[0].shape;
  std::fill(s.begin() + 2, s.end(), 1);
  return Sig{{in[0].type, s}};
}

Status compute_global_pool(const Node&, In in, Out out) {
  int64_t planes = out[0].size(), area = planes == 0 ? 0 : in[0]->size() / planes;
  for (int64_t p = 0; p < planes; ++p) {
    double sum = 0;
    for (int64_t k = 0; k < area; ++k) sum += in[0]->values[p * area + k];
    out[0].values[p] = sum / double(area);
  }
  return Status::ok();
}

// --- BatchNormalization ---

Expected<Sig> batch_norm_sig(const Node& node, const Args& in) {
  WAFER_TRY(need_rank(in[0], 2, 8));
  Expected<int64_t> training = node.attr_int("training_mode", 0);
  if (!training) return training.status();
  if (*training) return make_error("training_mode is not supported (inference only)");
  int64_t channels = (*in[0].shape)[1];
  const char* roles[] = {"", "scale", "B", "mean", "var"};
  for (int i = 1; i < 5; ++i)
    if (*in[i].shape != Shape{channels})
      return make_error("input '{}' ({}) {} is not [{}], the channels of '{}'", in[i].name, roles[i],
                        shape_text(*in[i].shape), channels, in[0].name);
  return Sig{{in[0].type, *in[0].shape}};
}

Status compute_batch_norm(const Node& node, In in, Out out) {
  const Tensor& x = *in[0];
  Expected<double> eps = node.attr_float("epsilon", 1e-5);
  if (!eps) return eps.status();
  int64_t channels = x.shape[1], area = element_count(spatial_of(x.shape));
  for (int64_t i = 0; i < x.size(); ++i) {
    int64_t c = (i / area) % channels;
    double inv_std = 1 / std::sqrt(in[4]->values[c] + *eps);
    out[0].values[i] = (x.values[i] - in[3]->values[c]) * inv_std * in[1]->values[c] + in[2]->values[c];
  }
  return Status::ok();
}

}  // namespace

void add_nn_ops(std::vector<OpRule>& rows) {
  std::vector<OpRule> add = {
      {"Conv", 2, 3, 1, 1, conv_sig, compute_conv},
      {"MaxPool", 1, 1, 1, 1, pool_sig, [](const Node& n, In in, Out out) { return compute_pool(n, in, out, true); }},
      {"AveragePool", 1, 1, 1, 1, pool_sig,
       [](const Node& n, In in, Out out) { return compute_pool(n, in, out, false); }},
      {"GlobalAveragePool", 1, 1, 1, 1, global_pool_sig, compute_global_pool},
      {"BatchNormalization", 5, 5, 1, 1, batch_norm_sig, compute_batch_norm},
  };
  rows.insert(rows.end(), add.begin(), add.end());
}

}  // namespace wafer::graph

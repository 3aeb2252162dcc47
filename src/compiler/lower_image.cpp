// Lowering of the CNN ops onto the window, batch-norm and global-pooling kernels
// (kernels/conv.hpp; docs/compiler.md, "Images").
//
// The kernels take one square window (size k, stride s, the same padding p on every side),
// dilation 1 and one group; a node is refused with the attribute that differs. An image is
// N x C x H x W; the kernels see it channels-last (lower.hpp's rows_of), which is where the
// window kernels leave their outputs, so Relu and BatchNormalization read them in place.
//   Conv                 constant weight Cout x Cin x k x k (+ constant bias of Cout)
//   MaxPool AveragePool  ceil_mode 0 (unless the shape is the same), AveragePool counting the
//                        padding (count_include_pad = 1) when it pads
//   BatchNormalization   inference form: constant scale, bias, mean and variance of C
//   GlobalAveragePool    the mean of each channel: an AveragePool whose window is the (square)
//                        image, which leaves each image's means on its own PE row (the
//                        global-pooling kernel would gather them on the first)
//   ReduceMean           over axes 2 and 3 (torch's x.mean((2, 3))): GlobalAveragePool, its
//                        N x C output (keepdims 0) an image of one pixel
#include <set>

#include <fmt/format.h>

#include "lower.hpp"

namespace wafer::compiler {

using graph::Graph;
using graph::Node;
using graph::Value;

namespace {

bool constant(const Graph& g, int id) { return id >= 0 && g.values[size_t(id)].constant.has_value(); }

// The square window of a Conv or a pool from kernel_shape (or the weight's last two
// dimensions), strides, pads and dilations.
Expected<kernels::Window> window_of(const Node& n, const graph::Shape& weight) {
  std::vector<int64_t> fallback;
  if (weight.size() == 4) fallback = {weight[2], weight[3]};
  auto k = n.attr_ints("kernel_shape", fallback);
  auto s = n.attr_ints("strides", std::vector<int64_t>{1, 1});
  auto p = n.attr_ints("pads", std::vector<int64_t>{0, 0, 0, 0});
  auto d = n.attr_ints("dilations", std::vector<int64_t>{1, 1});
  for (const auto* a : {&k, &s, &p, &d})
    if (!*a) return a->status();
  if (n.attr_string("auto_pad", "NOTSET").value_or("") != "NOTSET") return make_error("auto_pad (give pads)");
  if (k->size() != 2 || (*k)[0] != (*k)[1]) return make_error("a window that is not square ({})", fmt::join(*k, "x"));
  if (s->size() != 2 || (*s)[0] != (*s)[1]) return make_error("strides that differ ({})", fmt::join(*s, ", "));
  if (p->size() != 4 || std::adjacent_find(p->begin(), p->end(), std::not_equal_to<>()) != p->end())
    return make_error("pads that differ ({})", fmt::join(*p, ", "));
  if (*d != std::vector<int64_t>{1, 1}) return make_error("dilations ({})", fmt::join(*d, ", "));
  return kernels::parse_window(fmt::format("k{}s{}p{}", (*k)[0], (*s)[0], (*p)[0]), {});
}

Expected<Step> window_step(const Graph& g, const Node& n) {
  Step s;
  s.kind = StepKind::window;
  s.a = n.inputs[0];
  s.out = n.outputs[0];
  if (n.op == "Conv") {
    s.tap = kernels::TapOp::conv;
    s.b = n.inputs[1];
    if (!constant(g, s.b)) return make_error("a weight that is not a constant");
    if (n.attr_int("group", 1).value_or(0) != 1) return make_error("groups (group = {})", n.attr_int("group", 1).value_or(0));
    if (n.inputs.size() > 2 && n.inputs[2] >= 0) {
      s.bias = n.inputs[2];
      if (!constant(g, s.bias)) return make_error("a bias that is not a constant");
    }
  } else {
    s.tap = n.op == "MaxPool" ? kernels::TapOp::max : kernels::TapOp::avg;
    if (n.attr_int("storage_order", 0).value_or(1) != 0) return make_error("storage_order 1");
  }
  auto w = window_of(n, s.b >= 0 ? g.values[size_t(s.b)].shape : graph::Shape{});
  if (!w) return w.status();
  s.window = *w;
  if (s.tap == kernels::TapOp::avg && w->p > 0 && n.attr_int("count_include_pad", 0).value_or(0) == 0)
    return make_error("padding left out of the mean (count_include_pad = 0)");
  return s;
}

Expected<Step> batchnorm_step(const Graph& g, const Node& n) {
  if (n.attr_int("training_mode", 0).value_or(1) != 0) return make_error("training mode");
  Step s;
  s.kind = StepKind::batchnorm;
  s.a = n.inputs[0];
  s.out = n.outputs[0];
  s.gamma = n.inputs[1];
  s.beta = n.inputs[2];
  s.mean = n.inputs[3];
  s.var = n.inputs[4];
  s.eps = n.attr_float("epsilon", 1e-5).value_or(1e-5);
  const int64_t C = g.values[size_t(s.a)].shape[1];
  for (int c : {s.gamma, s.beta, s.mean, s.var})
    if (!constant(g, c) || graph::element_count(g.values[size_t(c)].shape) != C)
      return make_error("a scale, bias, mean or variance that is not a constant vector of the {} channels", C);
  return s;
}

}  // namespace

bool is_image_op(const std::string& op) {
  return op == "Conv" || op == "MaxPool" || op == "AveragePool" || op == "BatchNormalization" ||
         op == "GlobalAveragePool" || op == "ReduceMean";
}

Expected<Step> lower_image_op(const Graph& g, const Node& n) {
  const Value& x = g.values[size_t(n.inputs[0])];
  if (n.op == "ReduceMean") {
    auto axes = n.attr_ints("axes", std::vector<int64_t>{});
    if (!axes) return axes.status();
    std::set<int64_t> spatial;
    for (int64_t a : *axes) spatial.insert(a < 0 ? a + int64_t(x.shape.size()) : a);
    if (x.shape.size() != 4 || spatial != std::set<int64_t>{2, 3})
      return make_error("axes {} of a {}-D input (a mean over an image's axes 2 and 3 is a global average pool; "
                        "over the last axis, one inside a LayerNorm or RMSNorm)", fmt::join(*axes, ", "),
                        x.shape.size());
  }
  if (x.shape.size() != 4) return make_error("a {}-D input (the kernels take N x C x H x W)", x.shape.size());
  if (constant(g, n.inputs[0])) return make_error("a constant input");
  if (!graph::elem_is_float(x.type)) return make_error("an integer input");
  for (size_t i = 1; i < n.outputs.size(); ++i)
    if (n.outputs[i] >= 0) return make_error("a second output");
  if (n.op == "BatchNormalization") return batchnorm_step(g, n);
  if (n.op == "GlobalAveragePool" || n.op == "ReduceMean") {
    if (x.shape[2] != x.shape[3]) return make_error("a {}x{} image (the window is square)", x.shape[2], x.shape[3]);
    Step s;
    s.kind = StepKind::window;
    s.tap = kernels::TapOp::avg;
    s.window = kernels::Window{int(x.shape[2]), 1, 0};
    s.a = n.inputs[0];
    s.out = n.outputs[0];
    return s;
  }
  return window_step(g, n);
}

}  // namespace wafer::compiler

// The image layers of a plan: Conv, MaxPool, AveragePool and GlobalAveragePool on the window
// kernel, BatchNormalization on the batch-norm kernel (kernels/conv.hpp; docs/compiler.md,
// "Images").
//
// The kernels take one image; the batch of N goes over the grid's rows, image n on its own
// band of h / N PE rows, with its channels split over the columns. The kernels do not talk
// to their neighbours, so one emission on the first band serves all of them: every PE runs
// the same code on the data the host wrote to it, and each image's host copies are the
// first band's moved down to its own. Over the whole grid the outputs are then exactly the
// compiler's activation layout of the N·H·W x C channels-last matrix (rows over y in bands,
// channels over x, column-major blocks) when an image's output rows split evenly over its
// band, which is checked, so element-wise layers and BatchNormalization read them in place.
// The channels are padded as every activation's columns are (to a multiple of lcm(w, h)):
// the padded output channels have zero weights and bias, or zero inputs, so they hold zeros
// until an element-wise op, and a GEMM reading them has zero weights there.
//
// A window kernel's input is a padded band with its halo rows, held as stride x stride
// phase planes, with every input channel on every column (conv): a layout of its own. The
// host reads the activation out and writes the bands in, at the arch's I/O bandwidth, and
// the layer's relayout_io_cycles count both (a fabric halo exchange would avoid it).
//
// Estimates: each PE issues, per output channel, one asynchronous vector op per tap (per
// input channel, for conv) over its ob output rows, at the FMA (conv) or arithmetic
// (pools) lanes or the write port's elements per cycle, whichever is fewer, with a quarter of each op's setup not hidden, a scalar load of the tap's
// weight, and the compaction of a strided accumulator; batch norm, one FMA per channel.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "lower.hpp"

namespace wafer::compiler {

using graph::Value;
using kernels::DistTensor;
using kernels::HostCopy;

namespace {

const char* tap_name(kernels::TapOp op) {
  return op == kernels::TapOp::conv ? "conv2d" : op == kernels::TapOp::max ? "maxpool" : "avgpool";
}

// PE rows per image: the grid's height over the batch.
Expected<int> band_of(const Value& x, const ir::Rect& r) {
  const int64_t N = x.shape[0];
  if (r.h % N != 0)
    return make_error("the batch of {} images takes a band of PE rows each, and {} rows do not split into {}", N, r.h,
                      N);
  return int(r.h / N);
}

// The output blocks are the activation layout only when an image's rows split evenly over its
// band (the channels are padded to split).
Status check_split(int64_t rows, int band) {
  if (rows % band != 0)
    return make_error("the {} output rows of an image do not split over its {} rows of PEs", rows, band);
  return Status::ok();
}

// Image n of an activation given as an element function of its channels-last matrix.
kernels::ImageFn image_of(const kernels::ElementFn& f, const Value& x, int64_t n) {
  const int64_t H = x.shape[2], W = x.shape[3];
  return [f, H, W, n](int64_t c, int64_t row, int64_t col) { return f((n * H + row) * W + col, c); };
}

// Every image's copies: the first band's, moved down to image n's band.
std::vector<HostCopy> per_image(int64_t N, int band, const std::function<std::vector<HostCopy>(int64_t)>& copies_of) {
  std::vector<HostCopy> all;
  for (int64_t n = 0; n < N; ++n)
    for (HostCopy c : copies_of(n)) {
      c.rect.y += int(n) * band;
      all.push_back(std::move(c));
    }
  return all;
}

// An image in the activation layout, its channels padded (plan.cpp's Placer::activation).
DistTensor image_tensor(const std::string& symbol, DType t, const Value& v, const ir::Rect& r) {
  return DistTensor{symbol, t, rows_of(v, true), padded_columns(cols_of(v, true), r), r};
}

uint64_t estimate_window(const arch::Arch& a, const kernels::WindowShape& s) {
  const bool conv = s.op == kernels::TapOp::conv;
  const double lanes = std::max(1.0, std::min(write_port_elements(a, s.acc),
                                              conv ? kernels::fma_lanes(a, s.t, s.acc) : kernels::arith_lanes(a, s.acc)));
  const double taps = double(s.cb) * (conv ? double(s.cin) : 1.0) * s.win.k * s.win.k;
  const double op = std::ceil(double(s.op_length()) / lanes) + a.vector_setup_cycles / 4;
  const double compaction = s.separate_acc() ? double(s.cb * s.ob) * (std::ceil(double(s.OW) / lanes) + 4) : 0;
  return uint64_t((taps + double(s.cb)) * (op + (conv ? 2 : 0)) + compaction);
}

Status emit_window_layer(kernels::Emit& e, const LayerContext& c, const Step& s, Layer& layer) {
  const Value &x = c.g.values[size_t(s.a)], &y = c.g.values[size_t(s.out)];
  const ir::Rect& r = layer.rect;
  auto band = band_of(x, r);
  if (!band) return band.status();
  kernels::WindowShape ws;
  ws.op = s.tap;
  ws.w = r.w;
  ws.h = *band;
  ws.H = x.shape[2];
  ws.W = x.shape[3];
  // Padded output channels get zero weights and bias (a pool's, zero inputs): they are zero.
  ws.cout = padded_columns(y.shape[1], r);
  ws.cin = s.tap == kernels::TapOp::conv ? x.shape[1] : ws.cout;
  ws.win = s.window;
  ws.t = ws.acc = c.t;
  auto shape = kernels::window_shape(c.arch, ws);
  if (!shape) return shape.status();
  if (shape->OH * shape->OW != pixels_of(y))
    return make_error("the {} window gives {}x{} outputs where the model has {} (ceil_mode?)",
                      kernels::window_name(s.window), shape->OH, shape->OW, graph::shape_text(y.shape));
  WAFER_TRY(check_split(shape->OH, *band));
  auto em = kernels::emit_window(e, kernels::Site{{r.x, r.y, r.w, *band}, -1, -1}, *shape);
  if (!em) return em.status();
  const int64_t N = x.shape[0];
  const bool conv = s.tap == kernels::TapOp::conv;
  layer.kernel = fmt::format("{} {}{}", tap_name(s.tap), kernels::window_name(s.window),
                             N > 1 ? fmt::format(", {} images", N) : "");
  layer.inputs = {Binding{s.a, image_tensor(em->in, c.t, x, r), false, true, true}};
  if (conv) {
    layer.inputs.push_back(Binding{s.b, DistTensor{em->weights, c.t, ws.cout, ws.cin * s.window.k * s.window.k, r}, true});
    layer.inputs.push_back(Binding{s.bias, DistTensor{em->bias, c.t, 1, ws.cout, r}, true});
  }
  layer.output = Binding{s.out, image_tensor(em->out, c.t, y, r), false, true};
  const int64_t cin = ws.cin, k = s.window.k;
  layer.copies = [inputs = em->inputs, x, N, band = *band, conv, cin, k](const std::vector<kernels::ElementFn>& f) {
    kernels::WeightFn w;
    kernels::ChannelFn bias;
    if (conv) {
      w = [f1 = f[1], cin, k](int64_t co, int64_t ci, int64_t ky, int64_t kx) { return f1((co * cin + ci) * k + ky, kx); };
      bias = [f2 = f[2]](int64_t co) { return f2(0, co); };
    }
    return per_image(N, band, [&](int64_t n) { return inputs(image_of(f[0], x, n), w, bias); });
  };
  layer.relayout_io_cycles = readout_cycles(c.g, c.arch, c.t, s.a) +
                             host_io_cycles(c.arch, double(dtype_bytes(c.t) * r.w * r.h * shape->in_elements()));
  layer.estimated_cycles = estimate_window(c.arch, *shape);
  // The model's channels, not the padding's.
  layer.flops = double(N) * double(shape->macs()) * (conv ? 2 : 1) * double(y.shape[1]) / double(ws.cout);
  return Status::ok();
}

Status emit_batchnorm_layer(kernels::Emit& e, const LayerContext& c, const Step& s, Layer& layer) {
  const Value& x = c.g.values[size_t(s.a)];
  const ir::Rect& r = layer.rect;
  auto band = band_of(x, r);
  if (!band) return band.status();
  const int64_t N = x.shape[0], C = padded_columns(x.shape[1], r), H = x.shape[2], W = x.shape[3];
  auto shape = kernels::batchnorm_shape(c.arch, kernels::BatchNormShape{r.w, *band, H, W, C, c.t});
  if (!shape) return shape.status();
  WAFER_TRY(check_split(H, *band));
  auto em = kernels::emit_batchnorm(e, kernels::Site{{r.x, r.y, r.w, *band}, -1, -1}, *shape);
  if (!em) return em.status();
  layer.kernel = fmt::format("batchnorm{}", N > 1 ? fmt::format(", {} images", N) : "");
  const DistTensor scale{em->scale, DType::f32, 1, C, r}, shift{em->shift, DType::f32, 1, C, r};
  layer.inputs = {Binding{s.a, image_tensor(em->in, c.t, x, r), false, true},
                  Binding{s.gamma, scale, true}, Binding{s.beta, shift, true},
                  Binding{s.mean, scale, true}, Binding{s.var, shift, true}};
  layer.output = Binding{s.out, image_tensor(em->out, c.t, x, r), false, true};
  const double eps = s.eps;
  layer.copies = [inputs = em->inputs, x, N, band = *band, eps](const std::vector<kernels::ElementFn>& f) {
    // y = (x - mean)·gamma / sqrt(var + eps) + beta = x·scale + shift, folded here.
    auto scale = [f, eps](int64_t ch) { return f[1](0, ch) / std::sqrt(f[4](0, ch) + eps); };
    auto shift = [f, scale](int64_t ch) { return f[2](0, ch) - f[3](0, ch) * scale(ch); };
    return per_image(N, band, [&](int64_t n) { return inputs(image_of(f[0], x, n), scale, shift); });
  };
  layer.estimated_cycles = uint64_t(double(shape->cb) * (std::ceil(double(shape->ob * W) /
                                                                   std::max(1.0, kernels::fma_lanes(c.arch, c.t, c.t))) +
                                                         c.arch.vector_setup_cycles + 8));
  layer.flops = 2.0 * double(graph::element_count(x.shape));
  return Status::ok();
}

}  // namespace

uint64_t readout_cycles(const graph::Graph& g, const arch::Arch& a, DType t, int value) {
  if (g.is_input(value)) return 0;
  return host_io_cycles(a, double(graph::element_count(g.values[size_t(value)].shape) * dtype_bytes(t)));
}

Status emit_image_layer(kernels::Emit& e, const LayerContext& c, const Step& s, Layer& layer) {
  return s.kind == StepKind::batchnorm ? emit_batchnorm_layer(e, c, s, layer) : emit_window_layer(e, c, s, layer);
}

}  // namespace wafer::compiler

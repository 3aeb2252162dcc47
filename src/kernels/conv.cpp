// The standalone `conv2d`, `maxpool` and `avgpool` kernels: one C x H x W image (batch 1;
// a batch is an outer loop of launches) on a w x h rectangle, by the window emitter of
// conv_emit.cpp. This file maps the flags onto the shape (--m the image side, --n the output
// channels, --k conv's input channels, --algo the window "k3s1p1"), runs the emitter into a
// one-kernel program, and makes the case: inputs generated one PE block at a time from
// counter-based random values rounded to the dtype, and the reference in double precision
// from the same values over the zero-extended image, in the order the output is read back.
#include <algorithm>
#include <cmath>

#include "wafer/kernels/conv.hpp"
#include "kernel_util.hpp"

namespace wafer::kernels {

Standalone::Standalone(const arch::Arch& arch, const ir::Rect& rect, const std::string& name)
    : rect_(rect), pools_(Pools::for_arch(arch)), code_(name), emit_{code_, kc_.program, pools_, arch, ""} {
  kc_.program.width = rect.x + rect.w;
  kc_.program.height = rect.y + rect.h;
}

KernelCase Standalone::finish(int entry, const std::string& result, const ir::Rect& result_rect) {
  ir::Code code = code_.finish();
  kc_.launch_task = code.task_by_id(entry)->name;
  kc_.program.codes.push_back(std::move(code));
  kc_.program.placements.push_back(ir::Placement{{0, 0, kc_.program.width, kc_.program.height}, 0, {}});
  kc_.rect = rect_;
  kc_.result_symbol = result;
  kc_.result_rect = result_rect;
  return std::move(kc_);
}

Expected<CnnDims> cnn_dims(const KernelParams& p) {
  const bool global = p.kernel == "globalavgpool";
  CnnDims d{p.m ? p.m : (global ? 8 : 16), p.n ? p.n : 4 * int64_t(p.grid_w), p.k ? p.k : 8};
  WAFER_TRY(check_size("--m (image height = width)", d.H, 1, 4096));
  WAFER_TRY(check_size(p.kernel == "conv2d" ? "--n (output channels)" : "--n (channels)", d.C, 1, 65536));
  WAFER_TRY(check_size("--k (input channels)", d.cin, 1, 65536));
  if (p.k && p.kernel != "conv2d") return make_error("--k {} is not used (the channels are --n)", p.k);
  return d;
}

double seeded(DType t, uint64_t seed, uint64_t i, double lo, double hi) {
  return round_to(t, random_value(seed, i, lo, hi));
}

double arith_lanes(const arch::Arch& a, DType acc) {
  return dtype_bytes(acc) == 4 ? a.lanes_f32_arith : a.lanes_f16_arith;
}

namespace {

// The image, padded and extended past its end as the layout holds it: channels x rows from
// -p to the last row any PE reads x columns from -p.
class ExtendedImage {
 public:
  ExtendedImage(const WindowShape& s, const ImageFn& x)
      : s_(s),
        channels_(s.op == TapOp::conv ? s.cin : s.cb * s.w),
        rows_((s.h * s.ob - 1) * s.win.s + s.win.k),
        v_(size_t(channels_ * rows_ * s.Wp)) {
    size_t i = 0;
    for (int64_t c = 0; c < channels_; ++c)
      for (int64_t r = 0; r < rows_; ++r)
        for (int64_t col = 0; col < s.Wp; ++col) v_[i++] = padded_value(s, x, c, r - s.win.p, col - s.win.p);
  }
  // Input of output (i, j)'s tap (ky, kx) in channel c.
  double at(int64_t c, int64_t i, int64_t j, int64_t ky, int64_t kx) const {
    return v_[size_t((c * rows_ + i * s_.win.s + ky) * s_.Wp + j * s_.win.s + kx)];
  }

 private:
  const WindowShape& s_;
  int64_t channels_, rows_;
  std::vector<double> v_;
};

double window_output(const WindowShape& s, const ExtendedImage& img, const std::vector<double>& w,
                     const ChannelFn& bias, int64_t co, int64_t i, int64_t j) {
  const int64_t k = s.win.k;
  if (s.op == TapOp::conv) {
    if (co >= s.cout) return 0;
    double acc = bias(co);
    const double* wc = &w[size_t(co * s.cin * k * k)];
    for (int64_t ci = 0; ci < s.cin; ++ci)
      for (int64_t ky = 0; ky < k; ++ky)
        for (int64_t kx = 0; kx < k; ++kx) acc += *wc++ * img.at(ci, i, j, ky, kx);
    return acc;
  }
  double acc = s.op == TapOp::max ? -INFINITY : 0.0;
  for (int64_t ky = 0; ky < k; ++ky)
    for (int64_t kx = 0; kx < k; ++kx)
      acc = s.op == TapOp::max ? std::max(acc, img.at(co, i, j, ky, kx)) : acc + img.at(co, i, j, ky, kx);
  return s.op == TapOp::max ? acc : acc / double(k * k);
}

// The reference in read-back order: PEs row-major, each cb x ob x OW.
std::vector<double> window_reference(const WindowShape& s, const ImageFn& x, const WeightFn& wf,
                                     const ChannelFn& bias) {
  const ExtendedImage img(s, x);
  const int64_t k = s.win.k;
  std::vector<double> w;
  if (s.op == TapOp::conv) {
    w.reserve(size_t(s.cout * s.cin * k * k));
    for (int64_t co = 0; co < s.cout; ++co)
      for (int64_t ci = 0; ci < s.cin; ++ci)
        for (int64_t ky = 0; ky < k; ++ky)
          for (int64_t kx = 0; kx < k; ++kx) w.push_back(wf(co, ci, ky, kx));
  }
  std::vector<double> ref;
  ref.reserve(size_t(s.out_elements() * s.w * s.h));
  for (int py = 0; py < s.h; ++py)
    for (int px = 0; px < s.w; ++px)
      for (int64_t c = 0; c < s.cb; ++c)
        for (int64_t r = 0; r < s.ob; ++r)
          for (int64_t j = 0; j < s.OW; ++j)
            ref.push_back(window_output(s, img, w, bias, px * s.cb + c, py * s.ob + r, j));
  return ref;
}

double window_tolerance(const WindowShape& s) {
  const int64_t k2 = int64_t(s.win.k) * s.win.k;
  switch (s.op) {
    case TapOp::conv: return sum_tolerance(s.acc, uint64_t(s.cin * k2 + 1));
    case TapOp::max: return s.acc == s.t ? 0.0 : unit_roundoff(s.acc);
    case TapOp::avg: break;
  }
  return sum_tolerance(s.acc, uint64_t(k2 + 1));
}

Expected<KernelCase> build_window(const arch::Arch& arch, const KernelParams& p, Stage stage, TapOp op) {
  WAFER_TRY(check_grid(arch, p));
  auto d = cnn_dims(p);
  if (!d) return d.status();
  const Window def = op == TapOp::conv ? Window{3, 1, 1} : Window{2, 2, 0};
  auto win = parse_window(p.algo, def);
  if (!win) return win.status();
  WindowShape s;
  s.op = op;
  s.w = p.grid_w;
  s.h = p.grid_h;
  s.H = s.W = d->H;
  s.cout = d->C;
  s.cin = op == TapOp::conv ? d->cin : d->C;
  s.win = *win;
  s.t = p.dtype;
  s.acc = p.acc.value_or(p.dtype);
  auto shape = window_shape(arch, s);
  if (!shape) return shape.status();
  s = *shape;
  const ir::Rect rect = p.rect();
  Standalone one(arch, rect, p.kernel);
  auto g = emit_window(one.emit(), Site{rect, -1, -1}, s);
  if (!g) return g.status();
  KernelCase kc = one.finish(g->entry, g->out, rect);
  kc.tolerance = window_tolerance(s);
  if (op == TapOp::conv) {
    kc.flops = 2.0 * double(s.macs());
    kc.peak_flops_per_cycle = 2.0 * double(rect.area()) * fma_lanes(arch, s.t, s.acc);
  } else {
    kc.flops = double(s.macs());
    kc.peak_flops_per_cycle = double(rect.area()) * arith_lanes(arch, s.acc);
  }
  if (stage == Stage::program) return kc;

  const uint64_t seed = p.seed;
  const DType t = s.t;
  const int64_t H = s.H, W = s.W, cin = s.cin, k = s.win.k;
  const ImageFn x = [=](int64_t c, int64_t r, int64_t col) { return seeded(t, seed, uint64_t((c * H + r) * W + col)); };
  const WeightFn w = [=](int64_t co, int64_t ci, int64_t ky, int64_t kx) {
    return seeded(t, seed + 1, uint64_t(((co * cin + ci) * k + ky) * k + kx));
  };
  const ChannelFn bias = [=](int64_t c) { return seeded(t, seed + 2, uint64_t(c)); };
  kc.inputs = g->inputs(x, w, bias);
  kc.reference = window_reference(s, x, w, bias);
  return kc;
}

}  // namespace

Expected<KernelCase> build_conv2d(const arch::Arch& a, const KernelParams& p, Stage s) {
  return build_window(a, p, s, TapOp::conv);
}
Expected<KernelCase> build_maxpool(const arch::Arch& a, const KernelParams& p, Stage s) {
  return build_window(a, p, s, TapOp::max);
}
Expected<KernelCase> build_avgpool(const arch::Arch& a, const KernelParams& p, Stage s) {
  return build_window(a, p, s, TapOp::avg);
}

HostBytes cnn_host_bytes(const KernelParams& p) {
  const auto d = cnn_dims(p);
  if (!d) return {};
  const uint64_t hw = uint64_t(d->H + 6) * uint64_t(d->H + 6), C = uint64_t(d->C), cin = uint64_t(d->cin);
  const uint64_t kept = (2 * C * hw + 49 * C * cin) * sizeof(double);
  return {kept + cin * hw * sizeof(double), kept};
}

KernelParams scale_cnn_sizes(const KernelParams& p, double f) {
  const auto d = cnn_dims(p);
  KernelParams q = p;
  if (d) q.m = std::max<int64_t>(1, int64_t(double(d->H) * std::sqrt(f)));
  return q;
}

}  // namespace wafer::kernels

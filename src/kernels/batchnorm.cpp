// Inference batch normalisation, y = (x - mean) / sqrt(var + eps)·gamma + beta per channel,
// folded on the host into fp32 factors scale = gamma / sqrt(var + eps) and shift = beta -
// mean·scale, so the PE does one fused multiply-add per element: for each of its cb
// channels one asynchronous vfma y, x, scale, shift over the channel's ob·W elements (both
// factors scalar registers loaded per channel), the last one activating the continuation.
// Layout: the window operations' output layout, channels split over x and rows over y.
#include <cmath>

#include "wafer/kernels/conv.hpp"
#include "kernel_util.hpp"

namespace wafer::kernels {

using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

Expected<BatchNormShape> batchnorm_shape(const arch::Arch& arch, BatchNormShape s) {
  if (!dtype_is_float(s.t)) return make_error("takes fp32, fp16 or bf16 (got {})", dtype_name(s.t));
  s.cb = (s.C + s.w - 1) / s.w;
  s.ob = (s.H + s.h - 1) / s.h;
  const int64_t bytes = 2 * s.cb * s.ob * s.W * dtype_bytes(s.t) + 8 * s.cb;
  if (bytes > arch.sram_bytes - 4096)
    return make_error("{} channels x {} rows of {} per PE on {}x{} PEs need {} bytes per PE, more than "
                      "the {} bytes of SRAM less 4096 for code; use more PEs",
                      s.cb, s.ob, s.W, s.w, s.h, bytes, arch.sram_bytes);
  return s;
}

Expected<BatchNormEmitted> emit_batchnorm(Emit& e, const Site& site, const BatchNormShape& s) {
  const std::string user = e.name("batchnorm");
  ir::CodeBuilder& b = e.code;
  auto regs = e.pools.regs.take(4, user);
  if (!regs) return regs.status();
  auto d = e.pools.dsds.take(2, user);
  if (!d) return d.status();
  int entry = site.entry_task;
  if (entry < 0) {
    auto id = e.pools.tasks.take(user);
    if (!id) return id.status();
    entry = *id;
  }
  const int co = (*regs)[0], off = (*regs)[1], sc = (*regs)[2], sh = (*regs)[3], dx = (*d)[0], dy = (*d)[1];
  const int32_t n = int32_t(s.ob * s.W);
  const int x = b.symbol(e.name("x"), s.t, uint32_t(s.cb * n));
  const int y = b.symbol(e.name("y"), s.t, uint32_t(s.cb * n));
  const int scale = b.symbol(e.name("scale"), DType::f32, uint32_t(s.cb));
  const int shift = b.symbol(e.name("shift"), DType::f32, uint32_t(s.cb));
  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  const int loop = b.new_label(), last = b.new_label();
  b.emit(Opcode::movi, {reg(co), imm(0)});
  b.emit(Opcode::movi, {reg(off), imm(0)});
  b.place(loop);
  b.emit(Opcode::mdsd, {dsd(dx), ir::sym_op(x), reg(off), imm(n), imm(1)});
  b.emit(Opcode::mdsd, {dsd(dy), ir::sym_op(y), reg(off), imm(n), imm(1)});
  b.emit(Opcode::ld, {reg(sc), ir::sym_op(scale), reg(co)});
  b.emit(Opcode::ld, {reg(sh), ir::sym_op(shift), reg(co)});
  b.emit(Opcode::add, {reg(co), reg(co), imm(1)});
  b.emit(Opcode::beq, {reg(co), imm(int32_t(s.cb)), b.label(last)});
  b.emit_async(Opcode::vfma, {dsd(dy), dsd(dx), reg(sc), reg(sh)}, ir::OnDone::none, -1);
  b.emit(Opcode::add, {reg(off), reg(off), imm(n)});
  b.emit(Opcode::jmp, {b.label(loop)});
  b.place(last);
  b.emit_async(Opcode::vfma, {dsd(dy), dsd(dx), reg(sc), reg(sh)},
               site.done_task >= 0 ? ir::OnDone::activate : ir::OnDone::none, site.done_task);
  b.emit(Opcode::ret, {});

  BatchNormEmitted out;
  out.entry = entry;
  out.out = e.name("y");
  const ir::Rect rect = site.rect;
  const std::string x_name = e.name("x"), scale_name = e.name("scale"), shift_name = e.name("shift");
  out.in = x_name;
  out.scale = scale_name;
  out.shift = shift_name;
  out.inputs = [=](const ImageFn& xf, const ChannelFn& scf, const ChannelFn& shf) {
    auto channels = [=](const ChannelFn& f) {
      return [=](int px, int) {
        std::vector<double> v(size_t(s.cb));
        for (int64_t c = 0; c < s.cb; ++c) v[size_t(c)] = px * s.cb + c < s.C ? f(px * s.cb + c) : 0.0;
        return v;
      };
    };
    return std::vector<HostCopy>{
        {x_name, rect, {}, [=](int px, int py) { return channel_row_block(s.C, s.H, s.W, s.cb, s.ob, px, py, xf); }},
        {scale_name, rect, {}, channels(scf)},
        {shift_name, rect, {}, channels(shf)}};
  };
  return out;
}

Expected<KernelCase> build_batchnorm(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(arch, p));
  auto d = cnn_dims(p);
  if (!d) return d.status();
  if (!p.algo.empty()) return make_error("there is no --algo (got '{}')", p.algo);
  auto shape = batchnorm_shape(arch, {p.grid_w, p.grid_h, d->H, d->H, d->C, p.dtype});
  if (!shape) return shape.status();
  const BatchNormShape s = *shape;
  const ir::Rect rect = p.rect();
  Standalone one(arch, rect, p.kernel);
  auto g = emit_batchnorm(one.emit(), Site{rect, -1, -1}, s);
  if (!g) return g.status();
  KernelCase kc = one.finish(g->entry, g->out, rect);
  // One rounding to t of x·scale + shift, plus the fp32 rounding of the two folded factors.
  kc.tolerance = 4 * unit_roundoff(s.t) + 16 * unit_roundoff(DType::f32);
  kc.flops = 2.0 * double(s.C * s.H * s.W);
  kc.peak_flops_per_cycle = 2.0 * double(rect.area()) * fma_lanes(arch, s.t, s.t);
  if (stage == Stage::program) return kc;
  const uint64_t seed = p.seed;
  const DType t = s.t;
  const double eps = 1e-5;
  const ImageFn x = [=](int64_t c, int64_t r, int64_t col) { return seeded(t, seed, uint64_t((c * s.H + r) * s.W + col)); };
  auto mean = [=](int64_t c) { return seeded(t, seed + 1, uint64_t(c)); };
  auto var = [=](int64_t c) { return seeded(t, seed + 2, uint64_t(c), 0.25, 2.0); };
  auto gamma = [=](int64_t c) { return seeded(t, seed + 3, uint64_t(c)); };
  auto beta = [=](int64_t c) { return seeded(t, seed + 4, uint64_t(c)); };
  const ChannelFn scale = [=](int64_t c) { return round_to(DType::f32, gamma(c) / std::sqrt(var(c) + eps)); };
  const ChannelFn shift = [=](int64_t c) { return round_to(DType::f32, beta(c) - mean(c) * scale(c)); };
  kc.inputs = g->inputs(x, scale, shift);
  // Rows past H hold x = 0 in the layout, so y = shift there; channels past C hold zeros.
  const ImageFn ref = [&](int64_t c, int64_t r, int64_t col) {
    return ((r < s.H ? x(c, r, col) : 0.0) - mean(c)) / std::sqrt(var(c) + eps) * gamma(c) + beta(c);
  };
  kc.reference.reserve(size_t(s.cb * s.ob * s.W * rect.area()));
  for (int py = 0; py < s.h; ++py)
    for (int px = 0; px < s.w; ++px) {
      const auto v = channel_row_block(s.C, s.h * s.ob, s.W, s.cb, s.ob, px, py, ref);
      kc.reference.insert(kc.reference.end(), v.begin(), v.end());
    }
  return kc;
}

}  // namespace wafer::kernels

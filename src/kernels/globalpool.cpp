// Global average pooling: the mean over H x W of each channel of one image, on a w x h
// rectangle. Channels are split over x (cb per PE, channels past C hold zeros) and image rows
// over y (ob per PE, rows past H hold zeros); a PE holds its ob·W positions x cb channels
// with the channel fastest, so one vector op adds whole position ranges for all its channels.
// Each PE first sums its positions by halving: sum[0 : h·cb] = v[0 : h·cb] + v[(n - h)·cb :
// n·cb] with h = floor(n / 2), an odd middle position copied, until one position is left
// (ceil(log2 n) synchronous ops, pairwise summation in the accumulation type). The column sum
// of colsum.cpp then adds the PE rows' sums into row 0 along a chain, and row 0 multiplies by
// 1 / (H·W) into `mean`.
#include "colsum.hpp"
#include "wafer/kernels/conv.hpp"
#include "kernel_util.hpp"

namespace wafer::kernels {

using ir::dsd;
using ir::imm;
using ir::Opcode;
using ir::reg;

Expected<GlobalPoolShape> global_pool_shape(const arch::Arch& arch, GlobalPoolShape s) {
  if (!dtype_is_float(s.t) || !dtype_is_float(s.acc))
    return make_error("takes fp32, fp16 or bf16 (got {} with {} accumulation)", dtype_name(s.t),
                      dtype_name(s.acc));
  s.cb = (s.C + s.w - 1) / s.w;
  s.ob = (s.H + s.h - 1) / s.h;
  const int64_t n = s.ob * s.W;
  const int64_t bytes = n * s.cb * dtype_bytes(s.t) + ((n + 1) / 2 + 1) * s.cb * dtype_bytes(s.acc);
  if (bytes > arch.sram_bytes - 4096)
    return make_error("{} channels x {} positions per PE on {}x{} PEs need {} bytes per PE, more "
                      "than the {} bytes of SRAM less 4096 for code; use more PEs",
                      s.cb, n, s.w, s.h, bytes, arch.sram_bytes);
  return s;
}

namespace {

// sum[0 : cb] = the sum over the n positions of x, by halving.
void emit_halving(ir::CodeBuilder& b, int64_t n, int64_t cb, int x, int sum, int d0, int d1, int d2) {
  auto vec = [&](int dreg, int sym, int64_t pos, int64_t count) {
    b.emit(Opcode::mdsd, {dsd(dreg), ir::sym_op(sym), imm(int32_t(pos * cb)), imm(int32_t(count * cb)), imm(1)});
  };
  int src = x;
  if (n == 1) {
    vec(d0, sum, 0, 1);
    vec(d1, x, 0, 1);
    b.emit(Opcode::vmov, {dsd(d0), dsd(d1)});
  }
  while (n > 1) {
    const int64_t h = n / 2;
    vec(d0, sum, 0, h);
    vec(d1, src, 0, h);
    vec(d2, src, n - h, h);
    b.emit(Opcode::vadd, {dsd(d0), dsd(d1), dsd(d2)});
    if (n % 2 == 1 && src != sum) {
      vec(d0, sum, h, 1);
      vec(d1, src, h, 1);
      b.emit(Opcode::vmov, {dsd(d0), dsd(d1)});
    }
    src = sum;
    n -= h;
  }
}

}  // namespace

Expected<GlobalPoolEmitted> emit_global_avgpool(Emit& e, const Site& site, const GlobalPoolShape& s) {
  const std::string user = e.name("globalavgpool");
  ir::CodeBuilder& b = e.code;
  auto ids = e.pools.tasks.take(site.entry_task >= 0 ? 1 : 2, user);
  if (!ids) return ids.status();
  auto d = e.pools.dsds.take(3, user);
  if (!d) return d.status();
  const int entry = site.entry_task >= 0 ? site.entry_task : (*ids)[1], summed = (*ids)[0];
  const int64_t n = s.ob * s.W;
  const int x = b.symbol(e.name("x"), s.t, uint32_t(n * s.cb));
  const int sum = b.symbol(e.name("sum"), s.acc, uint32_t(((n + 1) / 2) * s.cb));
  const int mean = b.symbol(e.name("mean"), s.acc, uint32_t(s.cb));
  b.task(e.name("entry"), entry, ir::TaskKind::local);
  b.begin_task(entry);
  auto rc = emit_rel_coords(e, site.rect, user);
  if (!rc) return rc.status();
  emit_halving(b, n, s.cb, x, sum, (*d)[0], (*d)[1], (*d)[2]);
  WAFER_TRY(emit_column_sum(e, site.rect, sum, uint32_t(s.cb), s.acc, rc->ry, summed, user));
  b.emit(Opcode::ret, {});
  b.task(e.name("summed"), summed, ir::TaskKind::local);
  b.begin_task(summed);
  const int out = b.new_label();
  b.emit(Opcode::bne, {reg(rc->ry), imm(0), b.label(out)});
  b.emit(Opcode::mdsd, {dsd((*d)[0]), ir::sym_op(mean), imm(0), imm(int32_t(s.cb)), imm(1)});
  b.emit(Opcode::mdsd, {dsd((*d)[1]), ir::sym_op(sum), imm(0), imm(int32_t(s.cb)), imm(1)});
  b.emit(Opcode::vmul, {dsd((*d)[0]), dsd((*d)[1]), ir::fimm(float(1.0 / double(s.H * s.W)))});
  b.place(out);
  if (site.done_task >= 0) b.emit(Opcode::activate, {ir::task_op(site.done_task)});
  b.emit(Opcode::ret, {});

  GlobalPoolEmitted g;
  g.entry = entry;
  g.out = e.name("mean");
  const ir::Rect rect = site.rect;
  const std::string x_name = e.name("x");
  g.inputs = [=](const ImageFn& f) {
    return std::vector<HostCopy>{{x_name, rect, {}, [=](int px, int py) {
                                    std::vector<double> v(size_t(n * s.cb));
                                    size_t i = 0;
                                    for (int64_t r = py * s.ob; r < (py + 1) * s.ob; ++r)
                                      for (int64_t col = 0; col < s.W; ++col)
                                        for (int64_t c = px * s.cb; c < (px + 1) * s.cb; ++c)
                                          v[i++] = c < s.C && r < s.H ? f(c, r, col) : 0.0;
                                    return v;
                                  }}};
  };
  return g;
}

Expected<KernelCase> build_globalavgpool(const arch::Arch& arch, const KernelParams& p, Stage stage) {
  WAFER_TRY(check_grid(arch, p));
  auto d = cnn_dims(p);
  if (!d) return d.status();
  if (!p.algo.empty()) return make_error("there is no --algo (got '{}')", p.algo);
  auto shape = global_pool_shape(arch, {p.grid_w, p.grid_h, d->H, d->H, d->C, p.dtype, p.acc.value_or(p.dtype)});
  if (!shape) return shape.status();
  const GlobalPoolShape s = *shape;
  const ir::Rect rect = p.rect();
  Standalone one(arch, rect, p.kernel);
  auto g = emit_global_avgpool(one.emit(), Site{rect, -1, -1}, s);
  if (!g) return g.status();
  KernelCase kc = one.finish(g->entry, g->out, {rect.x, rect.y, rect.w, 1});
  kc.tolerance = sum_tolerance(s.acc, uint64_t(s.H * s.W + 1));
  kc.flops = double(s.C * s.H * s.W);
  kc.peak_flops_per_cycle = double(rect.area()) * arith_lanes(arch, s.acc);
  if (stage == Stage::program) return kc;
  const uint64_t seed = p.seed;
  const DType t = s.t;
  const ImageFn x = [=](int64_t c, int64_t r, int64_t col) { return seeded(t, seed, uint64_t((c * s.H + r) * s.W + col)); };
  kc.inputs = g->inputs(x);
  kc.reference.assign(size_t(s.cb * s.w), 0.0);
  for (int64_t c = 0; c < s.C; ++c) {
    double acc = 0;
    for (int64_t r = 0; r < s.H; ++r)
      for (int64_t col = 0; col < s.W; ++col) acc += x(c, r, col);
    kc.reference[size_t(c)] = acc / double(s.H * s.W);
  }
  return kc;
}

}  // namespace wafer::kernels
